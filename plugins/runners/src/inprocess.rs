//! The `inprocess` runner: a warm pytest worker per job slot, a fork per
//! mutant.
//!
//! Where the time goes: a fresh interpreter with pytest costs ~300 ms or
//! more per mutant, a fork of a warm worker a few ms. The worker
//! (`_noot_worker.py`, written into the scratch folder) collects once; the
//! child forked for a mutant runs the selected items in the live session.
//! The host side here enforces the deadline by killing the child's process
//! group and restarts a worker that died (its mutant becomes `error`).
//!
//! A mutant whose function also runs at import time cannot be judged by a
//! worker that imported the project before the switch was set. Its calling
//! tests still try it in the warm worker first (a kill there is a kill);
//! a survivor then runs a whole pytest session in a child of the slot's
//! *zygote*, the same script started with `--zygote`, which imported pytest
//! but never the project: a fresh import without a fresh interpreter.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::os::unix::process::CommandExt;

use noot_plugin_api::prelude::*;
use noot_plugin_api::serde_json::{self, Value, json};

use crate::pytest::{CPU_LIMIT_DETAIL, Ending, classify, run_on_after_a_limit, tail};
use crate::subprocess::{SessionEnd, SubprocessRunner};

const WORKER_SCRIPT: &str = include_str!("_noot_worker.py");
const WORKER_FILE: &str = "_noot_worker.py";
/// How long a worker may take to import and collect.
const STARTUP_BUDGET: Duration = Duration::from_secs(300);
/// How long to wait for a worker's report once its child is dead.
const REPORT_GRACE: Duration = Duration::from_secs(10);

struct Worker {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    /// The forked child running the current mutant (0: none).
    current: Arc<AtomicI32>,
}

impl Worker {
    fn kill(&mut self) {
        kill_group(self.current.swap(0, Ordering::SeqCst));
        if let Ok(pid) = i32::try_from(self.child.id()) {
            kill_group(pid);
        }
        let _ = self.child.wait();
    }
}

