//! noot's configuration: `noot.toml`, or `[tool.noot]` in `pyproject.toml`.
//!
//! The file is found by walking up from the working directory (or named
//! with `--config` / `NOOT_CONFIG_FILE`). It is parsed into typed tables with
//! spans; an unknown key, a wrong type or a bad value is a [`ConfigError`]
//! naming file:line:column and, for unknown keys, the closest known one.
//! Values are then layered: command line over environment (`NOOT_*`) over
//! file over defaults, and the origin of each is kept for `noot config show`.

pub mod error;
pub mod experiment;
pub mod mox;
pub mod mutate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

pub use error::{ConfigError, Location};

use crate::engine::ports::{Env, Fs, PathKind};

/// The name of noot's own configuration file.
pub const CONFIG_FILE: &str = "noot.toml";
/// The Python project file that may hold `[tool.noot]`.
pub const PYPROJECT_FILE: &str = "pyproject.toml";
/// The version of `noot config show --format json`.
pub const CONFIG_SCHEMA_VERSION: u32 = 1;

/// `noot.toml` (or `[tool.noot]`) as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    jobs: Option<Spanned<i64>>,
    #[serde(default)]
    plugins: PluginsTable,
    #[serde(default)]
    scrub: ScrubTable,
    #[serde(default)]
    mutate: mutate::MutateTable,
    #[serde(default)]
    experiment: BTreeMap<String, Spanned<experiment::ExperimentTable>>,
    #[serde(default)]
    mox: mox::MoxTable,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginsTable {
    #[serde(default)]
    paths: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScrubTable {
    scrubbers: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    plugin: BTreeMap<String, toml::Table>,
}

#[derive(Debug, Default, Deserialize)]
struct Pyproject {
    tool: Option<PyprojectTool>,
}

#[derive(Debug, Default, Deserialize)]
struct PyprojectTool {
    noot: Option<FileConfig>,
}

/// What the command line says, for the layers that it may override.
#[derive(Debug, Clone, Default)]
pub struct CliOverrides {
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    /// `--jobs N`.
    pub jobs: Option<usize>,
    /// `--plugin PATH` (repeatable; added to the file's paths).
    pub plugin_paths: Vec<PathBuf>,
    /// `--scrubber NAME` (repeatable; replaces the file's list).
    pub scrubbers: Vec<String>,
}

/// The effective configuration.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Config {
    /// The file it came from, if any.
    pub file: Option<PathBuf>,
    /// The project root: the folder of the file, else the working directory.
    pub root: PathBuf,
    /// How many jobs run at once.
    pub jobs: usize,
    /// Plugin libraries.
    pub plugins: PluginSettings,
    /// Scrubbing.
    pub scrub: ScrubSettings,
    /// `[mutate]`.
    pub mutate: mutate::MutateSettings,
    /// `[experiment.NAME]` tables, by name.
    pub experiments: BTreeMap<String, experiment::ExperimentSettings>,
    /// `[mox]`.
    pub mox: mox::MoxSettings,
    /// Where each setting came from: `default`, `FILE:LINE:COL`, `env NAME`, `cli --opt`.
    pub origins: BTreeMap<String, String>,
}

/// `[plugins]`.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct PluginSettings {
    /// Libraries to load, absolute.
    pub paths: Vec<PathBuf>,
    /// Where each path was named, for error messages.
    #[serde(skip)]
    pub path_origins: Vec<Location>,
}

/// `[scrub]`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScrubSettings {
    /// Scrubber plugins, applied in order.
    pub scrubbers: Vec<String>,
    /// Each plugin's own table, as JSON.
    pub plugin: BTreeMap<String, serde_json::Value>,
}

impl Default for ScrubSettings {
    fn default() -> Self {
        Self { scrubbers: vec!["default".to_string()], plugin: BTreeMap::new() }
    }
}

impl Config {
    /// The configuration table of scrubber `name` as JSON text (`{}` if none).
    pub fn scrubber_table(&self, name: &str) -> String {
        self.scrub.plugin.get(name).map_or_else(|| "{}".to_string(), ToString::to_string)
    }
}

