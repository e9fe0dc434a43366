//! What `noot run` is asked to do ([`RunRequest`]) and how a run fails
//! before its verdicts ([`RunError`], exit code 2), in every language.

use crate::config::Location;
use crate::engine::store::StoreError;
use crate::mutate::execute::ExecuteError;
use crate::plugins::RegistryError;

/// What the command line asks for.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// Re-test every mutant, reusing nothing.
    pub force: bool,
    /// `--runner`, over `[mutate] runner`.
    pub runner: Option<String>,
    /// Parallel mutants.
    pub jobs: usize,
    /// Only mutants whose id matches one of these globs.
    pub filters: Vec<String>,
    /// Emit each mutant's reproduction command.
    pub debug: bool,
    /// Rust only: which members to mutate and the features to build with.
    pub cargo: CargoOptions,
}

/// `--package`, `--features`, `--all-features`, `--no-default-features`:
/// what a Rust run mutates and builds (a Python project refuses them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CargoOptions {
    /// Mutate only these workspace members (every member's tests still
    /// run against them).
    pub packages: Vec<String>,
    /// Features to build with.
    pub features: Vec<String>,
    /// `--all-features`.
    pub all_features: bool,
    /// `--no-default-features`.
    pub no_default_features: bool,
}

impl CargoOptions {
    /// Whether any was given.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The feature flags as cargo takes them.
    pub fn feature_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if !self.features.is_empty() {
            args.push("--features".to_owned());
            args.push(self.features.join(","));
        }
        if self.all_features {
            args.push("--all-features".to_owned());
        }
        if self.no_default_features {
            args.push("--no-default-features".to_owned());
        }
        args
    }
}

/// Why a session could not run (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Configuration or project layout.
    #[error("{message}")]
    Setup {
        /// Where, if known.
        location: Option<Location>,
        /// What.
        message: String,
        /// What to do.
        help: Option<String>,
    },
    /// The language's stats run (the baseline) failed: its own error
    /// (Python's `lang::python::stats::StatsError`), which says what and
    /// the fix.
    #[error(transparent)]
    Baseline(Box<dyn std::error::Error + Send + Sync>),
    /// State on disk.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The runner plugin.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Ctrl-C or SIGTERM before any mutant ran (during the stats run).
    #[error("interrupted during the stats run; nothing was tested yet")]
    Interrupted,
}

impl From<ExecuteError> for RunError {
    fn from(error: ExecuteError) -> Self {
        match error {
            ExecuteError::Store(e) => Self::Store(e),
            ExecuteError::Schedule(message) => Self::setup(message, None),
        }
    }
}

impl RunError {
    pub(crate) fn setup(message: impl Into<String>, help: Option<&str>) -> Self {
        Self::Setup { location: None, message: message.into(), help: help.map(String::from) }
    }
}
