//! `noot experiment list | run | show | strategies`.

use std::ffi::OsString;
use std::io::{IsTerminal, Read};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::cli::{CliError, Context, Format, Outcome, interrupt};
use crate::config::{Config, ConfigError};
use crate::engine::procs::LiveOutput;
use crate::experiment::call::{CallReport, CallSetup, run_call};
use crate::experiment::detach::{self, Helper};
use crate::experiment::log::read_records;
use crate::experiment::mlflow::MlflowClient;
use crate::experiment::pool::{self, command_templates};
use crate::experiment::prepare::{PrepareError, Prepared, prepare, settings};
use crate::experiment::record::{BranchRecord, BranchStatus, Role, rfc3339};
use crate::experiment::state::{StateFile, experiment_dir};
use crate::experiment::summary::{ExperimentSummary, account_calls, summarise};
use crate::experiment::sync::{SyncReport, sync};
use crate::experiment::template::Template;

/// The version of `noot experiment run --format json`. 2: its branches
/// are version 2 records (see [`crate::experiment::record::RECORD_SCHEMA_VERSION`]).
pub const RUN_SCHEMA_VERSION: u32 = 2;
/// The version of `noot experiment list --format json`.
pub const LIST_SCHEMA_VERSION: u32 = 1;

pub(crate) const EXAMPLES: &str = "\
Examples:
  What experiments noot.toml defines, with their pools:
      noot experiment list
  One call of `summarise` (its strategy picks the variants):
      noot experiment run summarise < article.txt
  Ten calls, three branches at a time:
      noot experiment run summarise --calls 10 --jobs 3
  Every call so far, per variant:
      noot experiment show summarise
  The strategies this noot knows (built-in and from [plugins] paths):
      noot experiment strategies
  Send MLflow the records it missed while it was down:
      noot experiment sync summarise

The returned branch's exit code becomes noot's (124 after its timeout,
128+N after signal N); noot's own errors exit 2 and start with `error:`.";

#[derive(Debug, Subcommand)]
pub(crate) enum ExperimentCommand {
    /// The experiments in noot.toml: strategy, variants, calls so far.
    List,
    /// Run calls of an experiment: its strategy picks the branches, every branch is logged.
    Run(RunArgs),
    /// Per variant: runs, success rate, median duration, metric means, mismatches; and calls
    /// still running or started but never recorded.
    Show {
        /// The experiment.
        name: String,
    },
    /// Every strategy plugin, built-in and third-party.
    Strategies,
    /// Send MLflow the branch records it missed (while it was down, say).
    Sync {
        /// The experiment.
        name: String,
        /// Only say what would be sent.
        #[arg(long)]
        dry_run: bool,
    },
    /// The detached helper of one call (started by `run --detach-shadows`).
    #[command(hide = true)]
    RunDetachedShadows {
        /// The experiment.
        name: String,
        /// The call whose shadows to run.
        #[arg(long)]
        call: u64,
    },
}

/// Arguments of `noot experiment run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The experiment, as named in [experiment.NAME].
    name: String,
    /// How many calls to make, one after the other.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    calls: u64,
    /// Return when the returned branches end: background branches (shadows) go on in a
    /// detached noot that logs them (as `detach_shadows = true` does).
    #[arg(long)]
    detach_shadows: bool,
}

pub(crate) fn run(context: &Context, command: ExperimentCommand) -> Result<Outcome, CliError> {
    match command {
        ExperimentCommand::List => list(context),
        ExperimentCommand::Run(args) => run_experiment(context, args),
        ExperimentCommand::Show { name } => show(context, &name),
        ExperimentCommand::Strategies => strategies(context),
        ExperimentCommand::Sync { name, dry_run } => sync_mlflow(context, &name, dry_run),
        ExperimentCommand::RunDetachedShadows { name, call } => {
            run_detached_shadows(context, &name, call)
        }
    }
}

impl From<PrepareError> for CliError {
    fn from(error: PrepareError) -> Self {
        match error {
            PrepareError::Config(e) => CliError::Config(e),
            PrepareError::Registry(e) => CliError::Registry(e),
        }
    }
}