fn kill_group(pgid: i32) {
    if pgid > 0 {
        // SAFETY: killpg has no memory-safety preconditions; a group that
        // is already gone gives ESRCH, which is fine.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
}

/// See the module documentation.
pub struct InprocessRunner {
    /// Runs import-time mutants, and keeps the session for both.
    fresh: SubprocessRunner,
    /// Per slot, the worker that collected the suite.
    slots: Mutex<Vec<Arc<Mutex<Option<Worker>>>>>,
    /// Per slot, the zygote that runs import-time mutants' whole sessions.
    zygotes: Mutex<Vec<Arc<Mutex<Option<Worker>>>>>,
    currents: Mutex<Vec<Arc<AtomicI32>>>,
    cancel: Arc<Cancel>,
}

/// Ctrl-C reaches workers that are still starting too: a worker's start
/// (importing pytest, collecting the suite) takes seconds and holds its
/// slot's lock, so without this a cancelled run waited for it.
#[derive(Default)]
struct Cancel {
    cancelled: AtomicBool,
    /// Process groups of workers between spawn and ready.
    starting: Mutex<Vec<i32>>,
}

impl Cancel {
    fn is_set(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Kills every starting worker, and every one that starts later.
    fn set(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        for pgid in self.starting.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            kill_group(*pgid);
        }
    }

    /// Registers a worker that is starting; `false` if the run is already
    /// cancelled (the caller kills it).
    fn starting(&self, pgid: i32) -> bool {
        let mut starting = self.starting.lock().unwrap_or_else(|e| e.into_inner());
        starting.push(pgid);
        !self.is_set()
    }

    fn started(&self, pgid: i32) {
        self.starting.lock().unwrap_or_else(|e| e.into_inner()).retain(|&p| p != pgid);
    }
}

impl InprocessRunner {
    /// A runner; workers start on first use of their slot.
    pub fn new(ports: HostPorts) -> Self {
        Self {
            fresh: SubprocessRunner::new(ports),
            slots: Mutex::new(Vec::new()),
            zygotes: Mutex::new(Vec::new()),
            currents: Mutex::new(Vec::new()),
            cancel: Arc::default(),
        }
    }

    /// Runs the job's tests in a child forked from the slot's warm worker;
    /// after a timeout, the tests after the one it was running (the worker
    /// reports which) run on, see `run_on_after_a_limit`.
    fn run_warm(&self, job: &MutantJob) -> Result<MutantVerdict, PluginError> {
        let session = self.fresh.session()?;
        let wall = Duration::from_millis(job.deadline_ms);
        let cpu = Duration::from_millis(job.cpu_limit_ms);
        let request = |job: &MutantJob| {
            let tests: Vec<&str> = job.tests.iter().map(|t| t.as_str()).collect();
            Self::request(&session, job, "tests", json!(tests))
        };
        let (verdict, running) =
            self.run_on(Kind::Warm, &session, job, &request(job), (wall, cpu))?;
        run_on_after_a_limit(verdict, running, job, |job| {
            Ok(self.run_on(Kind::Warm, &session, job, &request(job), (wall, cpu))?.0)
        })
    }

    /// Runs a whole pytest session over the job's tests in a child forked
    /// from the slot's zygote: a fresh import of the project, without a
    /// fresh interpreter.
    ///
    /// With `check`, the session first compares what importing the project
    /// under the mutant built with what it builds without one, and ends
    /// early when nothing differs (see [`wants_import_check`]).
    fn run_fresh(&self, job: &MutantJob, check: bool) -> Result<MutantVerdict, PluginError> {
        let session = self.fresh.session()?;
        let argv = SubprocessRunner::pytest_args(&session, &job.tests);
        let mut request = Self::request(&session, job, "argv", json!(argv));
        let mut budget = job.deadline_ms.saturating_add(job.startup_ms);
        if check {
            let baseline = Path::new(session.scratch_dir.as_str())
                .join(format!("import-baseline-{}.json", job.slot));
            request["check"] = json!({ "baseline_file": baseline.to_string_lossy() });
            // The zygote's first check records the baseline: one more start-up.
            budget = budget.saturating_add(job.startup_ms);
        }
        // A whole session also imports and collects: its start-up counts.
        let cpu = Duration::from_millis(job.cpu_limit_ms + job.startup_ms * 2);
        self.run_on(Kind::Zygote, &session, job, &request, (Duration::from_millis(budget), cpu))
            .map(|(verdict, _)| verdict)
    }

    /// A request to a worker or zygote: the mutant, its limits, where its
    /// output goes, and what to run (`tests` or `argv`).
    fn request(session: &RunnerSession, job: &MutantJob, what: &str, run: Value) -> Value {
        let mut request = json!({
            "id": job.mutant_id.as_str(),
            // An rlimit only as a last guard, should this runner die: it
            // reaches the processes the tests start too, so it is generous
            // (the tight CPU budget is polled for the child alone).
            "cpu": (job.deadline_ms + job.startup_ms * 2).div_ceil(1000) * 2 + 1,
            "out": Self::out_path(session, job.slot).to_string_lossy(),
            // The worker keeps only this much of a child's output, in
            // memory and in `out`, however much the tests print.
            "cap": job.output_cap_bytes,
        });
        request[what] = run;
        request
    }

    fn run_on(
        &self,
        kind: Kind,
        session: &RunnerSession,
        job: &MutantJob,
        request: &Value,
        (budget, cpu_budget): (Duration, Duration),
    ) -> Result<(MutantVerdict, Option<usize>), PluginError> {
        let cell = self.cell(kind, job.slot);
        let mut guard = cell.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            if self.cancel.is_set() {
                return Err(PluginError::Failed("cancelled".into()));
            }
            *guard = Some(self.start_worker(session, job.slot, kind)?);
        }
        let Some(worker) = guard.as_mut() else {
            return Err(PluginError::Failed("no worker".into()));
        };
        let cap = usize::try_from(job.output_cap_bytes).unwrap_or(usize::MAX);
        let out_path = Self::out_path(session, job.slot);
        match Self::run_in_worker(worker, &out_path, request, budget, cpu_budget) {
            Outcome::Done { done, timed_out, elapsed, output } => {
                let mut verdict = verdict(&done, timed_out, elapsed, &output, cap);
                let end = SessionEnd::parse(&done.to_string());
                if let Some(message) = end.escaped_message(session) {
                    // The tests ran the project's own copy of a mutated
                    // module, where no mutant is ever active: no verdict.
                    verdict.status = MutantStatus::Error;
                    verdict.detail = message.into();
                }
                // Which of the tests it was given a child was running when
                // it ended without a report.
                let running = done
                    .get("running")
                    .and_then(Value::as_u64)
                    .and_then(|index| usize::try_from(index).ok());
                Ok((verdict, running))
            }
            Outcome::WorkerDied(why) => {
                // Restarted on the slot's next mutant; this one is an error,
                // never lost.
                if let Some(mut dead) = guard.take() {
                    dead.kill();
                }
                let output = std::fs::read_to_string(&out_path).unwrap_or_default();
                Ok((
                    MutantVerdict {
                        status: MutantStatus::Error,
                        duration_ms: 0,
                        exit_code: ROption::RNone,
                        output: tail(&output, cap).into(),
                        detail: format!("{why}; the {kind} was restarted").into(),
                        cpu_limited: false,
                    },
                    None,
                ))
            }
        }
    }

    fn cell(&self, kind: Kind, index: u32) -> Arc<Mutex<Option<Worker>>> {
        let cells = match kind {
            Kind::Warm => &self.slots,
            Kind::Zygote => &self.zygotes,
        };
        let mut cells = cells.lock().unwrap_or_else(|e| e.into_inner());
        let index = index as usize;
        while cells.len() <= index {
            cells.push(Arc::new(Mutex::new(None)));
        }
        Arc::clone(&cells[index])
    }

    fn start_worker(
        &self,
        session: &RunnerSession,
        slot: u32,
        kind: Kind,
    ) -> Result<Worker, PluginError> {
        Self::spawn_worker(session, kind, self.current_for(slot), &self.cancel)
    }

    fn spawn_worker(
        session: &RunnerSession,
        kind: Kind,
        current: Arc<AtomicI32>,
        cancel: &Cancel,
    ) -> Result<Worker, PluginError> {
        let scratch = Path::new(session.scratch_dir.as_str());
        let script = scratch.join(WORKER_FILE);
        let python = session
            .test_command
            .first()
            .ok_or_else(|| PluginError::InvalidConfig("empty test command".into()))?;
        let mut command = Command::new(python.as_str());
        command.arg(&script);
        match kind {
            Kind::Warm => {
                command
                    .args(session.test_args.iter().map(|a| a.as_str()))
                    .args(session.suite_args.iter().map(|a| a.as_str()));
            }
            Kind::Zygote => {
                command.arg("--zygote");
            }
        }
        command
            .current_dir(session.mutants_dir.as_str())
            .envs(session.env.iter().map(|t| (t.0.as_str(), t.1.as_str())))
            .env("MUTANT_UNDER_TEST", "")
            .env("NOOT_PROJECT_DIR", session.project_dir.as_str())
            .env("NOOT_MUTANTS_DIR", session.mutants_dir.as_str())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Not a file: what the worker itself prints (pytest's
            // collection, a failure to start) is read and capped here, and
            // kept for the message when it fails. A child's output, and
            // what its tests write past pytest's capture, goes to the
            // child's own pipe (see `fork_and_wait` in the worker).
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command.spawn().map_err(|e| {
            PluginError::Failed(format!("cannot start the worker `{python}`: {e}").into())
        })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(PluginError::Failed("worker pipes missing".into()));
        };
        let log = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&log);
        std::thread::spawn(move || keep_tail(stderr, &kept, LOG_KEPT));
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(line) => {
                        if sender.send(line).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        let mut worker = Worker { child, stdin, lines, current };
        let pgid = i32::try_from(worker.child.id()).unwrap_or(0);
        if !cancel.starting(pgid) {
            kill_group(pgid);
        }
        let ready = Self::wait_until_ready(&mut worker, kind, &log);
        cancel.started(pgid);
        ready.map(|()| worker)
    }

    /// Waits for the worker's `ready` (it collected the suite) or its end.
    fn wait_until_ready(
        worker: &mut Worker,
        kind: Kind,
        log: &Mutex<Vec<u8>>,
    ) -> Result<(), PluginError> {
        let deadline = Instant::now() + STARTUP_BUDGET;
        loop {
            let message = match recv_until(&worker.lines, deadline) {
                Ok(message) => message,
                Err(why) => {
                    worker.kill();
                    let log = read_log(log);
                    return Err(PluginError::Failed(
                        format!("the {kind} did not start ({why}); its log:\n{}", tail(&log, 4000))
                            .into(),
                    ));
                }
            };
            if message.get("ready").is_some() {
                return Ok(());
            }
            if let Some(fatal) = message.get("fatal") {
                worker.kill();
                let log = read_log(log);
                return Err(PluginError::Failed(format!("{fatal}:\n{}", tail(&log, 4000)).into()));
            }
        }
    }

    fn current_for(&self, slot: u32) -> Arc<AtomicI32> {
        let mut currents = self.currents.lock().unwrap_or_else(|e| e.into_inner());
        while currents.len() <= slot as usize {
            currents.push(Arc::new(AtomicI32::new(0)));
        }
        Arc::clone(&currents[slot as usize])
    }

    fn out_path(session: &RunnerSession, slot: u32) -> PathBuf {
        Path::new(session.scratch_dir.as_str()).join(format!("slot-{slot}.out"))
    }

    /// Sends `request` and waits for its report. The child gets `budget`
    /// of wall-clock time and `cpu_budget` of CPU time of its own: polled
    /// here rather than set as an rlimit, which the processes its tests
    /// start would inherit (a test that runs a CLI needing more CPU than
    /// one mutant's budget must not be killed for it).
    fn run_in_worker(
        worker: &mut Worker,
        out_path: &Path,
        request: &Value,
        budget: Duration,
        cpu_budget: Duration,
    ) -> Outcome {
        let started = Instant::now();
        if writeln!(worker.stdin, "{request}").and_then(|()| worker.stdin.flush()).is_err() {
            return Outcome::WorkerDied("the worker's stdin is closed".into());
        }
        let mut timed_out = None;
        let mut kill_at = started + budget;
        loop {
            let wake =
                if timed_out.is_none() { kill_at.min(Instant::now() + CPU_POLL) } else { kill_at };
            match recv_until(&worker.lines, wake) {
                Ok(message) => {
                    if let Some(pid) = message.get("started").and_then(Value::as_i64) {
                        worker.current.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
                        continue;
                    }
                    if message.get("again").is_some() && timed_out.is_none() {
                        // The mutant's first test passed alone (see `Lean`
                        // in the worker): the worker judges it again with
                        // the whole protocol, in a child that gets the whole
                        // budget. Until it starts, no child is watched.
                        worker.current.store(0, Ordering::SeqCst);
                        kill_at = Instant::now() + budget;
                        continue;
                    }
                    if let Some(done) = message.get("done") {
                        worker.current.store(0, Ordering::SeqCst);
                        let output = std::fs::read_to_string(out_path).unwrap_or_default();
                        return Outcome::Done {
                            done: done.clone(),
                            timed_out,
                            elapsed: started.elapsed(),
                            output,
                        };
                    }
                }
                Err(RecvError::Timeout) if timed_out.is_none() => {
                    let child = worker.current.load(Ordering::SeqCst);
                    let used = cpu_time(child);
                    if Instant::now() < kill_at && used.is_none_or(|used| used < cpu_budget) {
                        continue;
                    }
                    // The deadline or the CPU budget: kill the child's
                    // group; the worker reports it dead.
                    timed_out = Some(match used {
                        Some(used) if used >= cpu_budget => Limit::Cpu(used),
                        _ => Limit::Wall,
                    });
                    kill_group(child);
                    kill_at = Instant::now() + REPORT_GRACE;
                }
                Err(RecvError::Timeout) => {
                    return Outcome::WorkerDied(
                        "the worker did not report after the deadline".into(),
                    );
                }
                Err(RecvError::Closed) => return Outcome::WorkerDied("the worker died".into()),
            }
        }
    }
}

