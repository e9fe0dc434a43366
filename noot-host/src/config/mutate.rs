//! The `[mutate]` table (or `[tool.noot.mutate]`): what to mutate, which
//! tests to run, how, and with which budget. Validated here with the line
//! of every bad value; what only a session can check (does the runner
//! exist?) keeps its location for the session's error.
//!
//! The interpreter is resolved here, because a first run should need no
//! configuration: `[mutate] python`, else the active virtual environment
//! (`VIRTUAL_ENV`), else `.venv` or `venv` in the project, else `python3`
//! on `PATH`. Where it came from is kept for `noot config show` and for
//! the message when it cannot run pytest.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::{ConfigError, Location};
use crate::engine::ports::{Env, Fs, PathKind};

/// The mutated tree's folder when `[mutate] mutants_dir` is not set. Under
/// `.noot/` because pytest never collects from dot-folders: a copy of the
/// project's tests beside the originals would otherwise break a plain
/// `pytest` at the project root ("import file mismatch").
pub const DEFAULT_MUTANTS_DIR: &str = ".noot/mutants";
/// The interpreter when nothing else names one.
pub const DEFAULT_PYTHON: &str = "python3";
/// Virtual environments looked for in the project root, in this order.
pub const PROJECT_VENVS: &[&str] = &[".venv", "venv"];

/// `[mutate]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MutateTable {
    paths: Option<Spanned<Vec<String>>>,
    exclude: Option<Spanned<Vec<String>>>,
    exclude_tests: Option<Spanned<Vec<String>>>,
    tests: Option<Spanned<Vec<Spanned<String>>>>,
    pytest_args: Option<Spanned<Vec<String>>>,
    runner: Option<Spanned<String>>,
    jobs: Option<Spanned<i64>>,
    timeout_multiplier: Option<Spanned<f64>>,
    timeout_floor: Option<Spanned<f64>>,
    max_processes: Option<Spanned<i64>>,
    mutants_dir: Option<Spanned<String>>,
    python: Option<Spanned<String>>,
    language: Option<Spanned<String>>,
    optimise: Option<Spanned<String>>,
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
    /// Rust: globs over `TARGET::TEST` (`e2e::*`, `*::slow_*`) naming tests
    /// the stats run leaves out, so no mutant is tested by them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude_tests: Vec<String>,
    /// Test paths given to pytest; empty: `tests/` if it exists, else
    /// pytest's own discovery (see [`crate::mutate::lang::python::project::tests_for`]).
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
    /// Processes and threads the run (noot, workers, tests and all they
    /// start) may have at once, so a fork bomb meets a refused fork; 0: no
    /// bound. See [`crate::engine::process_bound`].
    pub max_processes: u64,
    /// Where the mutated tree is written, relative to the project root.
    pub mutants_dir: String,
    /// The Python interpreter: a program on `PATH` or an absolute path.
    pub python: String,
    /// `auto`, `python` or `rust`: see [`crate::mutate::lang::detect`].
    pub language: String,
    /// Rust: build the workspace's crates at `opt-level = 1` (`always`),
    /// as `cargo test` does (`never`), or when their tests outweigh the
    /// build (`auto`; see `mutate::lang::rust::optimise`).
    pub optimise: String,
    /// Where [`Self::python`] came from.
    #[serde(skip)]
    pub python_origin: PythonOrigin,
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
            exclude_tests: Vec::new(),
            tests: Vec::new(),
            pytest_args: Vec::new(),
            runner: "auto".into(),
            jobs: None,
            timeout_multiplier: 10.0,
            timeout_floor_secs: 5.0,
            max_processes: crate::engine::process_bound::DEFAULT_MAX_PROCESSES,
            mutants_dir: DEFAULT_MUTANTS_DIR.into(),
            python: DEFAULT_PYTHON.into(),
            language: "auto".into(),
            optimise: "auto".into(),
            python_origin: PythonOrigin::Default,
            runner_options: BTreeMap::new(),
            locations: BTreeMap::new(),
        }
    }
}

