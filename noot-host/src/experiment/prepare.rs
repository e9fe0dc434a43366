//! Everything one experiment needs before its first call, checked up
//! front: its settings, its pool, its strategy plugin, its scrubbers and
//! its log. Each failure is a configuration error with the file:line of
//! the key at fault, so nothing runs on a half-valid definition.

use std::path::PathBuf;

use noot_plugin_api::{PluginKind, StrategyBox};

use crate::config::experiment::ExperimentSettings;
use crate::config::{Config, ConfigError};
use crate::engine::ports::Ports;
use crate::experiment::log::BranchLog;
use crate::experiment::pool::{self, Pool};
use crate::experiment::state::experiment_dir;
use crate::plugins::{Registry, RegistryError};
use crate::scrub::ScrubPipeline;

/// An experiment ready to run: what its calls only read. What they change
/// is [`Stateful`], apart, so both can be borrowed at once.
pub struct Prepared {
    /// Its name.
    pub name: String,
    /// Its settings.
    pub settings: ExperimentSettings,
    /// Its variants.
    pub pool: Pool,
    /// `.noot/experiments/NAME`.
    pub dir: PathBuf,
    /// The scrubbers every record goes through.
    pub scrub: ScrubPipeline,
    /// Worth saying before the first call (duplicate variants, …).
    pub warnings: Vec<String>,
}

/// What the calls of an experiment change: its strategy (which learns)
/// and its log (which remembers whether MLflow is down).
pub struct Stateful {
    /// Its strategy.
    pub strategy: StrategyBox,
    /// The configured backends.
    pub log: BranchLog,
}

/// Why an experiment cannot run.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// Its definition is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A plugin (a scrubber) could not be built.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// The settings of experiment `name`, or an error naming the known ones.
pub fn settings<'a>(config: &'a Config, name: &str) -> Result<&'a ExperimentSettings, ConfigError> {
    config.experiments.get(name).ok_or_else(|| {
        let known: Vec<&str> = config.experiments.keys().map(String::as_str).collect();
        let where_ = config.file.as_ref().map_or_else(|| "no noot.toml was found".to_string(), |f| format!("{} defines", f.display()));
        let help = match crate::config::error::closest(name, &known) {
            Some(best) => format!("did you mean `{best}`?"),
            None if known.is_empty() => format!("{where_} no [experiment.NAME] table; add one (see the README's Experiments section)"),
            None => format!("the experiments are: {}", known.join(", ")),
        };
        ConfigError { location: None, message: format!("no experiment named `{name}`"), help: Some(help) }
    })
}

/// Loads and checks experiment `name`.
pub fn prepare(
    config: &Config,
    registry: &Registry,
    ports: &Ports,
    name: &str,
) -> Result<(Prepared, Stateful), PrepareError> {
    let settings = settings(config, name)?.clone();
    let pool = pool::load(ports.fs.as_ref(), &config.root, name, &settings)?;
    let strategy_json = settings.strategy_config.to_string();
    let strategy = registry.new_strategy(&settings.strategy, &strategy_json, ports).map_err(|error| {
        let location = match &error {
            RegistryError::Construct { .. } => settings.location("strategy_config").cloned(),
            _ => settings.location("strategy").cloned(),
        };
        let help = match &error {
            RegistryError::Unknown { kind: PluginKind::Strategy, .. } => {
                "`noot experiment strategies` lists the strategies; a third-party one is loaded from [plugins] paths"
            }
            _ => "fix [experiment.NAME.strategy_config] as the plugin's message says",
        };
        ConfigError { location, message: error.to_string(), help: Some(help.to_string()) }
    })?;
    let scrub = ScrubPipeline::from_config(registry, config, ports)?;
    let dir = experiment_dir(&config.root, name);
    let (log, log_warning) = BranchLog::new(
        ports.fs.clone(),
        ports.env.var("MLFLOW_TRACKING_URI"),
        name,
        &settings,
        &dir,
    );
    let mut warnings = pool.warnings.clone();
    warnings.extend(log_warning);
    Ok((
        Prepared { name: name.to_string(), settings, pool, dir, scrub, warnings },
        Stateful { strategy, log },
    ))
}