/// A configuration file that was found and read.
struct Source {
    path: PathBuf,
    text: String,
}

/// Finds, reads, validates and layers the configuration.
pub fn load(fs: &dyn Fs, env: &dyn Env, cli: &CliOverrides) -> Result<Config, ConfigError> {
    let cwd = env.current_dir().map_err(|e| ConfigError {
        location: None,
        message: format!("cannot read the working directory: {e}"),
        help: None,
    })?;
    let source = locate(fs, env, cli, &cwd)?;
    let (file, root) = match &source {
        Some(s) => (parse(s)?, s.path.parent().map_or_else(|| cwd.clone(), Path::to_path_buf)),
        None => (FileConfig::default(), cwd.clone()),
    };
    let mut origins = BTreeMap::new();
    let at = |offset: usize| -> Location {
        match &source {
            Some(s) => Location::in_file(&s.path, &s.text, offset),
            None => Location::Cli("--config".into()),
        }
    };

    // jobs: cli > env > file > default
    let mut jobs = std::thread::available_parallelism().map_or(1, usize::from);
    origins.insert("jobs".to_string(), "default".to_string());
    if let Some(value) = &file.jobs {
        let location = at(value.span().start);
        jobs = positive(*value.get_ref(), &location)?;
        origins.insert("jobs".to_string(), location.to_string());
    }
    if let Some(text) = env.var("NOOT_JOBS") {
        let location = Location::Env("NOOT_JOBS".into());
        let value: i64 = text.trim().parse().map_err(|_| {
            ConfigError::at(location.clone(), format!("`{text}` is not a whole number"))
                .with_help("set NOOT_JOBS to a number of jobs, such as 4")
        })?;
        jobs = positive(value, &location)?;
        origins.insert("jobs".to_string(), location.to_string());
    }
    if let Some(value) = cli.jobs {
        jobs = positive(value as i64, &Location::Cli("--jobs".into()))?;
        origins.insert("jobs".to_string(), "option --jobs".to_string());
    }

    // plugin paths: file, then env, then cli, all kept
    let mut plugins = PluginSettings::default();
    for path in &file.plugins.paths {
        let location = at(path.span().start);
        plugins.paths.push(root.join(path.get_ref()));
        plugins.path_origins.push(location);
    }
    if let Some(text) = env.var("NOOT_PLUGIN_PATHS") {
        for part in text.split(':').filter(|p| !p.is_empty()) {
            plugins.paths.push(cwd.join(part));
            plugins.path_origins.push(Location::Env("NOOT_PLUGIN_PATHS".into()));
        }
    }
    for path in &cli.plugin_paths {
        plugins.paths.push(cwd.join(path));
        plugins.path_origins.push(Location::Cli("--plugin".into()));
    }
    for (path, location) in plugins.paths.iter().zip(&plugins.path_origins) {
        if fs.kind(path) != Some(PathKind::File) {
            return Err(ConfigError::at(
                location.clone(),
                format!("plugin library {} does not exist", path.display()),
            )
            .with_help("build the plugin (cargo build -p …) or fix the path; relative paths in a config file are relative to that file"));
        }
    }
    if !plugins.paths.is_empty() {
        let origin =
            plugins.path_origins.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        origins.insert("plugins.paths".to_string(), origin);
    }

    // scrubbers: cli > env > file > default
    let mut scrub = ScrubSettings::default();
    origins.insert("scrub.scrubbers".to_string(), "default".to_string());
    if let Some(list) = &file.scrub.scrubbers {
        let location = at(list.span().start);
        if list.get_ref().is_empty() {
            return Err(ConfigError::at(location, "`scrubbers` is empty")
                .with_help("name at least one scrubber, such as [\"default\"]"));
        }
        scrub.scrubbers = list.get_ref().clone();
        origins.insert("scrub.scrubbers".to_string(), location.to_string());
    }
    if let Some(text) = env.var("NOOT_SCRUBBERS") {
        let names: Vec<String> =
            text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
        if names.is_empty() {
            return Err(ConfigError::at(
                Location::Env("NOOT_SCRUBBERS".into()),
                "no scrubber named",
            )
            .with_help("set NOOT_SCRUBBERS to a comma-separated list, such as default"));
        }
        scrub.scrubbers = names;
        origins.insert(
            "scrub.scrubbers".to_string(),
            "environment variable NOOT_SCRUBBERS".to_string(),
        );
    }
    if !cli.scrubbers.is_empty() {
        scrub.scrubbers = cli.scrubbers.clone();
        origins.insert("scrub.scrubbers".to_string(), "option --scrubber".to_string());
    }
    for (name, table) in &file.scrub.plugin {
        let json = serde_json::to_value(table).map_err(|e| ConfigError {
            location: source.as_ref().map(|s| Location::File {
                path: s.path.clone(),
                line: 1,
                column: 1,
            }),
            message: format!("[scrub.plugin.{name}] cannot be passed to the plugin: {e}"),
            help: None,
        })?;
        scrub.plugin.insert(name.clone(), json);
    }

    let mutate = file.mutate.resolve(&at, &root, fs, env, &mut origins)?;
    let mox = file.mox.resolve(&at, env, &mut origins)?;
    let mut experiments = BTreeMap::new();
    for (name, table) in &file.experiment {
        let settings = table.get_ref().resolve(name, table.span().start, &at)?;
        experiments.insert(name.clone(), settings);
    }

    Ok(Config {
        file: source.map(|s| s.path),
        root,
        jobs,
        plugins,
        scrub,
        mutate,
        experiments,
        mox,
        origins,
    })
}