/// Where the interpreter came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PythonOrigin {
    /// `[mutate] python`, written here.
    Config(Location),
    /// The active virtual environment: `$VIRTUAL_ENV/bin/python`.
    VirtualEnv,
    /// A virtual environment in the project root (`.venv` or `venv`).
    ProjectVenv(&'static str),
    /// Nothing named one: `python3` on `PATH`.
    #[default]
    Default,
}

impl PythonOrigin {
    /// The origin as `noot config show` lists it.
    pub fn origin(&self) -> String {
        match self {
            Self::Config(location) => location.to_string(),
            Self::VirtualEnv => "environment variable VIRTUAL_ENV".into(),
            Self::ProjectVenv(dir) => format!("detected: {dir}/ in the project"),
            Self::Default => "default".into(),
        }
    }
}

impl fmt::Display for PythonOrigin {
    /// Why noot chose it, for messages ("from …").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(location) => write!(f, "[mutate] python at {location}"),
            Self::VirtualEnv => f.write_str("the active virtual environment, VIRTUAL_ENV"),
            Self::ProjectVenv(dir) => write!(f, "the project's {dir}/"),
            Self::Default => f.write_str(
                "the default: no [mutate] python, no VIRTUAL_ENV, no .venv/ or venv/ in the project",
            ),
        }
    }
}

/// The interpreter and where it came from, for a project at `root` whose
/// file may name one (`configured`, with its location).
fn resolve_python(
    configured: Option<(&str, Location)>,
    root: &Path,
    fs: &dyn Fs,
    env: &dyn Env,
) -> Result<(String, PythonOrigin), ConfigError> {
    if let Some((value, location)) = configured {
        if value.trim().is_empty() {
            return Err(ConfigError::at(location, "python = \"\": names no interpreter")
                .with_help("name a Python with pytest, such as \".venv/bin/python\" or \"python3\", or leave the key out to let noot find one"));
        }
        // A path is relative to the config file's folder; tests run in the
        // mutated tree, where a relative path would point elsewhere. A bare
        // name is looked up on PATH.
        let python = if value.contains('/') {
            root.join(value).display().to_string()
        } else {
            value.to_owned()
        };
        return Ok((python, PythonOrigin::Config(location)));
    }
    if let Some(venv) = env.var("VIRTUAL_ENV").filter(|v| !v.trim().is_empty()) {
        return Ok((
            Path::new(&venv).join("bin/python").display().to_string(),
            PythonOrigin::VirtualEnv,
        ));
    }
    for dir in PROJECT_VENVS {
        let python = root.join(dir).join("bin/python");
        if fs.kind(&python) == Some(PathKind::File) {
            return Ok((python.display().to_string(), PythonOrigin::ProjectVenv(dir)));
        }
    }
    Ok((DEFAULT_PYTHON.to_owned(), PythonOrigin::Default))
}

