//! The `[experiment.NAME]` tables: what command runs over which config
//! pool, under which strategy, compared how, and logged where. Checked here
//! with the line of every bad value; what needs the pool (does every
//! variant have each placeholder's field? does `primary` select exactly
//! one?) is checked when the pool is loaded, with these locations.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::{ConfigError, Location};

/// The logging backends noot knows.
pub const BACKENDS: &[&str] = &["jsonl", "mlflow"];

/// The strategy an experiment uses when it names none.
pub const DEFAULT_STRATEGY: &str = "round-robin";

/// `[experiment.NAME]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExperimentTable {
    command: Option<Spanned<Vec<String>>>,
    strategy: Option<Spanned<String>>,
    strategy_config: Option<Spanned<toml::Table>>,
    primary: Option<Spanned<String>>,
    configs: Option<Spanned<Vec<String>>>,
    expand: Option<Spanned<BTreeMap<String, Spanned<toml::Value>>>>,
    cwd: Option<Spanned<String>>,
    timeout: Option<Spanned<f64>>,
    shadow_timeout: Option<Spanned<f64>>,
    detach_shadows: Option<Spanned<bool>>,
    compare: Option<Spanned<CompareTable>>,
    tail_bytes: Option<Spanned<i64>>,
    #[serde(default)]
    log: LogTable,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum CompareTable {
    Mode(String),
    Metrics(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogTable {
    backends: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    mlflow: MlflowTable,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MlflowTable {
    tracking_uri: Option<Spanned<String>>,
    experiment_name: Option<Spanned<String>>,
    timeout: Option<Spanned<f64>>,
}

/// How a background branch is compared with the primary of its call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "keys")]
pub enum Compare {
    /// Equal stdout, byte for byte (the default).
    Stdout,
    /// Equal values of these metric keys.
    Metrics(Vec<String>),
    /// No comparison.
    None,
}

/// The effective `[experiment.NAME.log]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogSettings {
    /// Backends, in order: `jsonl` and/or `mlflow`.
    pub backends: Vec<String>,
    /// The MLflow tracking server (`MLFLOW_TRACKING_URI` if unset).
    pub mlflow_tracking_uri: Option<String>,
    /// The MLflow experiment's name (the noot experiment's name if unset).
    pub mlflow_experiment_name: Option<String>,
    /// Seconds one request to the tracking server may take.
    pub mlflow_timeout_secs: f64,
}

impl LogSettings {
    /// Whether `backend` is on.
    pub fn wants(&self, backend: &str) -> bool {
        self.backends.iter().any(|b| b == backend)
    }

    /// The tracking server: the table's, else `MLFLOW_TRACKING_URI`'s.
    pub fn tracking_uri(&self, from_env: Option<String>) -> Option<String> {
        self.mlflow_tracking_uri.clone().or(from_env)
    }

    /// The MLflow experiment of noot experiment `name`.
    pub fn mlflow_experiment(&self, name: &str) -> String {
        self.mlflow_experiment_name.clone().unwrap_or_else(|| name.to_string())
    }
}

/// One effective `[experiment.NAME]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentSettings {
    /// The command, with `{field}` placeholders; empty for experiments only
    /// run from Rust.
    pub command: Vec<String>,
    /// The strategy plugin.
    pub strategy: String,
    /// `[experiment.NAME.strategy_config]`, as JSON, for the plugin.
    pub strategy_config: serde_json::Value,
    /// A config id, a label, or `key=value[,key=value]`.
    pub primary: Option<String>,
    /// Config files and folders, relative to the project root.
    pub configs: Vec<String>,
    /// Fields whose lists multiply the pool, in key order.
    pub expand: Vec<(String, Vec<serde_json::Value>)>,
    /// Working folder of the command, relative to the project root.
    pub cwd: Option<String>,
    /// Seconds a returned branch may run; `None`: no limit.
    pub timeout_secs: Option<f64>,
    /// Seconds a background branch may run before it is killed.
    pub shadow_timeout_secs: f64,
    /// Shadows run in a detached helper; noot returns without them.
    pub detach_shadows: bool,
    /// How background branches are compared with the primary.
    pub compare: Compare,
    /// Bytes of stdout and stderr tail kept in each record.
    pub tail_bytes: usize,
    /// Logging.
    pub log: LogSettings,
    /// Where each key was set, and `table` for the table itself.
    #[serde(skip)]
    pub locations: BTreeMap<String, Location>,
}

impl ExperimentSettings {
    /// Where `key` was set, else where the table is.
    pub fn location(&self, key: &str) -> Option<&Location> {
        self.locations.get(key).or_else(|| self.locations.get("table"))
    }
}

fn positive_secs(
    value: &Spanned<f64>,
    key: &str,
    at: &dyn Fn(usize) -> Location,
) -> Result<f64, ConfigError> {
    let secs = *value.get_ref();
    if !(secs.is_finite() && secs > 0.0) {
        return Err(ConfigError::at(
            at(value.span().start),
            format!("{key} = {secs}: must be more than 0"),
        )
        .with_help(format!("give {key} in seconds, such as 30")));
    }
    Ok(secs)
}

/// Converts a TOML value to JSON; dates and times become their TOML text.
pub fn toml_to_json(value: &toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(items) => J::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => {
            J::Object(table.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect())
        }
    }
}