#[derive(Serialize)]
struct ListedExperiment {
    name: String,
    strategy: String,
    command: Vec<String>,
    variants: Option<usize>,
    calls: u64,
    error: Option<String>,
}

fn list(context: &Context) -> Result<Outcome, CliError> {
    let config = context.config()?;
    let fs = context.ports.fs.as_ref();
    let rows: Vec<ListedExperiment> = config
        .experiments
        .iter()
        .map(|(name, settings)| {
            let loaded = pool::load(fs, &config.root, name, settings);
            let calls = StateFile::new(fs, experiment_dir(&config.root, name))
                .read()
                .map_or(0, |s| s.calls);
            ListedExperiment {
                name: name.clone(),
                strategy: settings.strategy.clone(),
                command: settings.command.clone(),
                variants: loaded.as_ref().ok().map(|p| p.variants.len()),
                calls,
                error: loaded.err().map(|e| e.to_string()),
            }
        })
        .collect();
    if context.format == Format::Json {
        #[derive(Serialize)]
        struct Doc<'a> {
            schema_version: u32,
            experiments: &'a [ListedExperiment],
        }
        context.out_json(&Doc { schema_version: LIST_SCHEMA_VERSION, experiments: &rows });
        return Ok(Outcome { code: 0 });
    }
    if rows.is_empty() {
        context.err("no experiments: add an [experiment.NAME] table to noot.toml (see the README's Experiments section)");
        return Ok(Outcome { code: 0 });
    }
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let mut out = format!(
        "{:width$}  {:14}  {:>8}  {:>6}  COMMAND\n",
        "NAME", "STRATEGY", "VARIANTS", "CALLS"
    );
    for row in &rows {
        let variants = row.variants.map_or_else(|| "error".to_string(), |n| n.to_string());
        out.push_str(&format!(
            "{:width$}  {:14}  {:>8}  {:>6}  {}\n",
            row.name,
            row.strategy,
            variants,
            row.calls,
            row.command.join(" ")
        ));
    }
    context.out(&out);
    for row in &rows {
        if let Some(error) = &row.error {
            context.err(&format!("error: experiment `{}`: {error}", row.name));
        }
    }
    Ok(Outcome { code: 0 })
}

/// noot's stdin, when it is a pipe or a file: every branch gets a copy.
fn read_stdin() -> Result<Option<Vec<u8>>, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    stdin
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::Usage(format!("cannot read stdin: {e}")))?;
    Ok(Some(bytes))
}

#[derive(Serialize)]
struct JsonBranch<'a> {
    #[serde(flatten)]
    record: &'a BranchRecord,
    /// The whole stdout of a returned branch (the caller's result).
    #[serde(skip_serializing_if = "Option::is_none")]
    stdout: Option<String>,
}

#[derive(Serialize)]
struct JsonCall<'a> {
    call: u64,
    exit_code: u8,
    branches: Vec<JsonBranch<'a>>,
    /// Shadows left running in a detached noot: their records appear in
    /// the log when they end.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    detached: Vec<DetachedShadow<'a>>,
}

#[derive(Serialize)]
struct DetachedShadow<'a> {
    config_id: &'a str,
    label: &'a str,
}

#[derive(Serialize)]
struct RunDocument<'a> {
    schema_version: u32,
    experiment: &'a str,
    strategy: &'a str,
    exit_code: u8,
    calls: Vec<JsonCall<'a>>,
    problems: Vec<String>,
}

fn seconds(ms: u64) -> String {
    format!("{:.2} s", ms as f64 / 1000.0)
}

fn one_line(record: &BranchRecord) -> String {
    let mut line = match record.status {
        BranchStatus::Success => format!("success in {}", seconds(record.duration_ms)),
        BranchStatus::Skipped => "skipped".to_string(),
        BranchStatus::Interrupted => {
            format!("interrupted after {} (not compared)", seconds(record.duration_ms))
        }
        BranchStatus::Failed => {
            let why = record
                .exception
                .as_ref()
                .map_or_else(String::new, |e| format!(": {}: {}", e.kind, e.message));
            format!("failed in {}{why}", seconds(record.duration_ms))
        }
    };
    match (record.matched, &record.mismatch) {
        (Some(true), _) => line.push_str(", matched"),
        (Some(false), Some(why)) => line.push_str(&format!(", MISMATCH ({why})")),
        _ => {}
    }
    line
}