impl MutateTable {
    /// Validates and resolves; `at` turns a byte offset into a location;
    /// `root` is the project root, where a virtual environment may be.
    pub(super) fn resolve(
        &self,
        at: &dyn Fn(usize) -> Location,
        root: &Path,
        fs: &dyn Fs,
        env: &dyn Env,
        origins: &mut BTreeMap<String, String>,
    ) -> Result<MutateSettings, ConfigError> {
        let mut settings = MutateSettings::default();
        for key in ["runner", "mutants_dir"] {
            origins.insert(format!("mutate.{key}"), "default".into());
        }
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
            crate::mutate::excludes::Excludes::new(v.get_ref()).map_err(|why| {
                ConfigError::at(at(v.span().start), why.to_string())
                    .with_help("use a glob such as \"src/pkg/generated/*\" or \"pkg.cli.*\", or \"re:<regex>\"")
            })?;
            settings.exclude = v.get_ref().clone();
        }
        if let Some(v) = &self.exclude_tests {
            note("exclude_tests", v.span().start, &mut settings);
            for pattern in v.get_ref() {
                globset::Glob::new(pattern).map_err(|why| {
                    ConfigError::at(
                        at(v.span().start),
                        format!("exclude_tests pattern `{pattern}`: {why}"),
                    )
                    .with_help("use a glob over TARGET::TEST, such as \"e2e::*\" or \"*::slow_*\"")
                })?;
            }
            settings.exclude_tests = v.get_ref().clone();
        }
        if let Some(v) = &self.tests {
            note("tests", v.span().start, &mut settings);
            // Each entry keeps its own place: a missing folder is reported
            // at its line, not at the list's.
            for (index, entry) in v.get_ref().iter().enumerate() {
                settings.locations.insert(format!("tests.{index}"), at(entry.span().start));
            }
            settings.tests = v.get_ref().iter().map(|e| e.get_ref().clone()).collect();
        }
        if let Some(v) = &self.pytest_args {
            note("pytest_args", v.span().start, &mut settings);
            settings.pytest_args = v.get_ref().clone();
        }
        if let Some(v) = &self.runner {
            note("runner", v.span().start, &mut settings);
            settings.runner = v.get_ref().clone();
        }
        // Keys that take one of a few words, and the field each sets.
        type Field = fn(&mut MutateSettings) -> &mut String;
        let choices: [(&str, _, &[&str], &str, &str, Field); 2] = [
            (
                "language",
                &self.language,
                &["auto", "python", "rust"][..],
                "noot mutates \"python\" and \"rust\"",
                "leave it out (or \"auto\") to detect it: Cargo.toml without a Python project is Rust",
                |s| &mut s.language,
            ),
            (
                "optimise",
                &self.optimise,
                &["auto", "always", "never"][..],
                "it is \"auto\", \"always\" or \"never\"",
                "leave it out (or \"auto\") to build optimised when the tests outweigh the build",
                |s| &mut s.optimise,
            ),
        ];
        for (key, value, allowed, what, help, field) in choices {
            let Some(v) = value else { continue };
            if !allowed.contains(&v.get_ref().as_str()) {
                return Err(ConfigError::at(
                    at(v.span().start),
                    format!("{key} = {:?}: {what}", v.get_ref()),
                )
                .with_help(help));
            }
            note(key, v.span().start, &mut settings);
            *field(&mut settings) = v.get_ref().clone();
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
        if let Some(v) = &self.max_processes {
            let value = u64::try_from(*v.get_ref()).map_err(|_| {
                ConfigError::at(
                    at(v.span().start),
                    format!("max_processes = {}: must be 0 or more", v.get_ref()),
                )
                .with_help("the processes and threads a run's tests may have at once, such as 4096; 0 for no bound")
            })?;
            note("max_processes", v.span().start, &mut settings);
            settings.max_processes = value;
        }
        if let Some(v) = &self.mutants_dir {
            let dir = v.get_ref().trim_end_matches('/');
            let state = crate::mutate::session::STATE_DIR;
            if dir.is_empty()
                || dir == "."
                || dir.starts_with('/')
                || dir.split('/').any(|part| part == "..")
                || Path::new(state).starts_with(dir)
                || Path::new(dir).starts_with(state)
            {
                return Err(ConfigError::at(
                    at(v.span().start),
                    format!("mutants_dir = \"{}\": must be a folder inside the project, apart from noot's state in {state}/", v.get_ref()),
                )
                .with_help(format!("the mutated copy needs a folder of its own, such as \"{DEFAULT_MUTANTS_DIR}\" (the default; pytest skips dot-folders)")));
            }
            note("mutants_dir", v.span().start, &mut settings);
            settings.mutants_dir = dir.to_owned();
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
        let configured = self.python.as_ref().map(|v| (v.get_ref().as_str(), at(v.span().start)));
        let (python, origin) = resolve_python(configured, root, fs, env)?;
        if let PythonOrigin::Config(location) = &origin {
            settings.locations.insert("python".into(), location.clone());
        }
        origins.insert("mutate.python".into(), origin.origin());
        settings.python = python;
        settings.python_origin = origin;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{CliOverrides, Config, ConfigError, load};
    use crate::engine::fakes::{FakeEnv, MemFs};

    /// Loads `/p/noot.toml` = `text` from `/p`.
    fn load_mutate(text: &str) -> Result<Config, ConfigError> {
        let fs = MemFs::default();
        fs.insert("/p/noot.toml", text.as_bytes());
        load(&fs, &FakeEnv { cwd: "/p".into(), ..FakeEnv::default() }, &CliOverrides::default())
    }

    /// What to mutate, how and with which budget all reach the session,
    /// each with the place it was set.
    #[test]
    fn every_mutate_key_is_read_with_its_location() {
        let config = load_mutate(
            "[mutate]\npaths = [\"src/shop\"]\nexclude = [\"shop.cli.*\", \"re:_generated\"]\npytest_args = [\"-x\"]\nrunner = \"pytest\"\njobs = 3\ntimeout_multiplier = 4.0\ntimeout_floor = 1.5\n[mutate.runner_options.pytest]\nworkers = 2\n",
        )
        .expect("valid");
        let mutate = &config.mutate;
        assert_eq!(mutate.paths, ["src/shop"]);
        assert_eq!(mutate.exclude, ["shop.cli.*", "re:_generated"]);
        assert_eq!(mutate.pytest_args, ["-x"]);
        assert_eq!(mutate.runner, "pytest");
        assert_eq!(mutate.jobs, Some(3));
        assert_eq!((mutate.timeout_multiplier, mutate.timeout_floor_secs), (4.0, 1.5));
        assert_eq!(mutate.runner_options["pytest"], serde_json::json!({ "workers": 2 }));
        assert_eq!(config.origins["mutate.paths"], "/p/noot.toml:2:9");
        assert_eq!(config.origins["mutate.runner"], "/p/noot.toml:5:10");
        assert_eq!(config.origins["mutate.jobs"], "/p/noot.toml:6:8");
        assert_eq!(mutate.locations["timeout_floor"].to_string(), "/p/noot.toml:8:17");
        assert_eq!(mutate.locations["runner_options.pytest"].to_string(), "/p/noot.toml:9:1");
    }

    /// A bad budget or exclude pattern is refused at its line, with advice.
    #[test]
    fn bad_mutate_values_name_their_line_and_the_fix() {
        let cases = [
            ("[mutate]\njobs = 0\n", "/p/noot.toml:2:8: jobs = 0: must be at least 1"),
            (
                "[mutate]\ntimeout_multiplier = 0.5\n",
                "/p/noot.toml:2:22: timeout_multiplier = 0.5: must be at least 1",
            ),
            (
                "[mutate]\ntimeout_floor = 0.0\n",
                "/p/noot.toml:2:17: timeout_floor = 0: must be a positive number of seconds",
            ),
            ("[mutate]\nexclude = [\"re:(\"]\n", "/p/noot.toml:2:11: exclude pattern `re:(`: "),
            ("[mutate]\nexclude = [\"pkg/[a\"]\n", "/p/noot.toml:2:11: exclude pattern `pkg/[a`: "),
            (
                "[mutate]\noptimise = \"sometimes\"\n",
                "/p/noot.toml:2:12: optimise = \"sometimes\": it is \"auto\", \"always\" or \"never\"",
            ),
        ];
        for (text, want) in cases {
            let err = load_mutate(text).expect_err(want);
            assert!(err.to_string().starts_with(want), "{text:?}\n got: {err}\nwant: {want}");
            assert!(err.help.is_some(), "{err}");
        }
    }
}