impl ExperimentTable {
    /// Validates the table and resolves defaults.
    pub(super) fn resolve(
        &self,
        name: &str,
        table_offset: usize,
        at: &dyn Fn(usize) -> Location,
    ) -> Result<ExperimentSettings, ConfigError> {
        let mut locations = BTreeMap::new();
        locations.insert("table".to_string(), at(table_offset));
        let mut note = |key: &str, offset: usize| {
            locations.insert(key.to_string(), at(offset));
        };
        if !valid_name(name) {
            return Err(ConfigError::at(
                at(table_offset),
                format!("experiment name `{name}` has characters noot cannot use in a folder name"),
            )
            .with_help("use letters, digits, `-`, `_` and `.` only"));
        }

        let command = match &self.command {
            Some(command) => {
                note("command", command.span().start);
                if command.get_ref().is_empty() {
                    return Err(ConfigError::at(at(command.span().start), "`command` is empty")
                        .with_help("give the program and its arguments, such as [\"python\", \"run.py\", \"--model\", \"{model}\"]"));
                }
                for word in command.get_ref() {
                    crate::experiment::template::Template::parse(word).map_err(|message| {
                        ConfigError::at(at(command.span().start), message)
                            .with_help("write `{field}` for a config field and `{{` or `}}` for a literal brace")
                    })?;
                }
                command.get_ref().clone()
            }
            None => Vec::new(),
        };

        let strategy = match &self.strategy {
            Some(s) => {
                note("strategy", s.span().start);
                if s.get_ref().trim().is_empty() {
                    return Err(ConfigError::at(at(s.span().start), "`strategy` is empty")
                        .with_help(
                            "name a strategy plugin; `noot experiment strategies` lists them",
                        ));
                }
                s.get_ref().clone()
            }
            None => DEFAULT_STRATEGY.to_string(),
        };
        let strategy_config = match &self.strategy_config {
            Some(t) => {
                note("strategy_config", t.span().start);
                toml_to_json(&toml::Value::Table(t.get_ref().clone()))
            }
            None => serde_json::Value::Object(serde_json::Map::new()),
        };
        let primary = self.primary.as_ref().map(|p| {
            note("primary", p.span().start);
            p.get_ref().clone()
        });
        let configs = match &self.configs {
            Some(c) => {
                note("configs", c.span().start);
                c.get_ref().clone()
            }
            None => Vec::new(),
        };
        let mut expand = Vec::new();
        if let Some(table) = &self.expand {
            note("expand", table.span().start);
            for (key, value) in table.get_ref() {
                let toml::Value::Array(items) = value.get_ref() else {
                    return Err(ConfigError::at(
                        at(value.span().start),
                        format!("expand.{key} is not a list"),
                    )
                    .with_help(format!("give the values to try, such as {key} = [0.0, 0.7]")));
                };
                if items.is_empty() {
                    return Err(ConfigError::at(
                        at(value.span().start),
                        format!("expand.{key} is empty"),
                    )
                    .with_help("give at least one value, or remove the key"));
                }
                note(&format!("expand.{key}"), value.span().start);
                expand.push((key.clone(), items.iter().map(toml_to_json).collect()));
            }
        }
        let cwd = self.cwd.as_ref().map(|c| {
            note("cwd", c.span().start);
            c.get_ref().clone()
        });
        let timeout_secs = match &self.timeout {
            Some(t) => {
                note("timeout", t.span().start);
                Some(positive_secs(t, "timeout", at)?)
            }
            None => None,
        };
        let shadow_timeout_secs = match &self.shadow_timeout {
            Some(t) => {
                note("shadow_timeout", t.span().start);
                positive_secs(t, "shadow_timeout", at)?
            }
            None => 60.0,
        };
        let detach_shadows = self.detach_shadows.as_ref().is_some_and(|d| {
            note("detach_shadows", d.span().start);
            *d.get_ref()
        });
        let compare = match &self.compare {
            None => Compare::Stdout,
            Some(c) => {
                note("compare", c.span().start);
                match c.get_ref() {
                    CompareTable::Mode(mode) if mode == "stdout" => Compare::Stdout,
                    CompareTable::Mode(mode) if mode == "none" => Compare::None,
                    CompareTable::Metrics(keys) if !keys.is_empty() => {
                        Compare::Metrics(keys.clone())
                    }
                    CompareTable::Mode(other) => {
                        return Err(ConfigError::at(at(c.span().start), format!("compare = \"{other}\" is not a comparison"))
                            .with_help("use \"stdout\" (the default), \"none\", or a list of metric keys such as [\"accuracy\"]"));
                    }
                    CompareTable::Metrics(_) => {
                        return Err(ConfigError::at(at(c.span().start), "compare = [] names no metric")
                            .with_help("list metric keys such as [\"accuracy\"], or use \"stdout\" or \"none\""));
                    }
                }
            }
        };
        let tail_bytes = match &self.tail_bytes {
            Some(t) => {
                note("tail_bytes", t.span().start);
                usize::try_from(*t.get_ref()).map_err(|_| {
                    ConfigError::at(
                        at(t.span().start),
                        format!("tail_bytes = {}: must be 0 or more", t.get_ref()),
                    )
                    .with_help(
                        "give how many bytes of each output to keep in the log, such as 4096",
                    )
                })?
            }
            None => 4096,
        };

        let backends = match &self.log.backends {
            Some(list) => {
                note("log.backends", list.span().start);
                for backend in list.get_ref() {
                    if !BACKENDS.contains(&backend.as_str()) {
                        let hint = super::error::closest(backend, BACKENDS)
                            .map_or_else(String::new, |b| format!("did you mean `{b}`? "));
                        return Err(ConfigError::at(
                            at(list.span().start),
                            format!("unknown log backend `{backend}`"),
                        )
                        .with_help(format!("{hint}the backends are: {}", BACKENDS.join(", "))));
                    }
                }
                list.get_ref().clone()
            }
            None => vec!["jsonl".to_string()],
        };
        let mlflow = &self.log.mlflow;
        let mlflow_tracking_uri = mlflow.tracking_uri.as_ref().map(|u| {
            note("log.mlflow.tracking_uri", u.span().start);
            u.get_ref().clone()
        });
        let mlflow_experiment_name = mlflow.experiment_name.as_ref().map(|n| {
            note("log.mlflow.experiment_name", n.span().start);
            n.get_ref().clone()
        });
        let mlflow_timeout_secs = match &mlflow.timeout {
            Some(t) => positive_secs(t, "mlflow.timeout", at)?,
            None => 10.0,
        };
        if let Some(uri) = &mlflow.tracking_uri {
            let text = uri.get_ref();
            if !(text.starts_with("http://") || text.starts_with("https://")) {
                return Err(ConfigError::at(
                    at(uri.span().start),
                    format!("tracking_uri `{text}` is not an http:// or https:// address"),
                )
                .with_help(
                    "point it at an MLflow tracking server, such as \"http://127.0.0.1:5000\"",
                ));
            }
        }

        Ok(ExperimentSettings {
            command,
            strategy,
            strategy_config,
            primary,
            configs,
            expand,
            cwd,
            timeout_secs,
            shadow_timeout_secs,
            detach_shadows,
            compare,
            tail_bytes,
            log: LogSettings {
                backends,
                mlflow_tracking_uri,
                mlflow_experiment_name,
                mlflow_timeout_secs,
            },
            locations,
        })
    }
}

