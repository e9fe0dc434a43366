//! The `[mox]` table: how `noot mox` puts its shims on disk and how long
//! shims wait for their controller. `NOOT_SHIM_BACKEND` overrides
//! `shim_backend`; `NOOT_MOX_TIMEOUT` is read by the shims themselves.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::{ConfigError, Location};
use crate::engine::ports::Env;

/// `[mox]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MoxTable {
    shim_backend: Option<Spanned<String>>,
    timeout: Option<Spanned<f64>>,
    max_journal_entries: Option<Spanned<i64>>,
    #[serde(default)]
    shim_backend_options: BTreeMap<String, Spanned<toml::Table>>,
    record_env: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    record_prefixes: BTreeMap<String, Spanned<String>>,
}

/// The effective `[mox]` settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MoxSettings {
    /// `auto` (native where symlinks work, else script), or a shim-backend plugin's name.
    pub shim_backend: String,
    /// Seconds a shim keeps trying to reach its controller; `None`: the shim's default (5).
    pub timeout_secs: Option<f64>,
    /// Journal entries kept (oldest dropped first); `None`: all.
    pub max_journal_entries: Option<usize>,
    /// `[mox.shim_backend_options.NAME]` tables, as JSON.
    pub shim_backend_options: BTreeMap<String, serde_json::Value>,
    /// Variables every recording keeps (never secrets).
    pub record_env: Vec<String>,
    /// Per command, the prefix of the variables its recordings keep
    /// (added to, or replacing, noot's defaults such as `git` = `GIT_`).
    pub record_prefixes: BTreeMap<String, String>,
    /// Where `shim_backend` was chosen, for errors.
    #[serde(skip)]
    pub backend_location: Option<Location>,
}

impl Default for MoxSettings {
    fn default() -> Self {
        Self {
            shim_backend: "auto".into(),
            timeout_secs: None,
            max_journal_entries: None,
            shim_backend_options: BTreeMap::new(),
            record_env: Vec::new(),
            record_prefixes: BTreeMap::new(),
            backend_location: None,
        }
    }
}

impl MoxSettings {
    /// The options table of backend `name` as JSON text (`{}` if none).
    pub fn backend_options(&self, name: &str) -> String {
        self.shim_backend_options.get(name).map_or_else(|| "{}".to_string(), ToString::to_string)
    }
}

