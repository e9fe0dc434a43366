//! The language boundary of mutation testing. A language finds the
//! project's sources and analyses them into mutants, writes the mutated
//! tree, runs the stats run, and chooses each mutant's tests, its result
//! key and the runner; [`crate::mutate::session`] drives it through
//! [`LanguageRun`] and keeps everything after that (reuse, execution,
//! results, reports) the same for every language.
//!
//! Which language a project is: `[mutate] language`, or detected. A
//! Cargo.toml without a Python project beside it (no pyproject.toml,
//! setup.py or setup.cfg, no `[mutate] paths`) is a Rust project; anything
//! else is Python, as before Rust support, so a Python package built with
//! PyO3 or maturin stays a Python project unless `language = "rust"` says
//! otherwise.

pub mod python;
pub mod rust;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use noot_plugin_api::{PluginError, RunnerBox};

use crate::config::mutate::MutateSettings;
use crate::config::{Config, Location};
use crate::engine::ports::Ports;
use crate::mutate::catalog::{Catalog, Mutant};
use crate::mutate::execute::Limits;
use crate::mutate::report::RunReport;
use crate::mutate::request::{RunError, RunRequest};
use crate::mutate::results::Status;
use crate::mutate::selection::Selected;
use crate::plugins::{Registry, RegistryError};

/// What the stats run decided: per mutant id its tests and the key its
/// result is stored under, and the time limits the tests get.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// Per mutant id, the tests that reach it (a mutant without an entry,
    /// or with no tests, is reached by none).
    pub selection: HashMap<String, Selected>,
    /// Per mutant id, what its verdict depends on (see each language's
    /// `keys`): a stored verdict under the same key is reused.
    pub keys: HashMap<String, String>,
    /// Deadlines and CPU budgets.
    pub limits: Limits,
    /// The key a verdict is stored under once its mutant ran, when that
    /// differs from `keys` (see [`KeyAfterRun`]).
    pub key_after_run: KeyAfterRun,
}

/// A language's key for a mutant's verdict made again once the mutant ran.
/// A Rust mutant's run records what it reached, which can be more than its
/// tests reach without it; the next run's key covers that (from the reach
/// journal), so the verdict is stored under that key, or a run with
/// nothing changed would run the mutant again. `None`, or no function at
/// all (Python), keeps the key made before the run.
#[derive(Clone, Default)]
pub struct KeyAfterRun(Option<Arc<MakeKey>>);

/// Makes mutant `id`'s key, or says it keeps the one made before the run.
type MakeKey = dyn Fn(&str) -> Option<String> + Send + Sync;

impl KeyAfterRun {
    /// Keys made again by `key`.
    pub fn new(key: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(key)))
    }

    /// Mutant `id`'s key now that it ran, if the language makes it anew.
    pub fn key(&self, id: &str) -> Option<String> {
        self.0.as_ref().and_then(|key| key(id))
    }
}

impl std::fmt::Debug for KeyAfterRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "KeyAfterRun(made anew)" } else { "KeyAfterRun(none)" })
    }
}

/// What the runner of a session is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerUse {
    /// Nothing: every result was reused or decided without a run.
    Idle,
    /// Only to describe how reused results would be reproduced (`--debug`).
    Describe,
    /// To run mutants.
    Run,
}

/// The runner the mutants go through, ready to run them.
pub struct ChosenRunner<'a> {
    /// The runner, prepared.
    pub runner: &'a RunnerBox,
    /// Its name, for the report and `session.json`.
    pub name: String,
    /// What the summary says about how mutants ran: why Python's `auto`
    /// chose it, Rust's build rounds and stats run.
    pub reason: String,
}

/// One language's side of one `noot run`, in the order the session calls
/// it. Analysis and the mutated tree are done when it is opened.
pub trait LanguageRun {
    /// The project's mutants.
    fn catalog(&self) -> &Catalog;

    /// Runs the stats run (or reuses the last one when nothing it depends
    /// on changed; never with `--force`). Ctrl-C during it stops it within
    /// a second and returns [`RunError::Interrupted`].
    fn baseline(&mut self, stop: &AtomicBool) -> Result<Baseline, RunError>;

    /// A verdict found without running the mutant (it does not compile,
    /// its file is not built), with its detail; `None` to test it.
    fn verdict_without_running(&self, _mutant: &Mutant) -> Option<(Status, String)> {
        None
    }

    /// The runner for this run, used as `usage` says (a runner that
    /// starts workers starts them only when it is used); a language that
    /// chooses its runner from the stats (Python's `auto`) does it here,
    /// afresh with `--force`.
    fn runner(
        &mut self,
        baseline: &Baseline,
        usage: RunnerUse,
        stop: &AtomicBool,
    ) -> Result<ChosenRunner<'_>, RunError>;

