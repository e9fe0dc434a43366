//! `--detach-shadows`: the shadows of a call run in a helper noot that
//! outlives the invocation, so the caller gets the primary's result as
//! soon as the primary ends.
//!
//! The invoking noot plans the call, writes a job (`pending/call-N.json`,
//! plus a copy of its stdin), starts the helper in a session of its own
//! (Ctrl-C at the terminal and a closing terminal do not reach it) and runs
//! only the returned branches. When they end it hands over the primary's
//! result (`call-N.handover.json`: status, stdout digest, metrics, or that
//! it was interrupted). The helper runs the shadows through the same code
//! as an attached call, under `shadow_timeout`, waits for the handover to
//! compare them, scrubs, logs and tells the strategy, then removes the
//! call's pending files. An interrupted primary kills the shadows too; a
//! primary whose noot vanished without a handover leaves them uncompared.
//!
//! The helper's diagnostics go to `detached.log` next to the branch log;
//! `noot experiment show` counts calls still pending and abandoned ones.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use noot_plugin_api::StrategyBox;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::engine::ports::Fs;
use crate::engine::store::{Store, Versioned};
use crate::experiment::branch::{Finished, compare_all, record_all};
use crate::experiment::call::{CallSetup, run_branches};
use crate::experiment::log::BranchLog;
use crate::experiment::pool::Variant;
use crate::experiment::record::{BranchRecord, BranchStatus, Role, rfc3339};
use crate::experiment::state::StateFile;

/// How a detached call's helper is started: the noot binary and the
/// arguments before `--call N` (global options, then the hidden command).
#[derive(Debug, Clone)]
pub struct Helper {
    /// The noot binary.
    pub program: PathBuf,
    /// Its arguments, without `--call N`.
    pub args: Vec<OsString>,
}

/// What the helper of one call is asked to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// The experiment.
    pub experiment: String,
    /// The call.
    pub call: u64,
    /// The strategy that planned it.
    pub strategy: String,
    /// The invoking noot, whose handover the helper waits for.
    pub parent_pid: u32,
    /// When the job was written (Unix ms).
    pub created_unix_ms: u64,
    /// Whether `call-N.stdin` holds the branches' stdin.
    pub stdin: bool,
    /// The shadows.
    pub variants: Vec<Variant>,
}

impl Versioned for Job {
    const WHAT: &'static str = "detached call";
    const SCHEMA_VERSION: u32 = 1;
}

/// What the invoking noot tells the helper once its branches ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handover {
    /// noot was interrupted: the shadows are killed.
    pub interrupted: bool,
    /// The branch the shadows are compared with, if one ran.
    pub reference: Option<Reference>,
}

impl Versioned for Handover {
    const WHAT: &'static str = "detached call handover";
    const SCHEMA_VERSION: u32 = 1;
}

/// What comparison needs of the primary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// Its config id.
    pub config_id: String,
    /// How it ended.
    pub status: BranchStatus,
    /// BLAKE3 of its whole stdout, hex.
    pub stdout_digest: String,
    /// Its metrics, unscrubbed (they never leave the pending folder).
    pub metrics: Map<String, Value>,
}

/// The pending files of one call.
struct Files {
    job: PathBuf,
    stdin: PathBuf,
    handover: PathBuf,
    helper_pid: PathBuf,
}

/// `.noot/experiments/NAME/pending`.
pub fn pending_dir(dir: &Path) -> PathBuf {
    dir.join("pending")
}

/// Where the helpers' diagnostics go.
pub fn helper_log_path(dir: &Path) -> PathBuf {
    dir.join("detached.log")
}

impl Files {
    fn of(dir: &Path, call: u64) -> Self {
        let pending = pending_dir(dir);
        Files {
            job: pending.join(format!("call-{call}.json")),
            stdin: pending.join(format!("call-{call}.stdin")),
            handover: pending.join(format!("call-{call}.handover.json")),
            helper_pid: pending.join(format!("call-{call}.helper")),
        }
    }