/// How much of a worker's stderr is kept (for the message when it fails).
const LOG_KEPT: usize = 64 * 1024;

/// Reads `from` to its end, keeping the last `cap` bytes in `into`.
fn keep_tail(mut from: impl std::io::Read, into: &Mutex<Vec<u8>>, cap: usize) {
    let mut buffer = [0u8; 1 << 16];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let mut kept = into.lock().unwrap_or_else(|e| e.into_inner());
                kept.extend_from_slice(&buffer[..n]);
                if kept.len() > 2 * cap {
                    let excess = kept.len() - cap;
                    kept.drain(..excess);
                }
            }
        }
    }
}

fn read_log(log: &Mutex<Vec<u8>>) -> String {
    // The reader thread may still be draining a worker that just died.
    std::thread::sleep(Duration::from_millis(50));
    String::from_utf8_lossy(&log.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// How often a child's CPU time is read.
const CPU_POLL: Duration = Duration::from_millis(50);

/// Which limit stopped a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    /// The wall-clock deadline.
    Wall,
    /// Its own CPU time passed the budget (this much was used).
    Cpu(Duration),
}

/// CPU time (user + system) a live process has used itself, children
/// excluded, from `/proc/PID/stat`; `None` if it is gone or unreadable.
fn cpu_time(pid: i32) -> Option<Duration> {
    if pid <= 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after
    // the last `)`; utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 1..)?.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no memory-safety preconditions.
    let per_second = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok()?.max(1);
    Some(Duration::from_millis(ticks * 1000 / per_second))
}

/// Whether the job's hints ask for the import check (`{"import_check":
/// true}` in [`MutantJob::hints_json`]).
///
/// The host sets it for a function the stats run saw called, while the
/// session imported and collected, only from the bodies of modules of the
/// mutated tree (never from a pytest hook). For a mutant in one of them, a
/// session whose imports and collection build the same state as without
/// the mutant (every global of every module of the tree, recursively, and
/// the collected tests) leaves the mutant only its effects through calls
/// made while tests run, which its calling tests in the warm worker
/// already judged. Hints that do not parse mean no check.
fn wants_import_check(job: &MutantJob) -> bool {
    serde_json::from_str::<Value>(job.hints_json.as_str())
        .ok()
        .and_then(|hints| hints.get("import_check").and_then(Value::as_bool))
        .unwrap_or(false)
}

/// The two kinds of long-lived process a slot keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Collected the suite; its children run selected items.
    Warm,
    /// Imported pytest only; its children run whole sessions.
    Zygote,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Warm => "worker",
            Self::Zygote => "zygote",
        })
    }
}