/// Experiment names become folder names under `.noot/experiments/`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::{Compare, ExperimentSettings};
    use crate::config::{CliOverrides, ConfigError, load};
    use crate::engine::fakes::{FakeEnv, MemFs};

    /// Experiment `e` of `/p/noot.toml` = `text`, loaded from `/p`.
    fn load_experiment(text: &str) -> Result<ExperimentSettings, ConfigError> {
        let fs = MemFs::default();
        fs.insert("/p/noot.toml", text.as_bytes());
        let env = FakeEnv { cwd: "/p".into(), ..FakeEnv::default() };
        let mut config = load(&fs, &env, &CliOverrides::default())?;
        Ok(config.experiments.remove("e").expect("experiment e"))
    }

    /// The working folder, comparison and logging keys are read with their
    /// places; unset ones keep their defaults.
    #[test]
    fn cwd_compare_and_log_keys_are_read_with_their_locations() {
        let e = load_experiment(
            "[experiment.e]\ncommand = [\"true\"]\ncwd = \"models\"\ncompare = \"none\"\ndetach_shadows = true\n[experiment.e.log]\nbackends = [\"jsonl\", \"mlflow\"]\n[experiment.e.log.mlflow]\ntracking_uri = \"http://127.0.0.1:5000\"\nexperiment_name = \"ranking\"\ntimeout = 2.5\n",
        )
        .expect("valid");
        assert_eq!(e.cwd.as_deref(), Some("models"));
        assert_eq!(e.location("cwd").map(ToString::to_string).as_deref(), Some("/p/noot.toml:3:7"));
        assert_eq!(e.compare, Compare::None);
        assert!(e.detach_shadows);
        assert!(e.log.wants("mlflow") && e.log.wants("jsonl"));
        assert_eq!(e.log.mlflow_timeout_secs, 2.5);
        assert_eq!(e.log.mlflow_experiment("e"), "ranking");
        assert_eq!(
            e.log.tracking_uri(Some("http://elsewhere:1".into())).as_deref(),
            Some("http://127.0.0.1:5000"),
            "the table's server beats MLFLOW_TRACKING_URI"
        );
        assert_eq!(
            e.location("timeout").map(ToString::to_string).as_deref(),
            Some("/p/noot.toml:1:1"),
            "an unset key is located at its table"
        );

        let e = load_experiment("[experiment.e]\ncompare = \"stdout\"\n").expect("valid");
        assert_eq!(e.compare, Compare::Stdout);
        assert!(!e.log.wants("mlflow"));
        assert_eq!(e.log.mlflow_experiment("e"), "e");
        assert_eq!(
            e.log.tracking_uri(Some("http://env:1".into())).as_deref(),
            Some("http://env:1")
        );
    }

    /// Each bad experiment value is refused at its line, with advice.
    #[test]
    fn bad_experiment_values_name_their_line_and_the_fix() {
        let cases = [
            ("command = []", "/p/noot.toml:2:11: `command` is empty"),
            ("strategy = \" \"", "/p/noot.toml:2:12: `strategy` is empty"),
            ("timeout = 0.0", "/p/noot.toml:2:11: timeout = 0: must be more than 0"),
            (
                "shadow_timeout = -1.0",
                "/p/noot.toml:2:18: shadow_timeout = -1: must be more than 0",
            ),
            ("compare = \"bytes\"", "/p/noot.toml:2:11: compare = \"bytes\" is not a comparison"),
            ("compare = []", "/p/noot.toml:2:11: compare = [] names no metric"),
            ("tail_bytes = -1", "/p/noot.toml:2:14: tail_bytes = -1: must be 0 or more"),
            ("log.backends = [\"mlfow\"]", "/p/noot.toml:2:16: unknown log backend `mlfow`"),
            (
                "log.mlflow.timeout = 0.0",
                "/p/noot.toml:2:22: mlflow.timeout = 0: must be more than 0",
            ),
            (
                "log.mlflow.tracking_uri = \"127.0.0.1:5000\"",
                "/p/noot.toml:2:27: tracking_uri `127.0.0.1:5000` is not an http:// or https:// address",
            ),
        ];
        for (line, want) in cases {
            let text = format!("[experiment.e]\n{line}\n");
            let err = load_experiment(&text).expect_err(want);
            assert!(err.to_string().starts_with(want), "{line}\n got: {err}\nwant: {want}");
            assert!(err.help.is_some(), "{err}");
        }
        let err =
            load_experiment("[experiment.e]\nlog.backends = [\"mlfow\"]\n").expect_err("typo");
        assert_eq!(
            err.help.as_deref(),
            Some("did you mean `mlflow`? the backends are: jsonl, mlflow")
        );
    }
}