fn render_call(context: &Context, report: &CallReport) {
    let returned: Vec<_> =
        report.branches.iter().filter(|b| b.record.role == Role::Primary).collect();
    if !report.streamed {
        for branch in &returned {
            let record = &branch.record;
            if returned.len() > 1 {
                context.out(&format!(
                    "── {} ({}): {}\n",
                    record.label,
                    record.config_id,
                    one_line(record)
                ));
            }
            let text = String::from_utf8_lossy(&branch.stdout);
            if !text.is_empty() {
                context.out(&text);
                if !text.ends_with('\n') && returned.len() > 1 {
                    context.out("\n");
                }
            }
        }
    }
    for branch in report.branches.iter().filter(|b| b.record.role == Role::Background) {
        let record = &branch.record;
        let notable = record.status != BranchStatus::Success || record.matched == Some(false);
        if notable || context.verbose {
            context.err(&format!(
                "noot: shadow {} ({}): {}",
                record.label,
                record.config_id,
                one_line(record)
            ));
        }
    }
    if context.verbose && !report.detached.is_empty() {
        context.err(&format!(
            "noot: call {}: {} shadow(s) go on detached; `noot experiment show` counts them when they end",
            report.call,
            report.detached.len()
        ));
    }
    if returned.len() == 1 && returned[0].record.status == BranchStatus::Failed {
        if let Some(exception) = &returned[0].record.exception {
            if exception.kind == "spawn" || exception.kind == "timeout" {
                context.err(&format!("noot: {}: {}", returned[0].record.label, exception.message));
            }
        }
    }
    for problem in &report.problems {
        context.err(&format!("warning: {problem}"));
    }
}

fn run_experiment(context: &Context, args: RunArgs) -> Result<Outcome, CliError> {
    let config: Config = context.config()?;
    let registry = context.registry(&config)?;
    let (prepared, mut stateful) = prepare(&config, &registry, &context.ports, &args.name)?;
    if prepared.settings.command.is_empty() {
        return Err(CliError::Config(crate::config::ConfigError {
            location: prepared.settings.location("table").cloned(),
            message: format!("experiment `{}` has no `command`", args.name),
            help: Some("add command = [\"program\", \"--flag\", \"{field}\"]; an experiment without one can only be run from Rust".into()),
        }));
    }
    for warning in &prepared.warnings {
        context.err(&format!("warning: {warning}"));
    }
    let interrupted = interrupt::install();
    let stdin = read_stdin()?;
    let templates = command_templates(&prepared.settings);
    let json = context.format == Format::Json;
    let live = (!json).then(|| {
        (
            LiveOutput(Arc::new(Mutex::new(std::io::stdout()))),
            LiveOutput(Arc::new(Mutex::new(std::io::stderr()))),
        )
    });
    let mut setup = call_setup(context, &config, &prepared, &templates, stdin, interrupted);
    setup.live = live;
    if args.detach_shadows || prepared.settings.detach_shadows {
        setup.detach = detached_helper(context, &config, &prepared.name);
    }
    let state = StateFile::new(context.ports.fs.as_ref(), prepared.dir.clone());
    let mut reports = Vec::new();
    let mut exit_code = 0u8;
    for _ in 0..args.calls {
        if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        let report = run_call(
            &setup,
            &prepared.settings.strategy,
            &mut stateful.strategy,
            &state,
            &mut stateful.log,
        )
        .map_err(|e| CliError::Usage(format!("experiment `{}`: {e}", prepared.name)))?;
        if !json {
            render_call(context, &report);
        }
        if exit_code == 0 {
            exit_code = report.exit_code;
        }
        reports.push(report);
    }
    if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
        exit_code = interrupt::exit_code();
    }
    if json {
        let problems = reports.iter().flat_map(|r| r.problems.iter().cloned()).collect();
        let calls = reports
            .iter()
            .map(|report| JsonCall {
                call: report.call,
                exit_code: report.exit_code,
                branches: report
                    .branches
                    .iter()
                    .map(|b| JsonBranch {
                        record: &b.record,
                        stdout: (b.record.role == Role::Primary)
                            .then(|| String::from_utf8_lossy(&b.stdout).into_owned()),
                    })
                    .collect(),
                detached: report
                    .detached
                    .iter()
                    .map(|v| DetachedShadow { config_id: &v.id, label: &v.label })
                    .collect(),
            })
            .collect();
        context.out_json(&RunDocument {
            schema_version: RUN_SCHEMA_VERSION,
            experiment: &prepared.name,
            strategy: &prepared.settings.strategy,
            exit_code,
            calls,
            problems,
        });
    }
    Ok(Outcome { code: exit_code })
}