enum Outcome {
    Done { done: Value, timed_out: Option<Limit>, elapsed: Duration, output: String },
    WorkerDied(String),
}

enum RecvError {
    Timeout,
    Closed,
}

impl std::fmt::Display for RecvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Timeout => "timed out",
            Self::Closed => "it exited",
        })
    }
}

/// The next JSON message, skipping lines that are not JSON objects.
fn recv_until(lines: &Receiver<String>, deadline: Instant) -> Result<Value, RecvError> {
    loop {
        let wait = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(wait) {
            Ok(line) => {
                if let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(&line) {
                    return Ok(value);
                }
            }
            Err(RecvTimeoutError::Timeout) => return Err(RecvError::Timeout),
            Err(RecvTimeoutError::Disconnected) => return Err(RecvError::Closed),
        }
    }
}

fn verdict(
    done: &Value,
    timed_out: Option<Limit>,
    elapsed: Duration,
    output: &str,
    cap: usize,
) -> MutantVerdict {
    let exit = done.get("exit").and_then(Value::as_i64).and_then(|c| i32::try_from(c).ok());
    let signal = done.get("signal").and_then(Value::as_i64).and_then(|c| i32::try_from(c).ok());
    let (status, detail) = if let Some(Limit::Cpu(used)) = timed_out {
        (
            MutantStatus::Timeout,
            format!(
                "{CPU_LIMIT_DETAIL} ({} ms); the child's process group was killed",
                used.as_millis()
            ),
        )
    } else if timed_out.is_some() {
        (MutantStatus::Timeout, "deadline passed; the child's process group was killed".to_owned())
    } else if let Some(objects) = done.get("same_import").and_then(Value::as_u64) {
        (
            MutantStatus::Survived,
            format!(
                "importing the project under the mutant built the same state as without it \
                 ({objects} globals compared), so no other test can see it"
            ),
        )
    } else if let Some(error) = done.get("error").and_then(Value::as_str) {
        (MutantStatus::Error, error.to_owned())
    } else if let Some(code) =
        done.get("pytest_exit").and_then(Value::as_i64).and_then(|c| i32::try_from(c).ok())
    {
        classify(Ending::Exited(code), output)
    } else if let Some(failed) = done.get("failed").and_then(Value::as_str) {
        (MutantStatus::Killed, failed.to_owned())
    } else if done.get("failed").is_some_and(Value::is_null) && exit == Some(0) {
        (MutantStatus::Survived, "every selected test passed".to_owned())
    } else if let Some(signal) = signal {
        classify(Ending::Signaled(signal), output)
    } else if exit == Some(0) {
        // Exited cleanly without reporting: a test ended the process early.
        (MutantStatus::Error, "the test process exited with 0 before the tests finished".to_owned())
    } else {
        let code = exit.unwrap_or(-1);
        (MutantStatus::Killed, format!("the test process exited with {code}"))
    };
    let mut detail = detail;
    if let Some(differs) = done.get("import_differs").and_then(Value::as_array) {
        if status == MutantStatus::Survived {
            let names: Vec<&str> = differs.iter().filter_map(Value::as_str).collect();
            detail = format!("{detail} (importing under the mutant changed {})", names.join(", "));
        }
    }
    let output = if status == MutantStatus::Killed { String::new() } else { tail(output, cap) };
    MutantVerdict {
        status,
        duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        exit_code: exit.map_or(ROption::RNone, ROption::RSome),
        output: output.into(),
        detail: detail.into(),
        cpu_limited: matches!(timed_out, Some(Limit::Cpu(_)))
            || (status == MutantStatus::Timeout
                && signal.is_some_and(|s| Ending::Signaled(s).cpu_limited())),
    }
}

