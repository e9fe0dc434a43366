//! What cargo's configuration does to the build, for the two places noot
//! must know it.
//!
//! The build adds `--cap-lints=warn` (a crate that denies warnings must
//! still build with its mutants in). Setting `RUSTFLAGS` for that, as noot
//! did, makes cargo ignore every `rustflags` of the user's
//! `.cargo/config.toml` files: a `--cfg` there is lost and the tests build
//! differently than under `cargo test`. cargo joins arrays given with
//! `--config` to the files' arrays of the same key, so the flag goes there:
//! to `target.<host>.rustflags` when some `target.…rustflags` is set (those
//! win over `build.rustflags`, and all that match are joined), else to
//! `build.rustflags`; only when the user set `RUSTFLAGS` or
//! `CARGO_ENCODED_RUSTFLAGS` (which beat every file) is it added there.
//!
//! The result keys must change when any of this does: the config files
//! cargo reads (from the build's folder up to the root, then
//! `$CARGO_HOME`) and the variables that set flags or profiles are part of
//! every mutant's key.

use std::path::{Path, PathBuf};

/// noot's flag for the build.
const CAP_LINTS: &str = "--cap-lints=warn";

/// One configuration file cargo reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

/// The build's view of cargo's configuration.
#[derive(Debug, Clone, Default)]
pub struct CargoConfig {
    /// The config files, nearest first.
    pub files: Vec<ConfigFile>,
    /// The environment's variables.
    pub vars: Vec<(String, String)>,
    /// `rustc -vV`.
    pub rustc_version: String,
}