/// What every call of `prepared` shares, with nothing streamed and
/// nothing detached.
fn call_setup<'a>(
    context: &'a Context,
    config: &Config,
    prepared: &'a Prepared,
    templates: &'a [Template],
    stdin: Option<Vec<u8>>,
    interrupted: &'a AtomicBool,
) -> CallSetup<'a> {
    CallSetup {
        name: &prepared.name,
        settings: &prepared.settings,
        pool: &prepared.pool,
        primary: prepared.pool.primary.clone(),
        command: templates,
        cwd: prepared
            .settings
            .cwd
            .as_ref()
            .map_or_else(|| config.root.clone(), |c| config.root.join(c)),
        dir: &prepared.dir,
        ports: &context.ports,
        scrub: &prepared.scrub,
        jobs: config.jobs,
        stdin,
        live: None,
        interrupted,
        detach: None,
    }
}

/// How this noot starts the helper of a detached call: the same binary,
/// configuration file, jobs and `--plugin` libraries. `None` (with a
/// warning: the shadows then run attached) if the binary cannot be found.
fn detached_helper(context: &Context, config: &Config, name: &str) -> Option<Helper> {
    let program = match std::env::current_exe() {
        Ok(program) => program,
        Err(e) => {
            context.err(&format!("warning: cannot find noot's own binary to detach the shadows ({e}); they run attached"));
            return None;
        }
    };
    let mut args: Vec<OsString> = Vec::new();
    if let Some(file) = &config.file {
        args.extend(["--config".into(), file.clone().into_os_string()]);
    }
    args.extend(["--jobs".into(), config.jobs.to_string().into()]);
    for plugin in &context.overrides.plugin_paths {
        args.extend(["--plugin".into(), plugin.clone().into_os_string()]);
    }
    args.extend(["experiment".into(), "run-detached-shadows".into(), name.into()]);
    Some(Helper { program, args })
}

/// The hidden command a detached helper runs. Its stderr is the
/// experiment's `detached.log`, so every line names the call.
fn run_detached_shadows(context: &Context, name: &str, call: u64) -> Result<Outcome, CliError> {
    let config = context.config()?;
    let registry = context.registry(&config)?;
    let (prepared, mut stateful) = prepare(&config, &registry, &context.ports, name)?;
    let signals = interrupt::install();
    let fs = context.ports.fs.as_ref();
    let (job, stdin) = detach::load_job(fs, &prepared.dir, call)
        .map_err(|e| CliError::Usage(format!("experiment `{name}` call {call}: {e}")))?;
    let templates = command_templates(&prepared.settings);
    let stop = AtomicBool::new(false);
    let setup = call_setup(context, &config, &prepared, &templates, stdin, &stop);
    let state = StateFile::new(fs, prepared.dir.clone());
    let problems = detach::run_shadows(
        &setup,
        &job,
        signals,
        &mut stateful.strategy,
        &state,
        &mut stateful.log,
    );
    let now = rfc3339(context.ports.clock.now_unix_ms());
    for problem in problems {
        context.err(&format!("{now} experiment `{name}` call {call}: warning: {problem}"));
    }
    Ok(Outcome { code: 0 })
}

