//! The `[mutate]` table (or `[tool.noot.mutate]`): what to mutate, which
//! tests to run, how, and with which budget. Validated here with the line
//! of every bad value; what only a session can check (does the runner
//! exist?) keeps its location for the session's error.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::{ConfigError, Location};

/// `[mutate]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MutateTable {
    paths: Option<Spanned<Vec<String>>>,
    exclude: Option<Spanned<Vec<String>>>,
    tests: Option<Spanned<Vec<String>>>,
    pytest_args: Option<Spanned<Vec<String>>>,
    runner: Option<Spanned<String>>,
    jobs: Option<Spanned<i64>>,
    timeout_multiplier: Option<Spanned<f64>>,
    timeout_floor: Option<Spanned<f64>>,
    mutants_dir: Option<Spanned<String>>,
    python: Option<Spanned<String>>,
    #[serde(default)]
    runner_options: BTreeMap<String, Spanned<toml::Table>>,
}

/// The effective `[mutate]` settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MutateSettings {
    /// Files or folders to mutate, relative to the project root; empty:
    /// find the package (`src/PKG` or a top-level package).
    pub paths: Vec<String>,
    /// Globs over relative file paths or function names (`pkg.mod.*`), or
    /// `re:` regexes over either, that are never mutated.
    pub exclude: Vec<String>,
    /// Test paths given to pytest; empty: `tests/` if it exists.
    pub tests: Vec<String>,
    /// Extra pytest arguments for every test run.
    pub pytest_args: Vec<String>,
    /// The runner plugin.
    pub runner: String,
    /// Parallel mutants; `None`: the global `jobs`.
    pub jobs: Option<usize>,
    /// Deadline = max(floor, multiplier × baseline time of the selected tests).
    pub timeout_multiplier: f64,
    /// The deadline's floor, in seconds.
    #[serde(rename = "timeout_floor")]
    pub timeout_floor_secs: f64,
    /// Where the mutated tree is written, relative to the project root.
    pub mutants_dir: String,
    /// The Python interpreter.
    pub python: String,
    /// `[mutate.runner_options.NAME]` tables, as JSON, per runner.
    pub runner_options: BTreeMap<String, serde_json::Value>,
    /// Where each key was set (for errors a session finds later).
    #[serde(skip)]
    pub locations: BTreeMap<String, Location>,
}

impl Default for MutateSettings {
    fn default() -> Self {
        Self {
            paths: Vec::new(),
            exclude: Vec::new(),
            tests: Vec::new(),
            pytest_args: Vec::new(),
            runner: "subprocess".into(),
            jobs: None,
            timeout_multiplier: 10.0,
            timeout_floor_secs: 5.0,
            mutants_dir: "mutants".into(),
            python: "python3".into(),
            runner_options: BTreeMap::new(),
            locations: BTreeMap::new(),
        }
    }
}

impl MutateTable {
    /// Validates and resolves; `at` turns a byte offset into a location.
    pub(super) fn resolve(
        &self,
        at: &dyn Fn(usize) -> Location,
        origins: &mut BTreeMap<String, String>,
    ) -> Result<MutateSettings, ConfigError> {
        let mut settings = MutateSettings::default();
        let mut note = |key: &str, offset: usize, settings: &mut MutateSettings| {
            let location = at(offset);
            origins.insert(format!("mutate.{key}"), location.to_string());
            settings.locations.insert(key.to_owned(), location);
        };
        if let Some(v) = &self.paths {
            note("paths", v.span().start, &mut settings);
            settings.paths = v.get_ref().clone();
        }
        if let Some(v) = &self.exclude {
            note("exclude", v.span().start, &mut settings);
            // The same code that compiles the patterns for a session checks them.
            crate::mutate::project::Excludes::new(v.get_ref()).map_err(|why| {
                ConfigError::at(at(v.span().start), why.to_string())
                    .with_help("use a glob such as \"src/pkg/generated/*\" or \"pkg.cli.*\", or \"re:<regex>\"")
            })?;
            settings.exclude = v.get_ref().clone();
        }
        if let Some(v) = &self.tests {
            note("tests", v.span().start, &mut settings);
            settings.tests = v.get_ref().clone();
        }
        if let Some(v) = &self.pytest_args {
            note("pytest_args", v.span().start, &mut settings);
            settings.pytest_args = v.get_ref().clone();
        }
        if let Some(v) = &self.runner {
            note("runner", v.span().start, &mut settings);
            settings.runner = v.get_ref().clone();
        }
        if let Some(v) = &self.jobs {
            let jobs = usize::try_from(*v.get_ref()).ok().filter(|j| *j > 0).ok_or_else(|| {
                ConfigError::at(
                    at(v.span().start),
                    format!("jobs = {}: must be at least 1", v.get_ref()),
                )
                .with_help(
                    "use a number of parallel mutants such as 4, or leave it out to use every core",
                )
            })?;
            note("jobs", v.span().start, &mut settings);
            settings.jobs = Some(jobs);
        }
        if let Some(v) = &self.timeout_multiplier {
            let value = *v.get_ref();
            if !(value.is_finite() && value >= 1.0) {
                return Err(ConfigError::at(
                    at(v.span().start),
                    format!("timeout_multiplier = {value}: must be at least 1"),
                )
                .with_help("the deadline is this many times the baseline time of a mutant's tests; 10 is a good start"));
            }
            note("timeout_multiplier", v.span().start, &mut settings);
            settings.timeout_multiplier = value;
        }
        if let Some(v) = &self.timeout_floor {
            let value = *v.get_ref();
            if !(value.is_finite() && value > 0.0) {
                return Err(ConfigError::at(
                    at(v.span().start),
                    format!("timeout_floor = {value}: must be a positive number of seconds"),
                )
                .with_help("the shortest deadline any mutant gets, such as 5.0"));
            }
            note("timeout_floor", v.span().start, &mut settings);
            settings.timeout_floor_secs = value;
        }
        if let Some(v) = &self.mutants_dir {
            let dir = v.get_ref();
            if dir.is_empty() || dir == "." || dir.split('/').any(|part| part == "..") {
                return Err(ConfigError::at(
                    at(v.span().start),
                    format!("mutants_dir = \"{dir}\": must be a folder inside the project"),
                )
                .with_help("the mutated copy needs a folder of its own, such as \"mutants\""));
            }
            note("mutants_dir", v.span().start, &mut settings);
            settings.mutants_dir = dir.clone();
        }
        if let Some(v) = &self.python {
            note("python", v.span().start, &mut settings);
            settings.python = v.get_ref().clone();
        }
        for (name, table) in &self.runner_options {
            note(&format!("runner_options.{name}"), table.span().start, &mut settings);
            let json = serde_json::to_value(table.get_ref()).map_err(|e| ConfigError {
                location: None,
                message: format!(
                    "[mutate.runner_options.{name}] cannot be passed to the runner: {e}"
                ),
                help: None,
            })?;
            settings.runner_options.insert(name.clone(), json);
        }
        Ok(settings)
    }
}
