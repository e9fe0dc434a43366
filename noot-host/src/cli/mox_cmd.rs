//! `noot mox run | serve | verify`: command doubles from the shell.
//!
//! Each command parses its scenario, starts a controller through
//! [`crate::mox::setup`] with the shim backend the configuration chooses,
//! and renders what comes back: the verdict on stdout (human text, or one
//! JSON document), diagnostics on stderr. Whatever way it ends, the
//! controller's folder is removed and every process a `run` handler started
//! is killed.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::cli::{CliError, Context, Format, Outcome, interrupt};
use crate::config::{ConfigError, Location};
use crate::mox::run::{Ended, run_command};
use crate::mox::scenario::{self, Scenario};
use crate::mox::serve::{ServeEnd, Watch, linger, serve, shell_exports};
use crate::mox::{Setup, backend, setup};

/// The version of `noot mox run --format json` and `noot mox serve --format json`.
pub const MOX_SCHEMA_VERSION: u32 = noot_mox::report::REPORT_SCHEMA_VERSION;

pub(crate) const EXAMPLES: &str = "\
Examples:
  Run a script with the doubles of a scenario on its PATH, then verify:
      noot mox run --scenario doubles.toml -- ./deploy.sh prod
  The journal and the verdict as one JSON document:
      noot mox run --scenario doubles.toml --format json -- make release
  A controller for a bats, Go or Node harness (its shell exports the env):
      eval \"$(noot mox serve --scenario doubles.toml --daemon --watch-pid $$)\"
      ./code-under-test.sh
      noot mox verify          # prints the report; exit 1 on any failure
  Record what git and gh really do, scrubbed, then replay it without them:
      noot mox record --output fixtures/release.json --cmd git --cmd gh -- ./release.sh v1.2.0
      noot mox replay --fixture fixtures/release.json -- ./release.sh v1.2.0
  Gate committed fixtures in CI:
      noot mox validate 'fixtures/**/*.json' && noot mox scrub fixtures/*.json

Exit codes: `run` exits 1 when verification fails, else with the command's
own code (130 after Ctrl-C, 143 after SIGTERM); `verify` exits 1 on failures; 2 is for bad
scenarios, missing launchers and unreachable controllers.";

#[derive(Debug, Subcommand)]
pub(crate) enum MoxCommand {
    /// Run a command with the scenario's doubles on its PATH, then verify them.
    Run(RunArgs),
    /// Serve the scenario's doubles for a harness; print the environment to export.
    Serve(ServeArgs),
    /// Ask the controller in NOOT_MOX_SOCKET to verify; print its report.
    Verify(VerifyArgs),
    /// Run a command, recording what the named commands really did into a scrubbed fixture.
    Record(crate::cli::mox_fixture_cmd::RecordArgs),
    /// Run a command with a fixture's recordings answering, then verify.
    Replay(crate::cli::mox_fixture_cmd::ReplayArgs),
    /// Re-scrub fixtures in place; exit 1 if that changed any.
    Scrub(crate::cli::mox_fixture_cmd::ScrubArgs),
    /// Check fixture files (noot's, or cmd-mox's 1.0); exit 1 on any bad one.
    Validate(crate::cli::mox_fixture_cmd::ValidateArgs),
    /// Write a test module per fixture (pytest or Rust) that replays it and checks its outputs.
    GenerateTest(crate::cli::mox_fixture_cmd::GenerateArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The scenario file: [[mock]], [[stub]] and [[spy]] tables.
    #[arg(long, short = 's', value_name = "FILE")]
    scenario: PathBuf,
    /// The command under test and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The scenario file [default: none: a harness declares doubles over the socket].
    #[arg(long, short = 's', value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Serve in the background: print the environment and return at once.
    #[arg(long)]
    daemon: bool,
    /// Stop serving when this process exits [default with --daemon: the
    /// shell that ran noot, past any subshells of `$(…)` or a pipe].
    #[arg(long, value_name = "PID")]
    watch_pid: Option<i32>,
    /// Internal: the background half of --daemon.
    #[arg(long, hide = true)]
    detached_child: bool,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The controller's socket [default: $NOOT_MOX_SOCKET].
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
}

pub(crate) fn run(context: &Context, command: MoxCommand) -> Result<Outcome, CliError> {
    match command {
        MoxCommand::Run(args) => run_scenario(context, args),
        MoxCommand::Serve(args) => serve_scenario(context, args),
        MoxCommand::Verify(args) => verify(context, args),
        MoxCommand::Record(args) => crate::cli::mox_fixture_cmd::record(context, args),
        MoxCommand::Replay(args) => crate::cli::mox_fixture_cmd::replay(context, args),
        MoxCommand::Scrub(args) => crate::cli::mox_fixture_cmd::scrub(context, args),
        MoxCommand::Validate(args) => crate::cli::mox_fixture_cmd::validate_files(context, args),
        MoxCommand::GenerateTest(args) => {
            crate::cli::mox_fixture_cmd::generate_tests(context, args)
        }
    }
}

/// The scenario at `path` (none: no doubles), with a warning for each
/// doubled shell builtin.
pub(crate) fn scenario(context: &Context, path: Option<&Path>) -> Result<Scenario, CliError> {
    let scenario = match path {
        Some(path) => load_scenario(path)?,
        None => Scenario::default(),
    };
    warn_builtins(context, &scenario);
    Ok(scenario)
}

fn load_scenario(path: &Path) -> Result<Scenario, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::at(
            Location::Cli("--scenario".into()),
            format!("cannot read {}: {e}", path.display()),
        )
        .with_help("name a scenario TOML file; see \"Command doubles\" in the README")
    })?;
    Ok(scenario::parse(path, &text)?)
}

/// How a controller should record.
#[derive(Debug, Default)]
pub(crate) struct Recording {
    /// Write review files.
    pub review: bool,
    /// Variables every recording keeps.
    pub env: Vec<String>,
}

/// A controller for the scenario's doubles and whatever fixtures it will
/// record or replay, scrubbed by the `[scrub] scrubbers`.
pub(crate) fn start(context: &Context, scenario: &Scenario) -> Result<noot_mox::Mox, CliError> {
    start_recording(context, scenario, Recording::default())
}

/// A controller for the scenario's doubles alone (`noot mox run`): no
/// fixture, so no scrubber plugin is built.
fn start_without_fixtures(
    context: &Context,
    scenario: &Scenario,
) -> Result<noot_mox::Mox, CliError> {
    build(context, scenario, Recording::default(), false)
}

pub(crate) fn start_recording(
    context: &Context,
    scenario: &Scenario,
    recording: Recording,
) -> Result<noot_mox::Mox, CliError> {
    build(context, scenario, recording, true)
}

fn build(
    context: &Context,
    scenario: &Scenario,
    recording: Recording,
    fixtures: bool,
) -> Result<noot_mox::Mox, CliError> {
    let config = context.config()?;
    let registry = context.registry(&config)?;
    let backend = backend::choose(&registry, &config, &context.ports)?;
    let scrubber: Option<std::sync::Arc<dyn noot_mox::scrubbing::FixtureScrubber>> = if fixtures {
        let pipeline =
            crate::scrub::ScrubPipeline::from_config(&registry, &config, &context.ports)?;
        Some(std::sync::Arc::new(crate::mox::fixtures::PipelineScrubber(pipeline)))
    } else {
        None
    };
    let settings = Setup {
        backend,
        launcher: backend::launcher()?,
        timeout_secs: config.mox.timeout_secs,
        max_journal_entries: config.mox.max_journal_entries,
        scrubber,
        review: recording.review,
        record_env: config.mox.record_env.iter().cloned().chain(recording.env).collect(),
        record_prefixes: config.mox.record_prefixes.clone().into_iter().collect(),
    };
    setup(settings, scenario, context.ports.procs.clone())
        .map_err(|e| CliError::Usage(e.to_string()))
}

/// Commands POSIX shells run themselves: a script calling them never
/// reaches a shim on `PATH`.
const SHELL_BUILTINS: [&str; 13] = [
    "echo", "printf", "test", "[", "true", "false", "pwd", "cd", "read", "kill", "type", "command",
    "exec",
];

/// Warns about doubles a shell would bypass.
fn warn_builtins(context: &Context, scenario: &Scenario) {
    for decl in &scenario.doubles {
        if SHELL_BUILTINS.contains(&decl.command.as_str()) {
            context.err(&format!(
                "warning: {}: `{}` is a shell builtin: a shell script runs its own, not this double, unless it calls `env {}`",
                decl.location, decl.command, decl.command
            ));
        }
    }
}

fn run_scenario(context: &Context, args: RunArgs) -> Result<Outcome, CliError> {
    let scenario = scenario(context, Some(&args.scenario))?;
    let interrupted = interrupt::install();
    let mox = start_without_fixtures(context, &scenario)?;
    run_and_report(context, mox, &args.command, interrupted)
}

/// Runs `command` under `mox`, verifies, renders the verdict, and picks the
/// exit code: 130 after Ctrl-C, 1 when verification fails, else the
/// command's own.
pub(crate) fn run_and_report(
    context: &Context,
    mox: noot_mox::Mox,
    command: &[OsString],
    interrupted: &std::sync::atomic::AtomicBool,
) -> Result<Outcome, CliError> {
    let json = context.format == Format::Json;
    let ended = run_command(&mox, command, json, interrupted);
    // Handlers still running (a shim killed mid-call) die with the run.
    context.ports.procs.kill_all();
    let ended = ended.map_err(CliError::Usage)?;
    let outcome = mox.verify();
    let code = match (ended, &outcome) {
        (Ended::Interrupted, _) => interrupt::exit_code(),
        (_, Err(_)) => 1,
        (Ended::Exited(code), Ok(())) => code.clamp(0, 255) as u8,
    };
    if json {
        let mut document = mox.document_for(&outcome);
        if let Value::Object(map) = &mut document {
            let argv: Vec<String> =
                command.iter().map(|a| a.to_string_lossy().into_owned()).collect();
            let exit_code = match ended {
                Ended::Exited(code) => json!(code),
                Ended::Interrupted => Value::Null,
            };
            map.insert(
                "command".into(),
                json!({ "argv": argv, "exit_code": exit_code, "interrupted": ended == Ended::Interrupted }),
            );
        }
        context.out_json(&document);
    } else if ended == Ended::Interrupted {
        context.err("noot mox: interrupted; the command and everything it started were stopped");
    } else {
        context.out(&format!("{}\n", noot_mox::report::human(&outcome)));
    }
    mox.close();
    Ok(Outcome { code })
}

fn serve_scenario(context: &Context, args: ServeArgs) -> Result<Outcome, CliError> {
    if args.daemon && !args.detached_child {
        return daemonise(context, &args);
    }
    let scenario = scenario(context, args.scenario.as_deref())?;
    let interrupted = interrupt::install();
    let mox = start(context, &scenario)?;
    let vars = mox.env();
    if context.format == Format::Json {
        let env: serde_json::Map<String, Value> = vars
            .iter()
            .map(|(k, v)| {
                (k.to_string_lossy().into_owned(), Value::String(v.to_string_lossy().into_owned()))
            })
            .collect();
        context.out_json(&json!({
            "schema_version": MOX_SCHEMA_VERSION,
            "env": env,
            "pid": std::process::id(),
        }));
    } else {
        context.out(&shell_exports(&vars));
    }
    if args.detached_child {
        detach_stdio();
    }
    let watch = args.watch_pid.map_or(Watch::Nothing, Watch::Pid);
    let mut mox = mox;
    let end = serve(&mox, watch, interrupted);
    context.ports.procs.kill_all();
    if end == ServeEnd::Verified {
        mox.stop_server();
        linger(watch, interrupted);
    }
    let code = match end {
        ServeEnd::Verified => 0,
        ServeEnd::Interrupted => interrupt::exit_code(),
        ServeEnd::WatchedExited => {
            context
                .err("noot mox serve: the watched process exited before asking for verification");
            0
        }
    };
    mox.close();
    Ok(Outcome { code })
}

/// Points stdout and stderr at /dev/null, so a shell's `$(…)` that read
/// the exports sees end of file while the controller keeps serving.
fn detach_stdio() {
    let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else { return };
    let fd = std::os::fd::AsRawFd::as_raw_fd(&null);
    // SAFETY: dup2 onto descriptors 1 and 2, which this process owns.
    unsafe {
        libc::dup2(fd, 1);
        libc::dup2(fd, 2);
    }
}

/// `--daemon`: starts this same command as a detached child in its own
/// session, relays its exports (or its error) and returns.
fn daemonise(context: &Context, args: &ServeArgs) -> Result<Outcome, CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Usage(format!("cannot find noot itself: {e}")))?;
    let mut argv: Vec<OsString> = std::env::args_os().skip(1).filter(|a| a != "--daemon").collect();
    argv.push("--detached-child".into());
    if args.watch_pid.is_none() {
        argv.push("--watch-pid".into());
        argv.push(crate::mox::serve::harness_pid().to_string().into());
    }
    let mut command = std::process::Command::new(exe);
    command.args(&argv).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: setsid is async-signal-safe; the child leaves noot's session
    // and process group so the shell's job control does not touch it.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .map_err(|e| CliError::Usage(format!("cannot start the controller: {e}")))?;
    let mut err_pipe = child.stderr.take();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(pipe) = err_pipe.as_mut() {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    });
    let mut exports = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        let _ = pipe.read_to_string(&mut exports);
    }
    let errors = errors.join().unwrap_or_default();
    if exports.is_empty() {
        let status = child.wait().map_err(|e| CliError::Usage(e.to_string()))?;
        let text = errors.trim_end();
        let text = text.strip_prefix("error: ").unwrap_or(text);
        return Err(CliError::Usage(if text.is_empty() {
            format!("the controller exited ({status}) before it was ready")
        } else {
            text.to_string()
        }));
    }
    context.out(&exports);
    Ok(Outcome { code: 0 })
}

fn verify(context: &Context, args: VerifyArgs) -> Result<Outcome, CliError> {
    let socket = match args
        .socket
        .or_else(|| std::env::var_os(noot_mox::protocol::SOCKET_ENV).map(PathBuf::from))
    {
        Some(socket) => socket,
        None => {
            return Err(CliError::Usage(format!(
                "no controller to ask: {} is not set\n  help: run this in the environment `noot mox serve` printed, or pass --socket",
                noot_mox::protocol::SOCKET_ENV
            )));
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let reply = noot_mox::client::exchange(&socket, deadline, noot_mox::protocol::Request::Verify)
        .map_err(CliError::Usage)?;
    let noot_mox::protocol::Reply::Verified { ok, report, document } = reply else {
        return Err(CliError::Usage(format!(
            "the controller at {} did not answer a verify request",
            socket.display()
        )));
    };
    if context.format == Format::Json {
        context.out_json(&document);
    } else {
        context.out(&format!("{report}\n"));
    }
    Ok(Outcome { code: if ok { 0 } else { 1 } })
}