impl MoxTable {
    /// Validates and resolves; `at` turns a byte offset into a location.
    pub(super) fn resolve(
        &self,
        at: &dyn Fn(usize) -> Location,
        env: &dyn Env,
        origins: &mut BTreeMap<String, String>,
    ) -> Result<MoxSettings, ConfigError> {
        let mut settings = MoxSettings::default();
        origins.insert("mox.shim_backend".into(), "default".into());
        if let Some(v) = &self.shim_backend {
            let location = at(v.span().start);
            origins.insert("mox.shim_backend".into(), location.to_string());
            settings.shim_backend = v.get_ref().clone();
            settings.backend_location = Some(location);
        }
        if let Some(name) = env.var(noot_mox::shims::BACKEND_ENV).filter(|n| !n.trim().is_empty()) {
            let location = Location::Env(noot_mox::shims::BACKEND_ENV.into());
            origins.insert("mox.shim_backend".into(), location.to_string());
            settings.shim_backend = name.trim().to_string();
            settings.backend_location = Some(location);
        }
        if let Some(v) = &self.timeout {
            let value = *v.get_ref();
            if !(value.is_finite() && value > 0.0) {
                return Err(ConfigError::at(
                    at(v.span().start),
                    format!("timeout = {value}: must be a positive number of seconds"),
                )
                .with_help("how long a shim keeps trying to reach its controller, such as 5.0"));
            }
            origins.insert("mox.timeout".into(), at(v.span().start).to_string());
            settings.timeout_secs = Some(value);
        }
        if let Some(v) = &self.max_journal_entries {
            let value = usize::try_from(*v.get_ref()).ok().filter(|n| *n > 0).ok_or_else(|| {
                ConfigError::at(
                    at(v.span().start),
                    format!("max_journal_entries = {}: must be at least 1", v.get_ref()),
                )
                .with_help("leave it out to keep every call, or bound it such as 10000")
            })?;
            origins.insert("mox.max_journal_entries".into(), at(v.span().start).to_string());
            settings.max_journal_entries = Some(value);
        }
        if let Some(v) = &self.record_env {
            for name in v.get_ref() {
                if noot_mox::secrets::is_secret_name(name) {
                    return Err(ConfigError::at(
                        at(v.span().start),
                        format!("record_env: `{name}` looks like a secret's name, and recordings never keep those"),
                    )
                    .with_help("leave it out; a double's with_env can still match it"));
                }
            }
            origins.insert("mox.record_env".into(), at(v.span().start).to_string());
            settings.record_env = v.get_ref().clone();
        }
        for (command, prefix) in &self.record_prefixes {
            if prefix.get_ref().is_empty() {
                return Err(ConfigError::at(
                    at(prefix.span().start),
                    format!("record_prefixes.{command} = \"\": an empty prefix would keep every variable"),
                )
                .with_help("give the variables' common start, such as \"TF_\""));
            }
            origins.insert(
                format!("mox.record_prefixes.{command}"),
                at(prefix.span().start).to_string(),
            );
            settings.record_prefixes.insert(command.clone(), prefix.get_ref().clone());
        }
        for (name, table) in &self.shim_backend_options {
            let json = serde_json::to_value(table.get_ref()).map_err(|e| {
                ConfigError::at(
                    at(table.span().start),
                    format!(
                        "[mox.shim_backend_options.{name}] cannot be passed to the backend: {e}"
                    ),
                )
            })?;
            settings.shim_backend_options.insert(name.clone(), json);
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{CliOverrides, Config, ConfigError, load};
    use crate::engine::fakes::{FakeEnv, MemFs};

    /// Loads `/p/noot.toml` = `text` from `/p`, with `vars` set.
    fn load_mox(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let fs = MemFs::default();
        fs.insert("/p/noot.toml", text.as_bytes());
        let env = FakeEnv {
            vars: vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            cwd: "/p".into(),
        };
        load(&fs, &env, &CliOverrides::default())
    }

    /// Every `[mox]` key reaches the settings, and `noot config show`
    /// learns the line each came from.
    #[test]
    fn every_mox_key_is_read_with_its_origin() {
        let config = load_mox(
            "[mox]\nshim_backend = \"script\"\ntimeout = 2.5\nmax_journal_entries = 100\nrecord_env = [\"LANG\"]\n[mox.record_prefixes]\nterraform = \"TF_\"\n[mox.shim_backend_options.hardlink]\nmode = \"copy\"\n",
            &[],
        )
        .expect("valid");
        let mox = &config.mox;
        assert_eq!(mox.shim_backend, "script");
        assert_eq!(mox.timeout_secs, Some(2.5));
        assert_eq!(mox.max_journal_entries, Some(100));
        assert_eq!(mox.record_env, ["LANG"]);
        assert_eq!(mox.record_prefixes["terraform"], "TF_");
        assert_eq!(mox.backend_options("hardlink"), r#"{"mode":"copy"}"#);
        assert_eq!(mox.backend_options("other"), "{}");
        assert_eq!(config.origins["mox.shim_backend"], "/p/noot.toml:2:16");
        assert_eq!(config.origins["mox.timeout"], "/p/noot.toml:3:11");
        assert_eq!(config.origins["mox.max_journal_entries"], "/p/noot.toml:4:23");
        assert_eq!(config.origins["mox.record_env"], "/p/noot.toml:5:14");
        assert_eq!(config.origins["mox.record_prefixes.terraform"], "/p/noot.toml:7:13");
    }

    /// NOOT_SHIM_BACKEND beats the file's `shim_backend`; a blank one is
    /// ignored.
    #[test]
    fn the_backend_variable_beats_the_file() {
        let text = "[mox]\nshim_backend = \"script\"\n";
        let config = load_mox(text, &[("NOOT_SHIM_BACKEND", " native ")]).expect("valid");
        assert_eq!(config.mox.shim_backend, "native");
        assert_eq!(config.origins["mox.shim_backend"], "environment variable NOOT_SHIM_BACKEND");
        let config = load_mox(text, &[("NOOT_SHIM_BACKEND", "  ")]).expect("valid");
        assert_eq!(config.mox.shim_backend, "script");
    }

    /// Each bad `[mox]` value is refused at its line, with advice.
    #[test]
    fn bad_mox_values_name_their_line_and_the_fix() {
        let cases = [
            ("[mox]\ntimeout = 0.0\n", "/p/noot.toml:2:11: timeout = 0: must be a positive number"),
            ("[mox]\ntimeout = -1.5\n", "/p/noot.toml:2:11: timeout = -1.5: must be a positive"),
            (
                "[mox]\nmax_journal_entries = 0\n",
                "/p/noot.toml:2:23: max_journal_entries = 0: must be at least 1",
            ),
            (
                "[mox]\nrecord_env = [\"LANG\", \"GITHUB_TOKEN\"]\n",
                "/p/noot.toml:2:14: record_env: `GITHUB_TOKEN` looks like a secret's name",
            ),
            (
                "[mox.record_prefixes]\ngit = \"\"\n",
                "/p/noot.toml:2:7: record_prefixes.git = \"\": an empty prefix would keep every variable",
            ),
        ];
        for (text, want) in cases {
            let err = load_mox(text, &[]).expect_err(want);
            assert!(err.to_string().starts_with(want), "{text:?}\n got: {err}\nwant: {want}");
            assert!(err.help.is_some(), "{err}");
        }
    }
}
