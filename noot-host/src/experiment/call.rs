//! One call of a command experiment: plan, run the branches, compare,
//! scrub, log, observe.
//!
//! Each branch is the command with its variant's fields filled in, started
//! through the `Procs` port (its own process group, a deadline, output
//! read on background threads) with `NOOT_CONFIG` (the config as JSON),
//! `NOOT_CONFIG_ID` and `NOOT_METRICS_FILE` in its environment, and a copy
//! of noot's stdin if noot was given one. At most `jobs` branches run at
//! once, returned ones first. A single returned branch may stream its
//! stdout and stderr live to noot's own; background branches never reach
//! them. Returned branches run under `timeout`, background ones under
//! `shadow_timeout`, after which their process group is killed and the
//! branch is logged as timed out. With `--detach-shadows` the background
//! branches go to a helper instead (see [`crate::experiment::detach`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, mpsc};
use std::time::Duration;

use noot_plugin_api::StrategyBox;
use serde_json::Value;

use crate::config::experiment::ExperimentSettings;
use crate::engine::ports::Ports;
use crate::engine::procs::{Keep, LiveOutput, ProcStatus, SpawnRequest};
use crate::experiment::branch::{Finished, Settle, reference_among, settle};
use crate::experiment::detach::{self, Helper};
use crate::experiment::log::BranchLog;
use crate::experiment::pool::{Pool, Variant};
use crate::experiment::record::{
    BranchRecord, BranchStatus, ExceptionInfo, Role, exception_from_stderr, rfc3339,
};
use crate::experiment::state::{StateError, StateFile};
use crate::experiment::template::{Template, render_command};
use crate::scrub::ScrubPipeline;

/// Bytes of a returned branch's stdout kept when it is not streamed.
pub const RETURNED_OUTPUT_CAP: usize = 64 * 1024 * 1024;

/// Everything a call needs that does not change from call to call.
pub struct CallSetup<'a> {
    /// The experiment's name.
    pub name: &'a str,
    /// Its settings.
    pub settings: &'a ExperimentSettings,
    /// Its variants.
    pub pool: &'a Pool,
    /// The configured primary's id, resolved.
    pub primary: Option<String>,
    /// The command, parsed.
    pub command: &'a [Template],
    /// Where the command runs.
    pub cwd: PathBuf,
    /// `.noot/experiments/NAME`.
    pub dir: &'a Path,
    /// The ports.
    pub ports: &'a Ports,
    /// The scrubbers.
    pub scrub: &'a ScrubPipeline,
    /// Branches at once.
    pub jobs: usize,
    /// noot's stdin, given to every branch.
    pub stdin: Option<Vec<u8>>,
    /// Where a single returned branch streams (stdout, stderr).
    pub live: Option<(LiveOutput, LiveOutput)>,
    /// Set by Ctrl-C.
    pub interrupted: &'a AtomicBool,
    /// Run background branches in a detached helper instead of waiting.
    pub detach: Option<Helper>,
}

impl CallSetup<'_> {
    /// How the branches of a call are compared, scrubbed and observed.
    pub(crate) fn settling<'s>(
        &'s self,
        state: &'s StateFile<'s>,
        strategy_name: &'s str,
    ) -> Settle<'s> {
        Settle {
            primary: self.primary.as_deref(),
            compare: &self.settings.compare,
            scrub: self.scrub,
            state,
            strategy_name,
        }
    }
}

/// A branch after the call.
#[derive(Debug, Clone)]
pub struct BranchResult {
    /// The logged (scrubbed) record.
    pub record: BranchRecord,
    /// The stdout noot kept, unscrubbed: what a returned branch gives the
    /// caller (empty if it was streamed).
    pub stdout: Vec<u8>,
}

/// What one call did.
#[derive(Debug, Clone)]
pub struct CallReport {
    /// The call number.
    pub call: u64,
    /// Returned branches first (plan order), then background ones.
    pub branches: Vec<BranchResult>,
    /// Background variants handed to a detached helper (not in `branches`).
    pub detached: Vec<Variant>,
    /// Whether the returned branch streamed its output.
    pub streamed: bool,
    /// The exit code the call earns.
    pub exit_code: u8,
    /// Logging or strategy problems (the branches themselves are logged).
    pub problems: Vec<String>,
}