impl RunnerPlugin for InprocessRunner {
    fn prepare(&self, session: &RunnerSession) -> Result<(), PluginError> {
        self.fresh.prepare(session)?;
        let scratch = Path::new(session.scratch_dir.as_str());
        std::fs::create_dir_all(scratch)
            .and_then(|()| std::fs::write(scratch.join(WORKER_FILE), WORKER_SCRIPT))
            .map_err(|e| PluginError::Io(format!("{}: {e}", scratch.display()).into()))?;
        // Start the warm workers now, in the background: the host prepares
        // the runner before its stats run, so their collection overlaps it.
        // Each starter holds its slot's lock, so a mutant waits for it; one
        // that fails leaves the slot empty and the first mutant retries and
        // reports why.
        for slot in 0..session.slots {
            let cell = self.cell(Kind::Warm, slot);
            let current = self.current_for(slot);
            let session = session.clone();
            let cancel = Arc::clone(&self.cancel);
            let (locked, has_lock) = channel();
            std::thread::spawn(move || {
                let mut guard = cell.lock().unwrap_or_else(|e| e.into_inner());
                let _ = locked.send(());
                if guard.is_none() {
                    *guard = Self::spawn_worker(&session, Kind::Warm, current, &cancel).ok();
                }
            });
            let _ = has_lock.recv();
        }
        Ok(())
    }