    /// Called once the mutants ran: the runner shuts down, language state
    /// is compacted to the `current` mutants, and the summary gets the
    /// language's own lines. On every other way out (an error, Ctrl-C)
    /// the run is dropped instead, and dropping it must shut its runner
    /// down before it lets go of the project's lock.
    fn finish(&mut self, report: &mut RunReport, current: &BTreeSet<&str>);
}

/// Opens the project's language for a run: checks, analysis, the mutated
/// tree, and the project's lock. [`refuse_foreign`] has been called.
pub fn open<'a>(
    config: &'a Config,
    registry: &'a Registry,
    ports: &'a Ports,
    request: &'a RunRequest,
) -> Result<Box<dyn LanguageRun + 'a>, RunError> {
    Ok(match detect(&config.root, &config.mutate) {
        Language::Python => {
            Box::new(python::session::PythonRun::open(config, registry, ports, request)?)
        }
        Language::Rust => Box::new(rust::session::RustRun::open(config, registry, ports, request)?),
    })
}

/// Where the runner was named: `--runner`, or `[mutate] runner`.
pub fn runner_location(config: &Config, request: &RunRequest) -> Option<Location> {
    if request.runner.is_some() {
        Some(Location::Cli("--runner".into()))
    } else {
        config.mutate.locations.get("runner").cloned()
    }
}

/// The runner plugin `name` from the registry, with its options (the
/// `[mutate.runner_options.NAME]` table as JSON); an unknown name or
/// options it refuses are errors at the key or table that named them.
/// `built_in` lists the names the language offers itself, for the help.
pub fn plugin_runner(
    registry: &Registry,
    config: &Config,
    request: &RunRequest,
    ports: &Ports,
    name: &str,
    built_in: &[&str],
) -> Result<(RunnerBox, String), RunError> {
    let settings = &config.mutate;
    let options =
        settings.runner_options.get(name).map_or_else(|| "{}".to_owned(), |v| v.to_string());
    let runner = registry.new_runner(name, &options, ports).map_err(|e| match e {
        RegistryError::Unknown { .. } => RunError::Setup {
            location: runner_location(config, request),
            message: format!("unknown runner `{name}`"),
            help: Some(format!(
                "built-in runners: {}; see `noot plugins list` for the rest{}",
                built_in.join(", "),
                crate::config::error::closest(name, built_in)
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default()
            )),
        },
        // The runner refused its options: point at the table it was given.
        RegistryError::Construct { error: PluginError::InvalidConfig(message), name, .. } => {
            RunError::Setup {
                location: settings.locations.get(&format!("runner_options.{name}")).cloned(),
                message: format!("runner `{name}`: {message}"),
                help: Some(format!(
                    "fix the [mutate.runner_options.{name}] table; the runner's documentation lists its keys"
                )),
            }
        }
        other => RunError::Registry(other),
    })?;
    Ok((runner, options))
}

/// Refuses, before anything runs, what the project's language does not
/// read: the other language's `[mutate]` keys, at their line, and
/// cargo's flags in a Python project.
pub fn refuse_foreign(config: &Config, request: &RunRequest) -> Result<(), RunError> {
    match detect(&config.root, &config.mutate) {
        Language::Python => python::session::refuse_foreign(config, request),
        Language::Rust => {
            rust::session::refuse_python_keys(config)?;
            rust::session::refuse_python_runner(config, request)
        }
    }
}

/// The project's mutants, for `noot run --list`.
pub fn list(config: &Config, request: &RunRequest, ports: &Ports) -> Result<Catalog, RunError> {
    refuse_foreign(config, request)?;
    match detect(&config.root, &config.mutate) {
        Language::Python => python::session::list(config, request, ports),
        Language::Rust => rust::session::list(config, request, ports),
    }
}

/// A language noot mutates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Python, tested with pytest.
    Python,
    /// Rust, tested with cargo.
    Rust,
}

/// The language of the project at `root`.
pub fn detect(root: &Path, settings: &MutateSettings) -> Language {
    match settings.language.as_str() {
        "python" => Language::Python,
        "rust" => Language::Rust,
        _ => {
            let python = !settings.paths.is_empty()
                || ["pyproject.toml", "setup.py", "setup.cfg"]
                    .iter()
                    .any(|f| root.join(f).is_file());
            if root.join("Cargo.toml").is_file() && !python {
                Language::Rust
            } else {
                Language::Python
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_alone_is_rust_and_a_python_project_beside_it_stays_python() {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = MutateSettings::default();
        assert_eq!(detect(dir.path(), &settings), Language::Python, "nothing: Python, as before");
        std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"x\"\n").expect("write");
        assert_eq!(detect(dir.path(), &settings), Language::Rust);
        std::fs::write(dir.path().join("pyproject.toml"), "[project]\nname = \"x\"\n")
            .expect("write");
        assert_eq!(detect(dir.path(), &settings), Language::Python, "a PyO3 package");
        let rust = MutateSettings { language: "rust".into(), ..MutateSettings::default() };
        assert_eq!(detect(dir.path(), &rust), Language::Rust);
    }
}