/// `noot experiment sync NAME`: exits 2 if the experiment has no MLflow
/// server or the server fails (what was sent stays sent; run it again).
fn sync_mlflow(context: &Context, name: &str, dry_run: bool) -> Result<Outcome, CliError> {
    let config = context.config()?;
    let settings = settings(&config, name)?;
    let log = &settings.log;
    let not_set = |message: String, key: &str| {
        CliError::Config(ConfigError {
            location: settings.location(key).cloned(),
            message,
            help: Some("add \"mlflow\" to log.backends and set log.mlflow.tracking_uri (or MLFLOW_TRACKING_URI)".into()),
        })
    };
    if !log.wants("mlflow") {
        return Err(not_set(format!("experiment `{name}` does not log to mlflow"), "log.backends"));
    }
    let uri = log.tracking_uri(context.ports.env.var("MLFLOW_TRACKING_URI")).ok_or_else(|| {
        not_set(format!("experiment `{name}` names no MLflow server"), "log.backends")
    })?;
    let fs = context.ports.fs.as_ref();
    let dir = experiment_dir(&config.root, name);
    let (records, _) = read_records(fs, &dir).map_err(CliError::Usage)?;
    let client = MlflowClient::new(&uri, Duration::from_secs_f64(log.mlflow_timeout_secs));
    let report = sync(
        &client,
        &records,
        SyncReport {
            experiment: name.to_string(),
            mlflow_experiment: log.mlflow_experiment(name),
            tracking_uri: uri,
            dry_run,
            ..SyncReport::default()
        },
    );
    if context.format == Format::Json {
        context.out_json(&report);
    } else {
        let verb = if dry_run { "would send" } else { "sent" };
        for sent in &report.sent {
            context.out(&format!(
                "{verb} call {} {} ({}){}\n",
                sent.call,
                sent.label,
                sent.config_id,
                sent.run_id.as_ref().map_or_else(String::new, |id| format!(" as run {id}"))
            ));
        }
        context.err(&format!(
            "noot: {verb} {} of {} record(s) to MLflow experiment `{}` at {}; {} were there already",
            report.sent.len(),
            report.records,
            report.mlflow_experiment,
            report.tracking_uri,
            report.already_logged
        ));
    }
    match &report.error {
        Some(error) => {
            context.err(&format!("error: {error}"));
            context.err("  what was sent stays sent; run `noot experiment sync` again when the server answers");
            Ok(Outcome { code: 2 })
        }
        None => Ok(Outcome { code: 0 }),
    }
}

fn show(context: &Context, name: &str) -> Result<Outcome, CliError> {
    let config = context.config()?;
    let settings = settings(&config, name)?;
    let fs = context.ports.fs.as_ref();
    let pool = pool::load(fs, &config.root, name, settings).ok();
    let dir = experiment_dir(&config.root, name);
    // The state before the records: see account_calls.
    let state =
        StateFile::new(fs, dir.clone()).read().map_err(|e| CliError::Usage(e.to_string()))?;
    let (records, unreadable) = read_records(fs, &dir).map_err(CliError::Usage)?;
    let account =
        account_calls(&state, &records, settings.log.wants("jsonl"), detach::process_alive);
    let mut summary = summarise(name, &settings.strategy, pool.as_ref(), &records, unreadable)
        .with_calls(account);
    summary.detached_pending = detach::pending(fs, &dir, context.ports.clock.now_unix_ms());
    if context.format == Format::Json {
        context.out_json(&summary);
    } else {
        context.out(&render_summary(&summary));
        let pending = summary.detached_pending;
        if pending.running > 0 {
            context.err(&format!(
                "note: {} call(s) still have detached shadows running; their records are not in yet",
                pending.running
            ));
        }
        if pending.abandoned > 0 {
            context.err(&format!(
                "warning: {} call(s) had detached shadows whose helper ended without logging them (see {}); remove {} to forget them",
                pending.abandoned,
                detach::helper_log_path(&dir).display(),
                detach::pending_dir(&dir).display()
            ));
        }
        if !summary.calls_in_progress.is_empty() {
            context.err(&format!(
                "note: {} call(s) are running now ({}); their records are not in yet",
                summary.calls_in_progress.len(),
                call_list(&summary.calls_in_progress)
            ));
        }
        if let Some(lost) = summary.unrecorded_calls.as_ref().filter(|lost| !lost.is_empty()) {
            context.err(&format!(
                "warning: {} call(s) were started but never recorded (noot was killed during them, or could not write {}): {}",
                lost.len(),
                crate::experiment::log::branches_path(&dir).display(),
                call_list(lost)
            ));
        }
        if unreadable > 0 {
            context.err(&format!(
                "warning: {unreadable} line(s) of {} are not branch records and were skipped",
                crate::experiment::log::branches_path(&dir).display()
            ));
        }
    }
    Ok(Outcome { code: 0 })
}