fn positive(value: i64, location: &Location) -> Result<usize, ConfigError> {
    usize::try_from(value).ok().filter(|&v| v > 0).ok_or_else(|| {
        ConfigError::at(location.clone(), format!("jobs = {value}: must be at least 1"))
            .with_help("use a number of parallel jobs such as 4, or leave it out to use every core")
    })
}

/// The configuration file to use: `--config`, `NOOT_CONFIG_FILE`, or the first
/// `noot.toml` or `pyproject.toml` with `[tool.noot]` walking up from `cwd`.
fn locate(
    fs: &dyn Fs,
    env: &dyn Env,
    cli: &CliOverrides,
    cwd: &Path,
) -> Result<Option<Source>, ConfigError> {
    let named = match (&cli.config, env.var("NOOT_CONFIG_FILE")) {
        (Some(path), _) => Some((cwd.join(path), Location::Cli("--config".into()))),
        (None, Some(path)) => Some((cwd.join(path), Location::Env("NOOT_CONFIG_FILE".into()))),
        (None, None) => None,
    };
    if let Some((path, location)) = named {
        let text = read_text(fs, &path).map_err(|e| match e.location {
            Some(_) => e,
            None => ConfigError::at(location, e.message)
                .with_help("name an existing noot.toml or pyproject.toml"),
        })?;
        return Ok(Some(Source { path, text }));
    }
    for dir in cwd.ancestors() {
        let candidate = dir.join(CONFIG_FILE);
        if fs.kind(&candidate) == Some(PathKind::File) {
            let text = read_text(fs, &candidate)?;
            return Ok(Some(Source { path: candidate, text }));
        }
        let pyproject = dir.join(PYPROJECT_FILE);
        if fs.kind(&pyproject) == Some(PathKind::File) {
            let text = read_text(fs, &pyproject)?;
            if text.contains("[tool.noot") {
                return Ok(Some(Source { path: pyproject, text }));
            }
        }
    }
    Ok(None)
}

/// The file's text; an error unlocated if it cannot be read, located at
/// the first byte that is not UTF-8 if it is not text.
fn read_text(fs: &dyn Fs, path: &Path) -> Result<String, ConfigError> {
    let bytes = fs.read(path).map_err(|e| ConfigError {
        location: None,
        message: format!("cannot read {}: {e}", path.display()),
        help: None,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let valid = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&bytes[..valid]);
        let byte = bytes.get(valid).copied().unwrap_or_default();
        ConfigError::at(
            Location::in_file(path, &text, valid),
            format!("byte {byte:#04x} is not UTF-8: the file must be UTF-8 text"),
        )
        .with_help("save the file as UTF-8")
    })
}

