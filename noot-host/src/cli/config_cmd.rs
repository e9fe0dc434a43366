//! `noot config check` and `noot config show`.
//!
//! `show` prints the values a command would use, not only what the file
//! says: for `[mutate]`, the source paths and tests noot detects in the
//! project (the same detection `noot run` uses) and the interpreter it
//! found, each with where it came from.

use clap::Subcommand;
use serde::Serialize;

use crate::cli::{CliError, Context, Format, Outcome};
use crate::config::{CONFIG_SCHEMA_VERSION, Config, ConfigError};
use crate::mutate::lang::python::project::{self, TestsError};
use crate::mutate::lang::rust::session::PYTHON_ONLY_KEYS;
use crate::mutate::lang::{self, Language};
use crate::mutate::session::{RunError, RunRequest};
use crate::scrub::ScrubPipeline;

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Validate the configuration: parse it, load its plugins, build its scrubbers.
    #[command(
        after_long_help = "Examples:\n  noot config check\n  noot --config ci/noot.toml config check\n\nExit 0 if valid; 2 with file:line:column and a fix if not."
    )]
    Check,
    /// Print the effective configuration, detected values included, and where each came from.
    #[command(
        after_long_help = "Examples:\n  noot config show\n  noot config show --format json | jq .mutate\n  NOOT_JOBS=8 noot config show --format json | jq .origins"
    )]
    Show,
}

#[derive(Serialize)]
struct Shown<'a> {
    schema_version: u32,
    #[serde(flatten)]
    config: &'a Config,
}

pub(crate) fn run(context: &Context, command: ConfigCommand) -> Result<Outcome, CliError> {
    let config = context.config()?;
    match command {
        ConfigCommand::Check => {
            // What `noot run` would refuse: the other language's keys.
            lang::refuse_foreign(&config, &RunRequest::default()).map_err(|e| match e {
                RunError::Setup { location, message, help } => {
                    CliError::Config(ConfigError { location, message, help })
                }
                other => CliError::Config(ConfigError {
                    location: None,
                    message: other.to_string(),
                    help: None,
                }),
            })?;
            // Only configured test paths: detection may walk a big tree,
            // and a project without Python tests is no configuration error.
            if !config.mutate.tests.is_empty() {
                with_detected(&config)?;
            }
            let registry = context.registry(&config)?;
            ScrubPipeline::from_config(&registry, &config, &context.ports)?;
            let file = config.file.as_ref().map_or_else(
                || "no config file (defaults)".to_string(),
                |f| f.display().to_string(),
            );
            if context.format == Format::Json {
                context.out_json(&serde_json::json!({
                    "schema_version": CONFIG_SCHEMA_VERSION,
                    "ok": true,
                    "file": config.file,
                    "plugins": registry.entries().len(),
                }));
            } else {
                context.out(&format!(
                    "ok: {file}: {} plugin(s), scrubbers: {}\n",
                    registry.entries().len(),
                    config.scrub.scrubbers.join(", ")
                ));
            }
        }
        ConfigCommand::Show => {
            let config = with_detected(&config)?;
            if context.format == Format::Json {
                let shown = Shown { schema_version: CONFIG_SCHEMA_VERSION, config: &config };
                let mut shown = serde_json::to_value(&shown).map_err(|e| {
                    CliError::Config(ConfigError {
                        location: None,
                        message: format!("cannot show the configuration as JSON: {e}"),
                        help: None,
                    })
                })?;
                // A Rust run refuses Python's keys, a Python run Rust's `optimise`:
                // not shown as if they applied.
                let foreign: &[&str] =
                    if config.mutate.language == "rust" { PYTHON_ONLY_KEYS } else { &["optimise"] };
                {
                    for key in foreign {
                        if let Some(mutate) = shown["mutate"].as_object_mut() {
                            mutate.remove(*key);
                        }
                        if let Some(origins) = shown["origins"].as_object_mut() {
                            origins.remove(&format!("mutate.{key}"));
                        }
                    }
                }
                context.out_json(&shown);
            } else {
                context.out(&human(&config));
            }
        }
    }
    Ok(Outcome { code: 0 })
}

