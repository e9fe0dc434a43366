//! `noot mox`: command doubles from the shell, over the noot-mox library.
//!
//! A scenario file ([`scenario`]) declares the doubles; [`setup`] starts a
//! controller with the shim backend the configuration chooses ([`backend`])
//! and registers them; [`run`] runs a command under it and [`serve`] keeps
//! it up for a harness in another language until that harness asks for
//! verification over the socket.

pub mod backend;
pub mod fixtures;
pub mod generate;
pub mod run;
pub mod scenario;
pub mod serve;

use std::sync::Arc;
use std::time::Duration;

use noot_mox::{Call, Mox, MoxError, Response};

use crate::engine::ports::Procs;
use crate::engine::procs::{ProcStatus, SpawnRequest};
use scenario::{Answer, Scenario};

/// Whether noot was started as a command double's shim: by the script
/// backend's `noot --as NAME`, or through a symlink named like the command
/// while a controller's socket is set. noot is its own launcher when
/// `noot-shim` is not installed beside it.
pub fn acts_as_shim(args: &[std::ffi::OsString]) -> bool {
    if args.get(1).is_some_and(|a| a == "--as") {
        return true;
    }
    let name = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    !name.is_empty()
        && !name.starts_with("noot")
        && !name.starts_with("cargo-noot")
        && std::env::var_os(noot_mox::protocol::SOCKET_ENV).is_some()
}

/// Settings a controller starts with.
pub struct Setup {
    /// The backend.
    pub backend: noot_mox::Backend,
    /// The launcher.
    pub launcher: std::path::PathBuf,
    /// `[mox] timeout`.
    pub timeout_secs: Option<f64>,
    /// `[mox] max_journal_entries`.
    pub max_journal_entries: Option<usize>,
    /// The `[scrub] scrubbers`, for recordings and replays (none: the
    /// library's `default`, built only if something is scrubbed).
    pub scrubber: Option<Arc<dyn noot_mox::scrubbing::FixtureScrubber>>,
    /// Write a review file beside each recorded fixture.
    pub review: bool,
    /// Variables every recording keeps.
    pub record_env: Vec<String>,
    /// Per command, the prefix of the variables its recordings keep.
    pub record_prefixes: Vec<(String, String)>,
}

/// Starts a controller and registers the scenario's doubles.
pub fn setup(setup: Setup, scenario: &Scenario, procs: Arc<dyn Procs>) -> Result<Mox, MoxError> {
    let mut builder = Mox::builder()
        .backend(setup.backend)
        .launcher(setup.launcher)
        .review(setup.review)
        .record_allowlist(setup.record_env)
        .record_prefixes(setup.record_prefixes);
    if let Some(scrubber) = setup.scrubber {
        builder = builder.scrubber(scrubber);
    }
    if let Some(secs) = setup.timeout_secs {
        builder = builder.timeout(Duration::from_secs_f64(secs));
    }
    if let Some(limit) = setup.max_journal_entries {
        builder = builder.max_journal_entries(limit);
    }
    let mox = builder.build()?;
    // noot verifies (or hands verification to a harness) itself: a
    // controller dropped on an error path is not a forgotten verify.
    mox.mark_verified();
    for decl in &scenario.doubles {
        let mut double = mox.try_double(decl.kind, &decl.command)?;
        if let Some(args) = &decl.args {
            double = double.with_args(args.clone());
        }
        if let Some(stdin) = &decl.stdin {
            double = double.with_stdin(stdin.clone());
        }
        if !decl.env.is_empty() {
            double = double.with_env(decl.env.clone());
        }
        double = match &decl.answer {
            Answer::Respond { stdout, stderr, exit_code } => {
                double.returns(Response::new(stdout.clone(), stderr.clone(), *exit_code))
            }
            Answer::Passthrough => double.passthrough(),
            Answer::Run { argv, timeout_secs, base } => {
                let handler =
                    command_handler(argv.clone(), *timeout_secs, base.clone(), procs.clone());
                double.runs_fallible(handler)
            }
        };
        double = match decl.times {
            Some(noot_mox::Times::Exactly(n)) => double.times(n),
            Some(noot_mox::Times::AtLeast(n)) => double.at_least(n),
            None => double,
        };
        if decl.ordered {
            double.in_order();
        }
    }
    Ok(mox)
}

/// The most a `run` handler's stdout or stderr may hold.
const HANDLER_OUTPUT_CAP: usize = 64 * 1024 * 1024;

/// A handler that runs `argv` plus the call's arguments, with the call's
/// stdin, environment and working directory, and answers with its result.
/// It sees the original `PATH` (without the shims), so a handler may run the
/// real command it stands in for.
fn command_handler(
    argv: Vec<String>,
    timeout_secs: f64,
    base: std::path::PathBuf,
    procs: Arc<dyn Procs>,
) -> impl Fn(&Call) -> Result<Response, String> + Send + Sync + 'static {
    move |call: &Call| {
        let mut env = call.env.clone();
        if let Some(socket) = env.remove(noot_mox::protocol::SOCKET_ENV) {
            let shims = std::path::Path::new(&socket).parent().unwrap_or(std::path::Path::new("/"));
            let path = env.get("PATH").cloned().unwrap_or_default();
            let path = noot_mox::shims::path_without(std::ffi::OsStr::new(&path), shims);
            env.insert("PATH".into(), path.to_string_lossy().into_owned());
        }
        // The scenario parser refuses an empty `run`.
        let Some((program, first_args)) = argv.split_first() else {
            return Err("`run` names no program".to_string());
        };
        let program = if program.contains('/') {
            base.join(program).to_string_lossy().into_owned()
        } else {
            program.clone()
        };
        let mut args: Vec<String> = first_args.to_vec();
        args.extend(call.args.iter().map(|a| a.lossy().into_owned()));
        let request = SpawnRequest {
            program,
            args,
            clear_env: true,
            env: env.into_iter().collect(),
            cwd: (!call.cwd.is_empty()).then(|| std::path::PathBuf::from(&call.cwd)),
            stdin: Some(call.stdin.as_ref().map(|s| s.0.clone()).unwrap_or_default()),
            output_cap_bytes: HANDLER_OUTPUT_CAP,
            ..SpawnRequest::default()
        };
        let deadline = (timeout_secs * 1000.0) as u64;
        match procs.spawn(&request).and_then(|handle| procs.wait(handle, Some(deadline))) {
            Ok(result) => {
                let exit_code = match result.status {
                    ProcStatus::Exited(code) => code,
                    ProcStatus::Signaled(signal) => 128 + signal,
                    ProcStatus::TimedOut => {
                        return Err(format!(
                            "`{}` ran past its run_timeout of {timeout_secs} s and was killed",
                            argv.join(" ")
                        ));
                    }
                };
                Ok(Response::new(result.stdout, result.stderr, exit_code))
            }
            Err(e) => Err(format!("cannot run `{}`: {e}", argv.join(" "))),
        }
    }
}