    fn run_mutant(&self, job: &MutantJob) -> Result<MutantVerdict, PluginError> {
        if self.cancel.is_set() {
            return Err(PluginError::Failed("cancelled".into()));
        }
        if !job.fresh_process {
            return self.run_warm(job);
        }
        // An import-time mutant: the tests that call the function try it in
        // the warm worker first (milliseconds, and mutmut's whole verdict for
        // such a mutant). Only a survivor pays for the fresh process that
        // also sees what the function did while the project was imported.
        let call_time =
            usize::try_from(job.call_time_tests).unwrap_or(usize::MAX).min(job.tests.len());
        let check = wants_import_check(job);
        if call_time == 0 {
            let mut fresh = self.run_fresh(job, check)?;
            if fresh.status == MutantStatus::Survived && check {
                fresh.detail = format!("no test calls it, and {}", fresh.detail).into();
            }
            return Ok(fresh);
        }
        let warm_job = MutantJob {
            tests: job.tests[..call_time].iter().cloned().collect(),
            fresh_process: false,
            call_time_tests: 0,
            ..job.clone()
        };
        let warm = self.run_warm(&warm_job)?;
        if matches!(warm.status, MutantStatus::Killed | MutantStatus::Timeout) {
            return Ok(warm);
        }
        let mut fresh = self.run_fresh(job, check)?;
        fresh.duration_ms += warm.duration_ms;
        if fresh.status == MutantStatus::Survived && check {
            fresh.detail = format!(
                "its {call_time} calling test(s) passed in the warm worker, and {}",
                fresh.detail
            )
            .into();
        }
        Ok(fresh)
    }

    fn repro(&self, job: &MutantJob) -> String {
        // A fresh process shows the same verdict and is what a person can run.
        self.fresh.repro(job)
    }

    fn cancel(&self) {
        self.cancel.set();
        self.fresh.cancel();
        for current in self.currents.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            kill_group(current.swap(0, Ordering::SeqCst));
        }
        // Workers whose slot is busy are killed by pid without the lock.
        for cells in [&self.slots, &self.zygotes] {
            for cell in cells.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                if let Ok(mut guard) = cell.try_lock() {
                    if let Some(mut worker) = guard.take() {
                        worker.kill();
                    }
                }
            }
        }
    }

    fn shutdown(&self) -> Result<(), PluginError> {
        for cells in [&self.slots, &self.zygotes] {
            for cell in cells.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                let mut guard = cell.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(mut worker) = guard.take() {
                    worker.kill();
                }
            }
        }
        self.fresh.shutdown()
    }
}