/// The exit code a returned branch stands for, `timeout`-style.
pub fn exit_code_of(record: &BranchRecord) -> u8 {
    match record.status {
        BranchStatus::Success => 0,
        BranchStatus::Skipped | BranchStatus::Interrupted => 130,
        BranchStatus::Failed => {
            if record.timed_out {
                124
            } else if let Some(signal) = record.signal {
                u8::try_from(128 + signal).unwrap_or(255)
            } else if let Some(code) = record.exit_code {
                u8::try_from(code).ok().filter(|&c| c != 0).unwrap_or(1)
            } else if record.exception.as_ref().is_some_and(|e| e.kind == "spawn") {
                127
            } else {
                1
            }
        }
    }
}

struct Slots {
    free: Mutex<usize>,
    ready: Condvar,
}

impl Slots {
    fn take(&self, interrupted: &AtomicBool) -> bool {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if interrupted.load(Ordering::SeqCst) {
                return false;
            }
            if *free > 0 {
                *free -= 1;
                return true;
            }
            free = self
                .ready
                .wait_timeout(free, Duration::from_millis(50))
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    fn give(&self) {
        *self.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.ready.notify_one();
    }
}

/// Runs one call.
pub fn run_call(
    setup: &CallSetup<'_>,
    strategy_name: &str,
    strategy: &mut StrategyBox,
    state: &StateFile<'_>,
    log: &mut BranchLog,
) -> Result<CallReport, StateError> {
    let (call, plan) = state.plan_call(
        setup.name,
        strategy_name,
        strategy,
        &setup.pool.ids(),
        setup.primary.as_deref(),
    )?;
    let planned = setup.pool.planned(&plan);
    let mut problems = Vec::new();
    let tmp = setup.dir.join("tmp");
    if let Err(e) = setup.ports.fs.create_dir_all(&tmp) {
        problems.push(format!("cannot create {} for the metrics files: {e}", tmp.display()));
    }
    let (here, detached) = match &setup.detach {
        Some(helper) => detach::split(setup, helper, strategy_name, call, &planned, &mut problems),
        None => (planned.clone(), Vec::new()),
    };
    let returned = here.iter().filter(|(_, r)| *r == Role::Primary).count();
    let stream = returned == 1 && setup.live.is_some();
    let (mut branches, stdouts): (Vec<Finished>, Vec<Vec<u8>>) =
        run_branches(setup, strategy_name, call, &here, stream).into_iter().unzip();
    if !detached.is_empty() {
        // A primary cut short is no reference: the helper compares nothing.
        let reference = reference_among(&branches, setup.primary.as_deref())
            .map(|i| &branches[i])
            .filter(|primary| primary.record.comparable());
        let interrupted = setup.interrupted.load(Ordering::SeqCst);
        if let Err(error) = detach::hand_over(setup, call, reference, interrupted) {
            problems.push(format!(
                "cannot give the detached shadows of call {call} the primary's result ({error}); they are logged without a comparison"
            ));
        }
    }

    problems.extend(settle(&mut branches, &setup.settling(state, strategy_name), strategy, log));
    let exit_code = branches
        .iter()
        .filter(|b| b.record.role == Role::Primary)
        .map(|b| exit_code_of(&b.record))
        .find(|&code| code != 0)
        .unwrap_or(0);
    let branches = branches
        .into_iter()
        .zip(stdouts)
        .map(|(branch, stdout)| BranchResult { record: branch.record, stdout })
        .collect();
    Ok(CallReport { call, branches, detached, streamed: stream, exit_code, problems })
}

/// Runs `planned` branches at most `jobs` at a time, returned ones first
/// as planned, and waits for all of them; Ctrl-C (or whatever sets
/// `setup.interrupted`) kills every group once and skips what has not
/// started. Gives each branch's result and the stdout kept for the caller.
pub(crate) fn run_branches(
    setup: &CallSetup<'_>,
    strategy_name: &str,
    call: u64,
    planned: &[(&Variant, Role)],
    stream: bool,
) -> Vec<(Finished, Vec<u8>)> {
    let slots = Slots { free: Mutex::new(setup.jobs.max(1)), ready: Condvar::new() };
    let (done_tx, done_rx) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let handles: Vec<_> = planned
            .iter()
            .map(|(variant, role)| {
                let slots = &slots;
                let done = done_tx.clone();
                let live = if stream && *role == Role::Primary { setup.live.clone() } else { None };
                scope.spawn(move || {
                    let result = if slots.take(setup.interrupted) {
                        let result = run_branch(setup, strategy_name, call, variant, *role, live);
                        slots.give();
                        result
                    } else {
                        skipped(setup, strategy_name, call, variant, *role)
                    };
                    let _ = done.send(());
                    result
                })
            })
            .collect();
        // Wait for the branches, waking at once when one ends (a branch's
        // end is on the latency path of every call) and now and then to
        // notice Ctrl-C: then every group is killed, once.
        let mut remaining = planned.len();
        let mut killed = false;
        while remaining > 0 {
            match done_rx.recv_timeout(Duration::from_millis(50)) {
                Ok(()) => remaining -= 1,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if !killed && setup.interrupted.load(Ordering::SeqCst) {
                setup.ports.procs.kill_all();
                killed = true;
            }
        }
        handles
            .into_iter()
            .zip(planned)
            .map(|(handle, (variant, role))| {
                handle
                    .join()
                    .unwrap_or_else(|_| skipped(setup, strategy_name, call, variant, *role))
            })
            .collect()
    })
}