    fn remove(&self, fs: &dyn Fs) {
        for path in [&self.handover, &self.stdin, &self.helper_pid, &self.job] {
            let _ = fs.remove_file(path);
        }
    }
}

/// Splits a call's plan into the branches this noot runs and the shadows
/// a started helper runs. If the helper cannot be started, everything runs
/// here (nothing is lost) and `problems` says why.
pub fn split<'v>(
    setup: &CallSetup<'_>,
    helper: &Helper,
    strategy: &str,
    call: u64,
    planned: &[(&'v Variant, Role)],
    problems: &mut Vec<String>,
) -> (Vec<(&'v Variant, Role)>, Vec<Variant>) {
    let shadows: Vec<Variant> = planned
        .iter()
        .filter(|(_, role)| *role == Role::Background)
        .map(|(variant, _)| (*variant).clone())
        .collect();
    if shadows.is_empty() {
        return (planned.to_vec(), shadows);
    }
    match start(setup, helper, strategy, call, &shadows) {
        Ok(()) => {
            let here = planned.iter().copied().filter(|(_, role)| *role == Role::Primary).collect();
            (here, shadows)
        }
        Err(error) => {
            problems.push(format!(
                "cannot detach the shadows of call {call} ({error}); they ran attached"
            ));
            (planned.to_vec(), Vec::new())
        }
    }
}

/// Writes the job of `call` and starts its helper.
fn start(
    setup: &CallSetup<'_>,
    helper: &Helper,
    strategy: &str,
    call: u64,
    shadows: &[Variant],
) -> Result<(), String> {
    let fs = setup.ports.fs.as_ref();
    let files = Files::of(setup.dir, call);
    fs.create_dir_all(&pending_dir(setup.dir))
        .map_err(|e| format!("cannot create {}: {e}", pending_dir(setup.dir).display()))?;
    if let Some(stdin) = &setup.stdin {
        fs.replace_atomic(&files.stdin, stdin)
            .map_err(|e| format!("cannot write {}: {e}", files.stdin.display()))?;
    }
    let job = Job {
        experiment: setup.name.to_string(),
        call,
        strategy: strategy.to_string(),
        parent_pid: std::process::id(),
        created_unix_ms: setup.ports.clock.now_unix_ms(),
        stdin: setup.stdin.is_some(),
        variants: shadows.to_vec(),
    };
    Store::new(fs).save(&files.job, &job).map_err(|e| e.to_string())?;
    spawn_helper(helper, call, &helper_log_path(setup.dir)).map_err(|e| {
        files.remove(fs);
        format!("cannot start `{}`: {e}", helper.program.display())
    })
}

/// Starts the helper in its own session with no terminal: stdin and
/// stdout null, stderr appended to `log`. A thread reaps it if this noot
/// lives longer than the helper (`--calls N`).
fn spawn_helper(helper: &Helper, call: u64, log: &Path) -> io::Result<()> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    let mut command = Command::new(&helper.program);
    command
        .args(&helper.args)
        .arg("--call")
        .arg(call.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    // The helper outlives this noot on purpose: its reaper must not take it.
    crate::engine::reaper::unlabel(&mut command);
    // SAFETY: setsid is async-signal-safe and touches no memory of the
    // parent; it is the only call between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn()?;
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

/// Tells the helper of `call` how the primary ended.
pub fn hand_over(
    setup: &CallSetup<'_>,
    call: u64,
    reference: Option<&Finished>,
    interrupted: bool,
) -> Result<(), String> {
    let handover = Handover {
        interrupted,
        reference: reference.map(|r| Reference {
            config_id: r.record.config_id.clone(),
            status: r.record.status,
            stdout_digest: blake3::Hash::from(r.result_digest).to_hex().to_string(),
            metrics: r.record.metrics.clone(),
        }),
    };
    let files = Files::of(setup.dir, call);
    let fs = setup.ports.fs.as_ref();
    // A helper that was stopped has cleaned up already: nobody would read it.
    if fs.kind(&files.job).is_none() {
        return Ok(());
    }
    Store::new(fs).save(&files.handover, &handover).map_err(|e| e.to_string())
}

/// The job of `call`, for the helper.
pub fn load_job(fs: &dyn Fs, dir: &Path, call: u64) -> Result<(Job, Option<Vec<u8>>), String> {
    let files = Files::of(dir, call);
    let job = Store::new(fs)
        .load::<Job>(&files.job)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{} does not exist", files.job.display()))?;
    let stdin = if job.stdin {
        Some(fs.read(&files.stdin).map_err(|e| format!("{}: {e}", files.stdin.display()))?)
    } else {
        None
    };
    Ok((job, stdin))
}

/// The helper's work: runs the shadows of `job`, compares them with the
/// handed-over primary, logs them and tells the strategy. `setup.interrupted`
/// is this function's to set: when the helper is signalled or the invoking
/// noot hands over an interrupted call. Returns the problems worth writing
/// to `detached.log`.
pub fn run_shadows(
    setup: &CallSetup<'_>,
    job: &Job,
    signals: &AtomicBool,
    strategy: &mut StrategyBox,
    state: &StateFile<'_>,
    log: &mut BranchLog,
) -> Vec<String> {
    let fs = setup.ports.fs.as_ref();
    let files = Files::of(setup.dir, job.call);
    let _ = fs.write(&files.helper_pid, std::process::id().to_string().as_bytes());
    let planned: Vec<(&Variant, Role)> =
        job.variants.iter().map(|v| (v, Role::Background)).collect();
    let ended = AtomicBool::new(false);
    let finished = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !ended.load(Ordering::SeqCst) {
                if signals.load(Ordering::SeqCst) || handover_says_interrupted(fs, &files.handover)
                {
                    setup.interrupted.store(true, Ordering::SeqCst);
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let finished = run_branches(setup, &job.strategy, job.call, &planned, false);
        ended.store(true, Ordering::SeqCst);
        finished
    });
    let mut branches: Vec<Finished> = finished.into_iter().map(|(f, _)| f).collect();
    let mut problems = Vec::new();
    match wait_for_handover(fs, &files.handover, job.parent_pid, signals) {
        Ok(Some(reference)) => compare_with(&mut branches, setup, job, &reference),
        Ok(None) => {}
        Err(problem) => problems.push(problem),
    }
    problems.extend(record_all(
        &mut branches,
        &setup.settling(state, &job.strategy),
        strategy,
        log,
    ));
    files.remove(fs);
    problems
}

fn handover_says_interrupted(fs: &dyn Fs, path: &Path) -> bool {
    matches!(Store::new(fs).load::<Handover>(path), Ok(Some(Handover { interrupted: true, .. })))
}

/// Waits for the handover while the invoking noot lives. `Ok(None)`: there
/// is nothing to compare with (no primary ran, it was interrupted, or
/// the helper was).
fn wait_for_handover(
    fs: &dyn Fs,
    path: &Path,
    parent: u32,
    signals: &AtomicBool,
) -> Result<Option<Reference>, String> {
    loop {
        // Read before checking the parent: it may write and exit between.
        let parent_gone = !process_alive(parent);
        match Store::new(fs).load::<Handover>(path) {
            Ok(Some(handover)) => {
                return Ok(handover.reference.filter(|_| !handover.interrupted));
            }
            Ok(None) => {}
            Err(e) => return Err(format!("unreadable handover: {e}")),
        }
        if parent_gone {
            return Err(format!(
                "noot (pid {parent}) ended without handing over the primary's result; the shadows are logged without a comparison"
            ));
        }
        if signals.load(Ordering::SeqCst) {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn compare_with(
    branches: &mut Vec<Finished>,
    setup: &CallSetup<'_>,
    job: &Job,
    reference: &Reference,
) {
    let Ok(digest) = blake3::Hash::from_hex(&reference.stdout_digest) else { return };
    let digest = *digest.as_bytes();
    let mut record = BranchRecord::planned(
        &job.experiment,
        job.call,
        &Variant {
            id: reference.config_id.clone(),
            label: String::new(),
            config: Value::Null,
            source: String::new(),
        },
        &job.strategy,
        Role::Primary,
    );
    record.status = reference.status;
    record.metrics = reference.metrics.clone();
    let now = setup.ports.clock.now_unix_ms();
    record.started_at = rfc3339(now);
    let primary =
        Finished { record, result_digest: digest, started_unix_ms: now, ended_unix_ms: now };
    branches.insert(0, primary);
    compare_all(branches, Some(0), &setup.settings.compare);
    branches.remove(0);
}

/// Whether `pid` names a live process (or one this user may not signal).
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: signal 0 only checks that the process exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Detached calls whose files are still pending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Pending {
    /// Their helper still runs (or has just been started).
    pub running: usize,
    /// Their helper is gone without finishing: those shadows were never logged.
    pub abandoned: usize,
}

/// Counts the pending detached calls of the experiment in `dir`.
pub fn pending(fs: &dyn Fs, dir: &Path, now_unix_ms: u64) -> Pending {
    let mut counts = Pending::default();
    let Ok(entries) = fs.read_dir(&pending_dir(dir)) else { return counts };
    for path in entries {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        let Some(call) = name
            .strip_prefix("call-")
            .and_then(|rest| rest.strip_suffix(".json"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let files = Files::of(dir, call);
        let helper = fs
            .read(&files.helper_pid)
            .ok()
            .and_then(|b| String::from_utf8_lossy(&b).trim().parse::<u32>().ok());
        let alive = match helper {
            Some(pid) => process_alive(pid),
            // Not started yet, unless the job is old: then it never will.
            None => match Store::new(fs).load::<Job>(&files.job) {
                Ok(Some(job)) => now_unix_ms.saturating_sub(job.created_unix_ms) < 60_000,
                _ => false,
            },
        };
        if alive {
            counts.running += 1;
        } else {
            counts.abandoned += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(call: u64, created_unix_ms: u64) -> Job {
        Job {
            experiment: "e".into(),
            call,
            strategy: "shadow".into(),
            parent_pid: 1,
            created_unix_ms,
            stdin: false,
            variants: Vec::new(),
        }
    }

    #[test]
    fn pending_calls_are_running_while_their_helper_lives_and_abandoned_after() {
        let fs = crate::engine::ports::RealFs;
        let dir = tempfile::tempdir().expect("tempdir");
        let now = 1_000_000;
        fs.create_dir_all(&pending_dir(dir.path())).expect("mkdir");
        let save = |call, created| {
            Store::new(&fs)
                .save(&Files::of(dir.path(), call).job, &job(call, created))
                .expect("save")
        };
        // 1: its helper is this (live) process. 2: a helper that has exited.
        // 3: no helper yet, written a second ago. 4: no helper for minutes.
        for call in 1..=4 {
            save(call, if call == 4 { now - 300_000 } else { now - 1_000 });
        }
        let write_pid = |call, pid: u32| {
            fs.write(&Files::of(dir.path(), call).helper_pid, pid.to_string().as_bytes())
                .expect("write")
        };
        write_pid(1, std::process::id());
        let mut exited = std::process::Command::new("true").spawn().expect("spawn true");
        let dead = exited.id();
        exited.wait().expect("wait");
        write_pid(2, dead);
        // A handover is not a call of its own.
        Store::new(&fs)
            .save(
                &Files::of(dir.path(), 1).handover,
                &Handover { interrupted: false, reference: None },
            )
            .expect("save");
        assert_eq!(pending(&fs, dir.path(), now), Pending { running: 2, abandoned: 2 });
        Files::of(dir.path(), 2).remove(&fs);
        assert_eq!(pending(&fs, dir.path(), now), Pending { running: 2, abandoned: 1 });
    }

    #[test]
    fn this_process_is_alive_and_an_impossible_pid_is_not() {
        assert!(process_alive(std::process::id()));
        assert!(!process_alive(u32::MAX));
    }
}
