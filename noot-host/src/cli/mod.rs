//! The command line: parses arguments, calls one core entry point, renders
//! its report, and picks the exit code.
//!
//! Output contract, for every command: results on stdout; diagnostics and
//! progress on stderr; with `--format json`, exactly one JSON document on
//! stdout. Exit codes: 0 success, 1 the command's own negative result
//! (secrets found, a plugin check failed), 2 usage, configuration, input or
//! plugin errors.

mod config_cmd;
mod experiment_cmd;
pub mod interrupt;
mod mox_cmd;
mod mox_fixture_cmd;
pub(crate) mod plugins_cmd;
mod results_cmd;
mod run_cmd;
mod scrub_cmd;
mod status_cmd;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{CliOverrides, Config, ConfigError};
use crate::engine::ports::{EventSink, NoProgress, Ports, ProgressSink, SystemClock};
use crate::engine::reaper;
use crate::engine::render::{HumanEvents, JsonEvents, ProgressLine, SharedWriter};
use crate::plugins::{Registry, RegistryError};

const EXAMPLES: &str = "\
Examples:
  Mutation-test the Python project in this folder (src/PKG or PKG/ with tests/; needs no
  configuration, and uses the project's .venv/ if it has one):
      noot run
  The same for the Rust crate or workspace in this folder (no configuration either):
      cargo noot run
  Then the mutants no test noticed, one of them as a diff, and a report for a browser or CI:
      noot results --status survived
      noot show shop.pricing.discount__noot_4
      noot report --stryker out/mutation.json
  What noot keeps in .noot/ and the decisions later runs follow (forget one to decide again):
      noot status
      noot status --forget build
  Redact secrets from a log before you share it:
      noot scrub build.log > build.scrubbed.log
  Scrub every text file under a folder in place, and fail CI if any secret was found:
      noot scrub --in-place tests/fixtures
  Pipe text through the scrubber:
      env | noot scrub -
  Machine-readable report of what was found (never the secrets themselves):
      noot scrub --format json app.log | jq '.summary'
  See every plugin (built-in and from [plugins] paths) and where it came from:
      noot plugins list
  Check a plugin library you are writing:
      noot plugins check target/debug/libmy_plugin.so
  Show the effective configuration and where each value came from:
      noot config show
  Run a script with command doubles (stubs, mocks, spies) on its PATH:
      noot mox run --scenario doubles.toml -- ./deploy.sh

Exit codes: 0 success; 1 the command's own negative result (secrets found,
a plugin check failed); 2 usage, configuration, input or plugin errors.
As a cargo subcommand: cargo noot <COMMAND>.";

/// `noot run --help` opens with the whole job, run to report; the
/// options' own examples follow the option list.
const RUN_ABOUT: &str = "\
Mutation-test a Python project or a Rust crate: which changes to the code do the tests miss?

The job, start to end. A Python project (src/PKG or PKG/ with tests/) needs no configuration;
the interpreter is [mutate] python, else the active VIRTUAL_ENV, else the project's .venv/ or
venv/, else python3, and it must have pytest. A Cargo project needs none either: one build with
every mutant behind a switch, then each mutant against the tests that reach it.
  noot run                                  mutate, test each mutant, summarise
  cargo noot run                            the same in a crate or workspace
  noot results --status survived            the mutants no test noticed
  noot show shop.pricing.discount__noot_4   one of them as a unified diff
  noot report --stryker out/mutation.json   Stryker JSON and an HTML view";