impl CargoConfig {
    /// The configuration cargo sees when it runs in `dir`.
    pub fn read(dir: &Path, vars: Vec<(String, String)>, rustc_version: String) -> CargoConfig {
        let var = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let cargo_home = var("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| var("HOME").map(|home| Path::new(&home).join(".cargo")));
        let mut folders: Vec<PathBuf> = dir.ancestors().map(|d| d.join(".cargo")).collect();
        // `~/.cargo` is read once, also when the project is under `~`.
        folders.extend(cargo_home.filter(|home| !folders.contains(home)));
        let mut files: Vec<ConfigFile> = Vec::new();
        for folder in folders {
            // cargo reads `config.toml`, or the older `config` beside none.
            let found = ["config.toml", "config"].into_iter().find_map(|name| {
                let path = folder.join(name);
                let text = std::fs::read_to_string(&path).ok()?;
                Some(ConfigFile { path, text })
            });
            files.extend(found);
        }
        CargoConfig { files, vars, rustc_version }
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The host's target triple (`x86_64-unknown-linux-gnu`).
    fn host(&self) -> Option<&str> {
        self.rustc_version.lines().find_map(|l| l.strip_prefix("host: ")).map(str::trim)
    }

    /// Whether some `target.….rustflags` is set, in a file or the
    /// environment: then `build.rustflags` is not used.
    fn sets_target_rustflags(&self) -> bool {
        let in_env = self.vars.iter().any(|(k, _)| {
            k.strip_prefix("CARGO_TARGET_").is_some_and(|rest| rest.ends_with("_RUSTFLAGS"))
        });
        in_env
            || self.files.iter().any(|file| {
                let Ok(table) = file.text.parse::<toml::Table>() else { return false };
                let targets = table.get("target").and_then(toml::Value::as_table);
                targets.into_iter().flatten().any(|(_, target)| {
                    target.as_table().is_some_and(|t| t.contains_key("rustflags"))
                })
            })
    }

    /// How the build adds `--cap-lints=warn`: arguments for cargo and
    /// variables for its environment.
    pub fn cap_lints(&self) -> (Vec<String>, Vec<(String, String)>) {
        if let Some(encoded) = self.var("CARGO_ENCODED_RUSTFLAGS") {
            let joined = if encoded.is_empty() {
                CAP_LINTS.to_owned()
            } else {
                format!("{encoded}\x1f{CAP_LINTS}")
            };
            return (Vec::new(), vec![("CARGO_ENCODED_RUSTFLAGS".into(), joined)]);
        }
        if let Some(flags) = self.var("RUSTFLAGS") {
            let joined = format!("{flags} {CAP_LINTS}").trim().to_owned();
            return (Vec::new(), vec![("RUSTFLAGS".into(), joined)]);
        }
        let key = match self.host() {
            Some(host) if self.sets_target_rustflags() => format!("target.{host}.rustflags"),
            _ => "build.rustflags".to_owned(),
        };
        (vec!["--config".into(), format!("{key}=[\"{CAP_LINTS}\"]")], Vec::new())
    }

    /// What of this decides what the build does, as lines for the result
    /// keys: the toolchain, each config file outside `project` (those
    /// inside are project files, keyed already) and the variables that set
    /// flags or profiles. Sorted, so order never changes a key.
    pub fn key_lines(&self, project: &Path) -> Vec<String> {
        let mut lines = vec![self.rustc_version.clone()];
        for file in self.files.iter().filter(|f| !f.path.starts_with(project)) {
            lines.push(format!("{}\0{}", file.path.display(), file.text));
        }
        let mut vars: Vec<String> = self
            .vars
            .iter()
            .filter(|(name, _)| decides_the_build(name))
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        vars.sort();
        lines.extend(vars);
        lines
    }
}

/// A variable that changes what cargo builds (flags, profiles), not where
/// it puts it or how it reports.
fn decides_the_build(name: &str) -> bool {
    matches!(name, "RUSTFLAGS" | "CARGO_ENCODED_RUSTFLAGS" | "CARGO_BUILD_RUSTFLAGS")
        || name.starts_with("CARGO_PROFILE_")
        || name.starts_with("CARGO_TARGET_") && name.ends_with("_RUSTFLAGS")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(files: &[&str], vars: &[(&str, &str)]) -> CargoConfig {
        CargoConfig {
            files: files
                .iter()
                .enumerate()
                .map(|(i, text)| ConfigFile {
                    path: PathBuf::from(format!("/outer{i}/.cargo/config.toml")),
                    text: (*text).to_owned(),
                })
                .collect(),
            vars: vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            rustc_version: "rustc 1.95.0\nhost: x86_64-unknown-linux-gnu\n".into(),
        }
    }

    #[test]
    fn the_flag_joins_the_users_rustflags_where_cargo_reads_them() {
        let (args, env) = config(&["[build]\nrustflags = [\"--cfg\", \"x\"]\n"], &[]).cap_lints();
        assert_eq!(args, ["--config", "build.rustflags=[\"--cap-lints=warn\"]"]);
        assert!(env.is_empty());
        let target = "[target.'cfg(unix)']\nrustflags = [\"--cfg\", \"x\"]\n";
        let (args, _) = config(&["", target], &[]).cap_lints();
        assert_eq!(
            args,
            ["--config", "target.x86_64-unknown-linux-gnu.rustflags=[\"--cap-lints=warn\"]"]
        );
        let (args, _) =
            config(&[], &[("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS", "-Cx")]).cap_lints();
        assert!(args[1].starts_with("target."), "{args:?}");
        let (args, env) = config(&[target], &[("RUSTFLAGS", "--cfg y")]).cap_lints();
        assert!(args.is_empty());
        assert_eq!(env, [("RUSTFLAGS".to_owned(), "--cfg y --cap-lints=warn".to_owned())]);
        let (_, env) = config(&[], &[("CARGO_ENCODED_RUSTFLAGS", "--cfg\x1fy")]).cap_lints();
        assert_eq!(env[0].1, "--cfg\x1fy\x1f--cap-lints=warn");
    }

    #[test]
    fn the_keys_see_config_outside_the_project_and_the_flag_variables() {
        let mut seen = config(&["[build]\nrustflags = []\n"], &[("CARGO_TARGET_DIR", "/t")]);
        let before = seen.key_lines(Path::new("/project"));
        assert!(before.iter().any(|l| l.contains("rustflags = []")), "{before:?}");
        assert!(!before.iter().any(|l| l.contains("CARGO_TARGET_DIR")), "{before:?}");
        seen.vars.push(("CARGO_PROFILE_TEST_OPT_LEVEL".into(), "3".into()));
        assert_ne!(before, seen.key_lines(Path::new("/project")));
        // A file inside the project is keyed as a project file.
        assert_eq!(seen.key_lines(Path::new("/outer0")).len(), 2);
    }

    #[test]
    fn config_files_are_found_from_the_folder_up_and_in_cargo_home() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inner = dir.path().join("a/b");
        std::fs::create_dir_all(inner.join(".cargo")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("a/.cargo")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("home")).expect("mkdir");
        std::fs::write(inner.join(".cargo/config.toml"), "near").expect("write");
        std::fs::write(dir.path().join("a/.cargo/config"), "legacy").expect("write");
        std::fs::write(dir.path().join("home/config.toml"), "home").expect("write");
        let home = dir.path().join("home").display().to_string();
        let read = CargoConfig::read(&inner, vec![("CARGO_HOME".into(), home)], String::new());
        let texts: Vec<&str> = read.files.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(texts, ["near", "legacy", "home"]);
    }
}