fn skipped(
    setup: &CallSetup<'_>,
    strategy: &str,
    call: u64,
    variant: &Variant,
    role: Role,
) -> (Finished, Vec<u8>) {
    let now = setup.ports.clock.now_unix_ms();
    let mut record = BranchRecord::planned(setup.name, call, variant, strategy, role);
    record.started_at = rfc3339(now);
    record.ended_at = rfc3339(now);
    record.exception = Some(ExceptionInfo {
        kind: "interrupted".into(),
        message: "noot was interrupted before this branch started".into(),
        traceback: None,
    });
    let finished =
        Finished { record, result_digest: [0; 32], started_unix_ms: now, ended_unix_ms: now };
    (finished, Vec::new())
}

fn tail_text(bytes: &[u8], cap: usize) -> (String, bool) {
    let start = bytes.len().saturating_sub(cap);
    let mut text = String::from_utf8_lossy(&bytes[start..]).into_owned();
    // Cutting inside a UTF-8 sequence leaves a replacement character first.
    if start > 0 && text.starts_with('\u{fffd}') {
        text.remove(0);
    }
    (text, start > 0)
}

fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGPIPE => "SIGPIPE",
        _ => return format!("signal {signal}"),
    };
    format!("signal {signal} ({name})")
}

fn run_branch(
    setup: &CallSetup<'_>,
    strategy: &str,
    call: u64,
    variant: &Variant,
    role: Role,
    live: Option<(LiveOutput, LiveOutput)>,
) -> (Finished, Vec<u8>) {
    let clock = &setup.ports.clock;
    let started_unix_ms = clock.now_unix_ms();
    let started_mono = clock.monotonic_ms();
    let mut record = BranchRecord::planned(setup.name, call, variant, strategy, role);
    record.started_at = rfc3339(started_unix_ms);
    let tail = setup.settings.tail_bytes;
    let metrics_file = setup.dir.join("tmp").join(format!(
        "metrics-{}-{call}-{}.json",
        std::process::id(),
        variant.id
    ));
    let fs = &setup.ports.fs;
    let deadline_secs = match role {
        Role::Primary => setup.settings.timeout_secs,
        Role::Background => Some(setup.settings.shadow_timeout_secs),
    };

    let mut digest = *blake3::hash(b"").as_bytes();
    let mut stdout = Vec::new();
    let outcome = render_command(setup.command, &variant.config)
        .map_err(|field| format!("the command reads `{{{field}}}`, which this variant lacks"))
        .and_then(|argv| {
            let (program, args) =
                argv.split_first().ok_or_else(|| "the command is empty".to_string())?;
            let streamed = live.is_some();
            let request = SpawnRequest {
                program: program.clone(),
                args: args.to_vec(),
                env: vec![
                    ("NOOT_CONFIG".into(), variant.config.to_string()),
                    ("NOOT_CONFIG_ID".into(), variant.id.clone()),
                    ("NOOT_METRICS_FILE".into(), metrics_file.display().to_string()),
                    ("NOOT_EXPERIMENT".into(), setup.name.to_string()),
                    ("NOOT_CALL".into(), call.to_string()),
                    ("NOOT_ROLE".into(), role.as_str().into()),
                ],
                cwd: Some(setup.cwd.clone()),
                stdin: setup.stdin.clone(),
                // A returned branch that does not stream is the caller's
                // result: keep it whole (up to a generous cap). Otherwise
                // only the tail the log wants.
                output_cap_bytes: if role == Role::Primary && !streamed {
                    RETURNED_OUTPUT_CAP
                } else {
                    tail
                },
                keep: if role == Role::Primary && !streamed { Keep::Head } else { Keep::Tail },
                stdout_live: live.as_ref().map(|(out, _)| out.clone()),
                stderr_live: live.as_ref().map(|(_, err)| err.clone()),
                ..SpawnRequest::default()
            };
            let handle = setup
                .ports
                .procs
                .spawn(&request)
                .map_err(|e| format!("cannot start `{program}`: {e}"))?;
            let deadline_ms = deadline_secs.map(|s| (s * 1000.0) as u64);
            setup
                .ports
                .procs
                .wait(handle, deadline_ms)
                .map_err(|e| format!("lost `{program}`: {e}"))
        });
    let ended_unix_ms = clock.now_unix_ms();
    record.ended_at = rfc3339(ended_unix_ms);
    record.duration_ms = clock.monotonic_ms().saturating_sub(started_mono);

    match outcome {
        Err(message) => {
            record.status = BranchStatus::Failed;
            record.exception =
                Some(ExceptionInfo { kind: "spawn".into(), message, traceback: None });
        }
        Ok(result) => {
            digest = result.stdout_digest;
            let (out_tail, out_cut) = tail_text(&result.stdout, tail);
            let (err_tail, err_cut) = tail_text(&result.stderr, tail);
            record.stdout_tail = out_tail;
            record.stderr_tail = err_tail;
            record.stdout_truncated = out_cut || result.stdout_truncated;
            record.stderr_truncated = err_cut || result.stderr_truncated;
            if role == Role::Primary && live.is_none() {
                stdout = result.stdout;
            }
            let interrupted = setup.interrupted.load(Ordering::SeqCst);
            match result.status {
                ProcStatus::Exited(0) => {
                    record.status = BranchStatus::Success;
                    record.exit_code = Some(0);
                }
                ProcStatus::Exited(code) => {
                    record.status = BranchStatus::Failed;
                    record.exit_code = Some(code);
                    record.exception = Some(exception_from_stderr(
                        &record.stderr_tail,
                        "exit",
                        format!("exited with code {code}"),
                    ));
                }
                ProcStatus::Signaled(signal) => {
                    record.signal = Some(signal);
                    // noot killed it: not a failure of the variant.
                    let (status, kind, message) = if interrupted {
                        (
                            BranchStatus::Interrupted,
                            "interrupted",
                            "killed because noot was interrupted".to_string(),
                        )
                    } else {
                        (
                            BranchStatus::Failed,
                            "signal",
                            format!("killed by {}", signal_name(signal)),
                        )
                    };
                    record.status = status;
                    record.exception =
                        Some(exception_from_stderr(&record.stderr_tail, kind, message));
                }
                ProcStatus::TimedOut => {
                    record.status = BranchStatus::Failed;
                    record.timed_out = true;
                    let secs = deadline_secs.unwrap_or_default();
                    let which = if role == Role::Background { "shadow_timeout" } else { "timeout" };
                    record.exception = Some(ExceptionInfo {
                        kind: "timeout".into(),
                        message: format!("ran past its {which} of {secs} s and was killed"),
                        traceback: None,
                    });
                }
            }
        }
    }
    read_metrics(fs.as_ref(), &metrics_file, &mut record);
    let finished = Finished { record, result_digest: digest, started_unix_ms, ended_unix_ms };
    (finished, stdout)
}

/// Reads and removes the metrics file a branch may have written.
fn read_metrics(fs: &dyn crate::engine::ports::Fs, path: &Path, record: &mut BranchRecord) {
    let Ok(bytes) = fs.read(path) else { return };
    let _ = fs.remove_file(path);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => record.metrics = map,
        Ok(other) => {
            record.metrics_error = Some(format!(
                "NOOT_METRICS_FILE must hold a JSON object such as {{\"score\": 0.9}}, not {}",
                match other {
                    Value::Array(_) => "a list",
                    Value::String(_) => "a string",
                    Value::Number(_) => "a number",
                    _ => "a scalar",
                }
            ));
        }
        Err(e) => record.metrics_error = Some(format!("NOOT_METRICS_FILE is not valid JSON: {e}")),
    }
}