/// noot: mutation testing of Python and Rust projects, command doubles,
/// experiments and secret scrubbing.
#[derive(Debug, Parser)]
#[command(
    name = "noot",
    bin_name = "noot",
    version,
    about = "Mutation testing for Python and Rust, command doubles, experiments, secret scrubbing",
    long_about = "Mutation testing for Python and Rust, command doubles, experiments, secret scrubbing\n\n\
        noot run mutation-tests a Python project with pytest, or a Rust crate or workspace with \
        its own tests (built once, each mutant behind a switch). \
        noot mox runs programs against command doubles (stubs, mocks, spies, record and replay), \
        noot experiment runs a command over config variants, and noot scrub redacts secrets.",
    after_long_help = EXAMPLES,
    term_width = 100
)]
pub struct Cli {
    /// Use this configuration file instead of searching for noot.toml or pyproject.toml [env: NOOT_CONFIG_FILE].
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    /// How many jobs run at once [default: number of cores; env: NOOT_JOBS].
    #[arg(short, long, global = true, value_name = "N")]
    jobs: Option<usize>,

    /// Load this plugin library too (repeatable; added to [plugins] paths).
    #[arg(long = "plugin", global = true, value_name = "PATH")]
    plugins: Vec<PathBuf>,

    /// Format of the result on stdout.
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    format: Format,

    /// Format of diagnostics and events on stderr.
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    log_format: Format,

    /// Say more: progress events, and full plugin load errors.
    #[arg(short, long, global = true)]
    verbose: bool,

    #[command(subcommand)]
    command: Command,
}

/// Human text or one JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text for people.
    Human,
    /// One JSON document (stdout) or JSON lines (stderr).
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Mutation-test a Python project or a Rust crate: which changes to the code do the tests miss?
    #[command(long_about = RUN_ABOUT, after_long_help = run_cmd::EXAMPLES)]
    Run(run_cmd::RunArgs),
    /// List the stored results of the last `noot run`.
    Results(results_cmd::ResultsArgs),
    /// Show one mutant as a unified diff.
    Show(results_cmd::ShowArgs),
    /// Export the results (Stryker JSON and offline HTML, JUnit XML, GitHub annotations).
    Report(results_cmd::ReportArgs),
    /// Show what noot keeps in .noot/ and the decisions later runs follow; forget one.
    Status(status_cmd::StatusArgs),
    /// Run a command over config variants; a strategy picks the branches, all are logged.
    #[command(after_long_help = experiment_cmd::EXAMPLES)]
    Experiment {
        #[command(subcommand)]
        command: experiment_cmd::ExperimentCommand,
    },
    /// Command doubles: stubs, mocks and spies of the programs your code runs.
    #[command(after_long_help = mox_cmd::EXAMPLES)]
    Mox {
        #[command(subcommand)]
        command: mox_cmd::MoxCommand,
    },
    /// Redact secrets from files, folders or stdin.
    #[command(after_long_help = scrub_cmd::EXAMPLES)]
    Scrub(scrub_cmd::ScrubArgs),
    /// List and check plugins.
    Plugins {
        #[command(subcommand)]
        command: plugins_cmd::PluginsCommand,
    },
    /// Check and show the configuration.
    Config {
        #[command(subcommand)]
        command: config_cmd::ConfigCommand,
    },
}

/// Why a command could not do its job (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A plugin problem.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Bad usage or input.
    #[error("{0}")]
    Usage(String),
}

/// What a command hands back to [`main`].
pub struct Outcome {
    /// The exit code.
    pub code: u8,
}

/// Everything a command needs from the outside.
pub struct Context {
    /// Result format.
    pub format: Format,
    /// Verbose diagnostics.
    pub verbose: bool,
    /// Ports for the core.
    pub ports: Ports,
    /// Overrides for the configuration.
    pub overrides: CliOverrides,
    stdout: SharedWriter,
    stderr: SharedWriter,
}