/// `call 3` or `calls 3, 5, 6` (the first few of a long list, then how
/// many more: `--format json` has them all).
fn call_list(calls: &[u64]) -> String {
    const SHOWN: usize = 10;
    let mut numbers: Vec<String> = calls.iter().take(SHOWN).map(u64::to_string).collect();
    if calls.len() > SHOWN {
        numbers.push(format!("and {} more", calls.len() - SHOWN));
    }
    let noun = if calls.len() == 1 { "call" } else { "calls" };
    format!("{noun} {}", numbers.join(", "))
}

fn render_summary(summary: &ExperimentSummary) -> String {
    let mut out = format!(
        "experiment {} ({}): {} call(s), {} branch record(s)",
        summary.experiment, summary.strategy, summary.calls, summary.records
    );
    let interrupted: u64 = summary.variants.iter().map(|v| v.interrupted).sum();
    if interrupted > 0 {
        out.push_str(&format!(
            ", {interrupted} interrupted (killed when noot was; neither runs nor compared)"
        ));
    }
    out.push('\n');
    let width = summary.variants.iter().map(|v| v.label.chars().count()).max().unwrap_or(7).max(7);
    out.push_str(&format!(
        "{:12}  {:width$}  {:>4}  {:>7}  {:>9}  {:>10}  METRICS (mean)\n",
        "ID", "VARIANT", "RUNS", "SUCCESS", "MEDIAN", "MISMATCHES"
    ));
    for v in &summary.variants {
        let rate = v.success_rate.map_or_else(|| "-".to_string(), |r| format!("{:.0}%", r * 100.0));
        let median = v.median_duration_ms.map_or_else(|| "-".to_string(), seconds);
        let mismatches = if v.compared == 0 {
            "-".to_string()
        } else {
            format!("{}/{}", v.mismatches, v.compared)
        };
        let metrics: Vec<String> =
            v.metric_means.iter().map(|(k, m)| format!("{k}={}", round(*m))).collect();
        let label =
            if v.in_pool { v.label.clone() } else { format!("{} (left the pool)", v.label) };
        out.push_str(&format!(
            "{:12}  {:width$}  {:>4}  {:>7}  {:>9}  {:>10}  {}\n",
            v.config_id,
            label,
            v.runs,
            rate,
            median,
            mismatches,
            metrics.join(" ")
        ));
    }
    out
}

fn round(value: f64) -> String {
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() { "0".to_string() } else { text.to_string() }
}

fn strategies(context: &Context) -> Result<Outcome, CliError> {
    let config = context.config()?;
    let registry = context.registry(&config)?;
    let entries: Vec<_> =
        registry.entries().iter().filter(|e| e.kind == "strategy").cloned().collect();
    if context.format == Format::Json {
        #[derive(Serialize)]
        struct Doc<'a> {
            schema_version: u32,
            strategies: &'a [crate::plugins::PluginEntry],
        }
        context.out_json(&Doc { schema_version: LIST_SCHEMA_VERSION, strategies: &entries });
        return Ok(Outcome { code: 0 });
    }
    context.out(&crate::cli::plugins_cmd::table(&entries));
    Ok(Outcome { code: 0 })
}