/// `config` with `[mutate] paths` and `tests` as `noot run` would find
/// them when the file leaves them out, and their origins.
fn with_detected(config: &Config) -> Result<Config, CliError> {
    let mut shown = config.clone();
    let root = shown.root.clone();
    // A crate: no Python package or tests to look for.
    if lang::detect(&root, &shown.mutate) == Language::Rust {
        if shown.mutate.language == "auto" {
            shown.mutate.language = "rust".into();
            shown.origins.insert(
                "mutate.language".into(),
                "detected: Cargo.toml, and no Python project beside it".into(),
            );
        }
        return Ok(shown);
    }
    let settings = &mut shown.mutate;
    if settings.paths.is_empty() {
        let (paths, origin) = project::default_paths(&root);
        settings.paths = paths;
        shown.origins.insert("mutate.paths".into(), origin);
    }
    match project::tests_for(&root, &settings.tests, &root.join(&settings.mutants_dir)) {
        Ok(tests) => {
            if let Some(origin) = tests.origin() {
                shown.origins.insert("mutate.tests".into(), origin);
            }
            settings.tests = tests.paths;
        }
        // Not a configuration error: the project has no tests yet.
        Err(TestsError::NoneFound { .. }) => {
            shown.origins.insert(
                "mutate.tests".into(),
                "none found: no tests/ or test/ folder and no test files; noot run stops until [mutate] tests names them".into(),
            );
        }
        Err(e) => {
            return Err(CliError::Config(ConfigError {
                location: e.location(&settings.locations),
                help: Some(e.help()),
                message: e.to_string(),
            }));
        }
    }
    Ok(shown)
}

/// A list as TOML writes it.
fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

fn human(config: &Config) -> String {
    let origin = |key: &str| config.origins.get(key).map_or("default", String::as_str).to_string();
    let mut out = String::new();
    let file = config
        .file
        .as_ref()
        .map_or_else(|| "(none: defaults)".to_string(), |f| f.display().to_string());
    out.push_str(&format!("# config file: {file}\n# project root: {}\n\n", config.root.display()));
    out.push_str(&format!("jobs = {}  # {}\n\n", config.jobs, origin("jobs")));
    out.push_str("[plugins]\n");
    let paths: Vec<String> =
        config.plugins.paths.iter().map(|p| format!("{:?}", p.display().to_string())).collect();
    out.push_str(&format!("paths = [{}]", paths.join(", ")));
    if !paths.is_empty() {
        out.push_str(&format!("  # {}", origin("plugins.paths")));
    }
    out.push_str("\n\n[scrub]\n");
    let scrubbers: Vec<String> = config.scrub.scrubbers.iter().map(|s| format!("{s:?}")).collect();
    out.push_str(&format!(
        "scrubbers = [{}]  # {}\n",
        scrubbers.join(", "),
        origin("scrub.scrubbers")
    ));
    for (name, table) in &config.scrub.plugin {
        out.push_str(&format!("\n[scrub.plugin.{name}]\n# {table}\n"));
    }

    let mutate = &config.mutate;
    let origin = |key: &str| origin(&format!("mutate.{key}"));
    // What a Rust run reads; a Python run reads every key but exclude_tests
    // and optimise.
    let rust = mutate.language == "rust";
    out.push_str("\n[mutate]\n");
    if !rust {
        out.push_str(&format!("paths = {}  # {}\n", toml_list(&mutate.paths), origin("paths")));
        out.push_str(&format!("tests = {}  # {}\n", toml_list(&mutate.tests), origin("tests")));
        out.push_str(&format!("python = {:?}  # {}\n", mutate.python, origin("python")));
    }
    out.push_str(&format!("runner = {:?}  # {}\n", mutate.runner, origin("runner")));
    out.push_str(&format!("mutants_dir = {:?}  # {}\n", mutate.mutants_dir, origin("mutants_dir")));
    match mutate.jobs {
        Some(jobs) => out.push_str(&format!("jobs = {jobs}  # {}\n", origin("jobs"))),
        None => out.push_str("# jobs: the top-level jobs\n"),
    }
    out.push_str(&format!(
        "timeout_multiplier = {:?}  # {}\ntimeout_floor = {:?}  # {}\n",
        mutate.timeout_multiplier,
        origin("timeout_multiplier"),
        mutate.timeout_floor_secs,
        origin("timeout_floor")
    ));
    out.push_str(&format!(
        "max_processes = {}  # {}\n",
        mutate.max_processes,
        origin("max_processes")
    ));
    out.push_str(&format!("language = {:?}  # {}\n", mutate.language, origin("language")));
    if rust {
        out.push_str(&format!("optimise = {:?}  # {}\n", mutate.optimise, origin("optimise")));
    }
    if !mutate.exclude.is_empty() {
        out.push_str(&format!(
            "exclude = {}  # {}\n",
            toml_list(&mutate.exclude),
            origin("exclude")
        ));
    }
    if !mutate.exclude_tests.is_empty() {
        out.push_str(&format!(
            "exclude_tests = {}  # {}\n",
            toml_list(&mutate.exclude_tests),
            origin("exclude_tests")
        ));
    }
    if !mutate.pytest_args.is_empty() {
        out.push_str(&format!(
            "pytest_args = {}  # {}\n",
            toml_list(&mutate.pytest_args),
            origin("pytest_args")
        ));
    }
    for (name, table) in &mutate.runner_options {
        out.push_str(&format!("\n[mutate.runner_options.{name}]\n# {table}\n"));
    }
    out
}