impl Context {
    /// Writes a result line to stdout.
    pub fn out(&self, text: &str) {
        let mut out = self.stdout.lock().unwrap_or_else(|e| e.into_inner());
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// Writes a diagnostic line to stderr.
    pub fn err(&self, text: &str) {
        let mut err = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(err, "{text}");
        let _ = err.flush();
    }

    /// Prints `value` as the one JSON document of this run.
    pub fn out_json(&self, value: &impl serde::Serialize) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => self.out(&format!("{text}\n")),
            Err(e) => self.err(&format!("error: cannot render JSON: {e}")),
        }
    }

    /// Loads the configuration.
    pub fn config(&self) -> Result<Config, CliError> {
        Ok(crate::config::load(self.ports.fs.as_ref(), self.ports.env.as_ref(), &self.overrides)?)
    }

    /// The built-in plugins plus every library the configuration names.
    pub fn registry(&self, config: &Config) -> Result<Registry, CliError> {
        let mut registry = Registry::with_builtins()?;
        for (path, location) in config.plugins.paths.iter().zip(&config.plugins.path_origins) {
            registry.load(path, location)?;
        }
        Ok(registry)
    }
}

/// Runs noot with `args` (the program name first) and returns the exit code.
pub fn main<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if args.get(1).is_some_and(|first| first == reaper::REAPER_ARG) {
        reaper::serve(&args.get(2).map(|label| label.to_string_lossy()).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    // Commands that run other people's code get a reaper before anything
    // else, while noot has no thread yet (labelling changes the
    // environment). Without one (no /dev/urandom, no fork) they still run,
    // with only process groups to clean up after them.
    let _reaper = match &cli.command {
        Command::Run(_)
        | Command::Experiment {
            command:
                experiment_cmd::ExperimentCommand::Run(_)
                | experiment_cmd::ExperimentCommand::RunDetachedShadows { .. },
        } => std::env::current_exe()
            .ok()
            // SAFETY: argument parsing starts no thread; nothing else has
            // run yet.
            .and_then(|program| unsafe { reaper::start(&program) }.ok()),
        _ => None,
    };
    let stdout: SharedWriter = Arc::new(Mutex::new(std::io::stdout()));
    let stderr: SharedWriter = Arc::new(Mutex::new(std::io::stderr()));
    let events: Arc<dyn EventSink> = match cli.log_format {
        Format::Json => Arc::new(JsonEvents::new(stderr.clone())),
        Format::Human => Arc::new(HumanEvents::new(stderr.clone(), cli.verbose)),
    };
    let show_progress = std::io::stderr().is_terminal()
        && cli.format == Format::Human
        && cli.log_format == Format::Human;
    let progress: Arc<dyn ProgressSink> = if show_progress {
        Arc::new(ProgressLine::new(stderr.clone(), Arc::new(SystemClock::new())))
    } else {
        Arc::new(NoProgress)
    };
    let context = Context {
        format: cli.format,
        verbose: cli.verbose,
        ports: Ports::real(events, progress),
        overrides: CliOverrides {
            config: cli.config.clone(),
            jobs: cli.jobs,
            plugin_paths: cli.plugins.clone(),
            scrubbers: Vec::new(),
        },
        stdout,
        stderr,
    };
    let result = match cli.command {
        Command::Run(args) => run_cmd::run(&context, args),
        Command::Results(args) => results_cmd::results(&context, args),
        Command::Show(args) => results_cmd::show(&context, args),
        Command::Report(args) => results_cmd::report_files(&context, args),
        Command::Status(args) => status_cmd::run(&context, args),
        Command::Experiment { command } => experiment_cmd::run(&context, command),
        Command::Mox { command } => mox_cmd::run(&context, command),
        Command::Scrub(args) => scrub_cmd::run(&context, args),
        Command::Plugins { command } => plugins_cmd::run(&context, command),
        Command::Config { command } => config_cmd::run(&context, command),
    };
    match result {
        Ok(outcome) => ExitCode::from(outcome.code),
        Err(error) => {
            report_error(&context, &error);
            ExitCode::from(2)
        }
    }
}

fn report_error(context: &Context, error: &CliError) {
    context.err(&format!("error: {error}"));
    if let CliError::Registry(RegistryError::Load { error, .. }) = error {
        if context.verbose {
            context.err(&format!("\n{}", error.detail));
        } else {
            context.err("  (run with --verbose for abi_stable's full report)");
        }
    }
}