fn parse(source: &Source) -> Result<FileConfig, ConfigError> {
    let is_pyproject = source.path.file_name().is_some_and(|n| n == PYPROJECT_FILE);
    let parsed = if is_pyproject {
        toml::from_str::<Pyproject>(&source.text)
            .map(|p| p.tool.and_then(|t| t.noot).unwrap_or_default())
    } else {
        toml::from_str::<FileConfig>(&source.text)
    };
    parsed.map_err(|e| {
        let location = match e.span() {
            Some(span) => Location::in_file(&source.path, &source.text, span.start),
            None => Location::File { path: source.path.clone(), line: 1, column: 1 },
        };
        let message = e.message().trim().to_string();
        let help = error::unknown_field_help(&message).or_else(|| {
            message
                .starts_with("invalid type")
                .then(|| "see the configuration reference in the README".to_string())
        });
        ConfigError { location: Some(location), message, help }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fakes::{FakeEnv, MemFs};

    fn env_at(cwd: &str, vars: &[(&str, &str)]) -> FakeEnv {
        FakeEnv {
            vars: vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            cwd: cwd.into(),
        }
    }

    fn load_with(
        files: &[(&str, &str)],
        env: FakeEnv,
        cli: CliOverrides,
    ) -> Result<Config, ConfigError> {
        let fs = MemFs::default();
        for (path, text) in files {
            fs.insert(*path, text.as_bytes());
        }
        load(&fs, &env, &cli)
    }

    #[test]
    fn no_file_means_defaults_rooted_at_the_working_directory() {
        let config = load_with(&[], env_at("/p", &[]), CliOverrides::default()).expect("defaults");
        assert_eq!(config.file, None);
        assert_eq!(config.root, PathBuf::from("/p"));
        assert_eq!(config.scrub.scrubbers, ["default"]);
        assert!(config.jobs >= 1);
        assert_eq!(config.origins["jobs"], "default");
    }

    #[test]
    fn the_file_is_found_walking_up_and_paths_are_relative_to_it() {
        let files = [
            ("/p/noot.toml", "jobs = 3\n[plugins]\npaths = [\"lib/libx.so\"]\n"),
            ("/p/lib/libx.so", "\x7fELF"),
        ];
        let config =
            load_with(&files, env_at("/p/src/deep", &[]), CliOverrides::default()).expect("valid");
        assert_eq!(config.file, Some(PathBuf::from("/p/noot.toml")));
        assert_eq!(config.jobs, 3);
        assert_eq!(config.origins["jobs"], "/p/noot.toml:1:8");
        assert_eq!(config.plugins.paths, [PathBuf::from("/p/lib/libx.so")]);
    }

    #[test]
    fn pyproject_tool_noot_is_read_when_there_is_no_noot_toml() {
        let files = [(
            "/p/pyproject.toml",
            "[project]\nname = \"x\"\n\n[tool.noot]\njobs = 2\n[tool.noot.scrub]\nscrubbers = [\"default\"]\n",
        )];
        let config = load_with(&files, env_at("/p", &[]), CliOverrides::default()).expect("valid");
        assert_eq!(config.jobs, 2);
        assert_eq!(config.origins["jobs"], "/p/pyproject.toml:5:8");
    }

    #[test]
    fn a_pyproject_without_tool_noot_is_passed_over() {
        let files = [
            ("/p/sub/pyproject.toml", "[project]\nname = \"x\"\n"),
            ("/p/noot.toml", "jobs = 5\n"),
        ];
        let config =
            load_with(&files, env_at("/p/sub", &[]), CliOverrides::default()).expect("valid");
        assert_eq!(config.jobs, 5);
    }

    #[test]
    fn cli_beats_env_beats_file() {
        let files = [("/p/noot.toml", "jobs = 3\n[scrub]\nscrubbers = [\"default\"]\n")];
        let env = env_at("/p", &[("NOOT_JOBS", "4"), ("NOOT_SCRUBBERS", "a, b")]);
        let config = load_with(&files, env, CliOverrides::default()).expect("valid");
        assert_eq!(
            (config.jobs, config.scrub.scrubbers.clone()),
            (4, vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(config.origins["jobs"], "environment variable NOOT_JOBS");
        let env = env_at("/p", &[("NOOT_JOBS", "4")]);
        let cli =
            CliOverrides { jobs: Some(7), scrubbers: vec!["c".into()], ..CliOverrides::default() };
        let config = load_with(&files, env, cli).expect("valid");
        assert_eq!((config.jobs, config.scrub.scrubbers), (7, vec!["c".to_string()]));
        assert_eq!(config.origins["jobs"], "option --jobs");
    }

    #[test]
    fn unknown_keys_name_the_place_and_the_closest_key() {
        let files = [("/p/noot.toml", "jobs = 2\n\n[scrub]\nscrubers = [\"default\"]\n")];
        let err = load_with(&files, env_at("/p", &[]), CliOverrides::default()).expect_err("typo");
        assert_eq!(
            err.location.as_ref().map(ToString::to_string).as_deref(),
            Some("/p/noot.toml:4:1")
        );
        assert!(err.message.contains("unknown field `scrubers`"), "{err}");
        assert_eq!(err.help.as_deref(), Some("did you mean `scrubbers`?"));
    }

    #[test]
    fn wrong_types_and_values_are_located() {
        let files = [("/p/noot.toml", "\njobs = \"four\"\n")];
        let err = load_with(&files, env_at("/p", &[]), CliOverrides::default()).expect_err("type");
        assert!(err.to_string().starts_with("/p/noot.toml:2:8: invalid type"), "{err}");
        let files = [("/p/noot.toml", "jobs = 0\n")];
        let err = load_with(&files, env_at("/p", &[]), CliOverrides::default()).expect_err("zero");
        assert!(
            err.to_string().starts_with("/p/noot.toml:1:8: jobs = 0: must be at least 1"),
            "{err}"
        );
        let err = load_with(&[], env_at("/p", &[("NOOT_JOBS", "many")]), CliOverrides::default())
            .expect_err("env");
        assert!(err.to_string().starts_with("environment variable NOOT_JOBS: `many`"), "{err}");
    }

    #[test]
    fn missing_plugin_libraries_point_at_their_line() {
        let files = [("/p/noot.toml", "[plugins]\npaths = [\n  \"nope.so\",\n]\n")];
        let err =
            load_with(&files, env_at("/p", &[]), CliOverrides::default()).expect_err("missing");
        assert!(
            err.to_string()
                .starts_with("/p/noot.toml:3:3: plugin library /p/nope.so does not exist"),
            "{err}"
        );
    }

    #[test]
    fn plugin_tables_reach_the_plugin_as_json() {
        let files = [(
            "/p/noot.toml",
            "[scrub.plugin.default]\nentropy_threshold = 3.5\ndisable = [\"jwt\"]\n",
        )];
        let config = load_with(&files, env_at("/p", &[]), CliOverrides::default()).expect("valid");
        let table: serde_json::Value =
            serde_json::from_str(&config.scrubber_table("default")).expect("json");
        assert_eq!(table["entropy_threshold"], 3.5);
        assert_eq!(config.scrubber_table("other"), "{}");
    }

    #[test]
    fn the_interpreter_is_the_file_s_then_virtual_env_then_the_project_venv_then_python3() {
        use mutate::PythonOrigin;
        let venvs = [("/p/.venv/bin/python", "#!"), ("/p/venv/bin/python", "#!")];
        let configured =
            [("/p/noot.toml", "[mutate]\npython = \"tools/py\"\n"), ("/p/.venv/bin/python", "#!")];
        let config =
            load_with(&configured, env_at("/p", &[("VIRTUAL_ENV", "/v")]), CliOverrides::default())
                .expect("valid");
        assert_eq!(config.mutate.python, "/p/tools/py", "a path is relative to the file");
        assert_eq!(config.origins["mutate.python"], "/p/noot.toml:2:10");
        assert!(matches!(config.mutate.python_origin, PythonOrigin::Config(_)));
        let bare = [("/p/noot.toml", "[mutate]\npython = \"python3.12\"\n")];
        let config = load_with(&bare, env_at("/p", &[]), CliOverrides::default()).expect("valid");
        assert_eq!(config.mutate.python, "python3.12", "a bare name is looked up on PATH");

        let config = load_with(
            &venvs,
            env_at("/p", &[("VIRTUAL_ENV", "/home/u/env")]),
            CliOverrides::default(),
        )
        .expect("valid");
        assert_eq!(config.mutate.python, "/home/u/env/bin/python");
        assert_eq!(config.mutate.python_origin, PythonOrigin::VirtualEnv);
        assert_eq!(config.origins["mutate.python"], "environment variable VIRTUAL_ENV");

        let config = load_with(&venvs, env_at("/p", &[]), CliOverrides::default()).expect("valid");
        assert_eq!(config.mutate.python, "/p/.venv/bin/python");
        assert_eq!(config.origins["mutate.python"], "detected: .venv/ in the project");
        let config =
            load_with(&venvs[1..], env_at("/p", &[]), CliOverrides::default()).expect("valid");
        assert_eq!(config.mutate.python, "/p/venv/bin/python");
        assert_eq!(config.mutate.python_origin, PythonOrigin::ProjectVenv("venv"));

        let config = load_with(&[], env_at("/p", &[("VIRTUAL_ENV", "")]), CliOverrides::default())
            .expect("valid");
        assert_eq!(config.mutate.python, "python3");
        assert_eq!(config.origins["mutate.python"], "default");
    }

    #[test]
    fn an_empty_python_is_an_error_at_its_line() {
        let files = [("/p/noot.toml", "[mutate]\npython = \"\"\n")];
        let err = load_with(&files, env_at("/p", &[]), CliOverrides::default()).expect_err("empty");
        assert!(err.to_string().starts_with("/p/noot.toml:2:10: python = \"\""), "{err}");
        assert!(err.help.is_some_and(|h| h.contains(".venv/bin/python")));
    }

    #[test]
    fn the_mutated_tree_defaults_under_dot_noot_and_keeps_apart_from_the_state() {
        let config = load_with(&[], env_at("/p", &[]), CliOverrides::default()).expect("valid");
        assert_eq!(config.mutate.mutants_dir, mutate::DEFAULT_MUTANTS_DIR);
        assert_eq!(config.origins["mutate.mutants_dir"], "default");
        let files = [("/p/noot.toml", "[mutate]\nmutants_dir = \"mutants/\"\n")];
        let config = load_with(&files, env_at("/p", &[]), CliOverrides::default()).expect("valid");
        assert_eq!(config.mutate.mutants_dir, "mutants");
        for bad in [".noot", ".noot/mutate", ".noot/mutate/x", "/tmp/m", "../m", "."] {
            let text = format!("[mutate]\nmutants_dir = \"{bad}\"\n");
            let files = [("/p/noot.toml", text.as_str())];
            let err =
                load_with(&files, env_at("/p", &[]), CliOverrides::default()).expect_err("refused");
            assert!(err.to_string().starts_with("/p/noot.toml:2:15: mutants_dir"), "{bad}: {err}");
        }
        let files = [("/p/noot.toml", "[mutate]\nmutants_dir = \".nootish\"\n")];
        load_with(&files, env_at("/p", &[]), CliOverrides::default())
            .expect("a name that only starts like .noot");
    }

    #[test]
    fn max_processes_defaults_to_the_bound_and_refuses_a_negative_count() {
        let config = load_with(&[], env_at("/p", &[]), CliOverrides::default()).expect("valid");
        assert_eq!(
            config.mutate.max_processes,
            crate::engine::process_bound::DEFAULT_MAX_PROCESSES
        );
        let files = [("/p/noot.toml", "[mutate]\nmax_processes = 0\n")];
        let config = load_with(&files, env_at("/p", &[]), CliOverrides::default()).expect("valid");
        assert_eq!(config.mutate.max_processes, 0, "0 turns the bound off");
        let files = [("/p/noot.toml", "[mutate]\nmax_processes = -1\n")];
        let err = load_with(&files, env_at("/p", &[]), CliOverrides::default()).expect_err("bad");
        assert!(err.to_string().starts_with("/p/noot.toml:2:17: max_processes = -1"), "{err}");
        assert!(err.help.is_some_and(|h| h.contains("0 for no bound")));
    }

    #[test]
    fn each_test_path_keeps_its_own_line() {
        let files = [("/p/noot.toml", "[mutate]\ntests = [\n  \"tests\",\n  \"tsts\",\n]\n")];
        let config = load_with(&files, env_at("/p", &[]), CliOverrides::default()).expect("valid");
        assert_eq!(config.mutate.tests, ["tests", "tsts"]);
        assert_eq!(config.mutate.locations["tests.1"].to_string(), "/p/noot.toml:4:3");
    }

    #[test]
    fn a_file_that_is_not_utf8_is_an_error_at_its_first_bad_byte() {
        let fs = MemFs::default();
        fs.insert("/p/noot.toml", b"jobs = 2\n# caf\xe9\n".as_slice());
        let err = load(&fs, &env_at("/p", &[]), &CliOverrides::default()).expect_err("not text");
        assert!(err.to_string().starts_with("/p/noot.toml:2:6: byte 0xe9 is not UTF-8"), "{err}");
    }

    /// NOOT_CONFIG_FILE names the file and NOOT_PLUGIN_PATHS adds
    /// libraries, both relative to the working directory.
    #[test]
    fn the_environment_names_the_file_and_adds_plugin_libraries() {
        let files = [
            ("/p/conf/ci.toml", "jobs = 2\n"),
            ("/p/noot.toml", "jobs = 9\n"),
            ("/p/lib/a.so", "\x7fELF"),
            ("/p/lib/b.so", "\x7fELF"),
        ];
        let env = env_at(
            "/p",
            &[("NOOT_CONFIG_FILE", "conf/ci.toml"), ("NOOT_PLUGIN_PATHS", "lib/a.so::lib/b.so")],
        );
        let config = load_with(&files, env, CliOverrides::default()).expect("valid");
        assert_eq!(config.file, Some(PathBuf::from("/p/conf/ci.toml")));
        assert_eq!(config.jobs, 2);
        assert_eq!(
            config.plugins.paths,
            [PathBuf::from("/p/lib/a.so"), PathBuf::from("/p/lib/b.so")]
        );
        assert_eq!(
            config.origins["plugins.paths"],
            "environment variable NOOT_PLUGIN_PATHS, environment variable NOOT_PLUGIN_PATHS"
        );
        let env = env_at("/p", &[("NOOT_CONFIG_FILE", "gone.toml")]);
        let err = load_with(&[], env, CliOverrides::default()).expect_err("missing");
        assert!(
            err.to_string()
                .starts_with("environment variable NOOT_CONFIG_FILE: cannot read /p/gone.toml"),
            "{err}"
        );
    }

    /// Naming no scrubber, in the file or in NOOT_SCRUBBERS, is an error
    /// rather than scrubbing nothing.
    #[test]
    fn an_empty_scrubber_list_is_an_error() {
        let files = [("/p/noot.toml", "[scrub]\nscrubbers = []\n")];
        let err = load_with(&files, env_at("/p", &[]), CliOverrides::default()).expect_err("empty");
        assert!(err.to_string().starts_with("/p/noot.toml:2:13: `scrubbers` is empty"), "{err}");
        let env = env_at("/p", &[("NOOT_SCRUBBERS", " , ")]);
        let err = load_with(&[], env, CliOverrides::default()).expect_err("none named");
        assert!(
            err.to_string().starts_with("environment variable NOOT_SCRUBBERS: no scrubber named"),
            "{err}"
        );
    }

    #[test]
    fn an_explicit_config_that_does_not_exist_is_an_error() {
        let cli = CliOverrides { config: Some("missing.toml".into()), ..CliOverrides::default() };
        let err = load_with(&[], env_at("/p", &[]), cli).expect_err("missing");
        assert!(
            err.to_string().starts_with("option --config: cannot read /p/missing.toml"),
            "{err}"
        );
    }
}
