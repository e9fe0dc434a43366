//! Runs a Rust mutant's selected tests: the test binaries built once, each
//! started with `NOOT_MUTANT=N` and `--exact` names of the tests that reach
//! the mutant, through the same runner interface the Python runners use.
//!
//! A job's tests are `BINARY<TAB>TEST` strings ([`test_arg`]); the switch
//! number of each mutant id is given when the runner is made. A failing
//! test exits 101 (libtest's panic exit): killed; a test process ended by
//! a signal (an abort, a stack overflow) is killed too; SIGPROF (the
//! crate's runtime arms the budget to the millisecond, `NOOT_CPU_LIMIT_MS`)
//! and SIGXCPU (RLIMIT_CPU, a second above it, for code that never reads a
//! switch) are the CPU budget: a timeout.
//!
//! Binaries run in the order of their quickest selected test (the job's
//! tests come fastest first), each with one test thread: the mutant's CPU
//! budget then covers its tests one after another, as the stats run timed
//! them, and two jobs on two cores do not each start two threads. Panics
//! print no backtrace (`RUST_BACKTRACE=0`, whatever the user's shell
//! says): resolving one costs a debug test binary about 100 ms, which was
//! most of what a killed mutant cost; the repro command shows them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use noot_plugin_api::prelude::*;

use super::reach::Reach;

/// What a job's test string holds: the binary and the test's name.
pub fn test_arg(binary: &str, test: &str) -> String {
    format!("{binary}\t{test}")
}

/// The libtest runner.
pub struct LibtestRunner {
    ports: HostPorts,
    /// Switch number per mutant id.
    switches: HashMap<String, u32>,
    /// Processes running now, per slot.
    running: Mutex<HashMap<u32, ProcId>>,
    cancelled: AtomicBool,
    /// Per test binary, its package's folder: the working directory and
    /// `CARGO_MANIFEST_DIR`, as under `cargo test`.
    dirs: HashMap<String, String>,
    /// Where each mutant run's reach is recorded ([`reach`]).
    reach: Option<Reach>,
    /// Per test ([`test_arg`]), its time in the stats run, in ms: each
    /// process of a job gets the share of the job's CPU budget its tests
    /// take ([`cpu_share`]).
    baselines: HashMap<String, u64>,
}

impl LibtestRunner {
    /// A runner for these switch numbers, running each binary in its
    /// package's folder (`dirs`, by binary path).
    pub fn new(
        ports: HostPorts,
        switches: HashMap<String, u32>,
        dirs: HashMap<String, String>,
        reach: Option<Reach>,
    ) -> Self {
        Self {
            ports,
            switches,
            running: Mutex::default(),
            cancelled: AtomicBool::new(false),
            dirs,
            reach,
            baselines: HashMap::new(),
        }
    }

    /// The same runner, splitting each job's CPU budget among its
    /// processes by these per-test times ([`test_arg`] → ms).
    pub fn with_baselines(mut self, baselines: HashMap<String, u64>) -> Self {
        self.baselines = baselines;
        self
    }

    fn dir(&self, binary: &str) -> &str {
        self.dirs.get(binary).map_or(".", String::as_str)
    }

    /// The processes a job's tests run in, in order, stopping at the first
    /// that fails. Doc examples run each alone, as rustdoc runs them (one
    /// that calls `process::exit` or sets a global logger must not decide
    /// for the next). A binary's other tests run in chunks of 1, 2, 4, …
    /// tests: libtest runs every test it is given (stable Rust has no
    /// fail-fast), so one process for all would make a mutant its fastest
    /// test kills wait for its slowest; chunks that double cost a kill at
    /// most twice the tests up to the failing one, in a handful of
    /// processes.
    fn processes(job: &MutantJob) -> Vec<(String, Vec<String>)> {
        let mut processes = Vec::new();
        for (binary, names) in Self::by_binary(job) {
            if is_doc_examples(&binary) {
                processes.extend(names.into_iter().map(|n| (binary.clone(), vec![n])));
                continue;
            }
            let mut rest = names.as_slice();
            let mut size = 1;
            while !rest.is_empty() {
                let (chunk, after) = rest.split_at(size.min(rest.len()));
                processes.push((binary.clone(), chunk.to_vec()));
                rest = after;
                size *= 2;
            }
        }
        processes
    }

    /// The job's tests per binary, binaries in the order their first test
    /// comes in the job.
    fn by_binary(job: &MutantJob) -> Vec<(String, Vec<String>)> {
        let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
        for test in &job.tests {
            if let Some((binary, name)) = test.as_str().split_once('\t') {
                match grouped.iter_mut().find(|(b, _)| b == binary) {
                    Some((_, names)) => names.push(name.to_owned()),
                    None => grouped.push((binary.to_owned(), vec![name.to_owned()])),
                }
            }
        }
        grouped
    }

    /// The process for `names` of `binary`, with `cpu_limit_ms` of CPU
    /// time (0: none).
    fn spec(
        &self,
        job: &MutantJob,
        binary: &str,
        names: &[String],
        stats: Option<&Path>,
        cpu_limit_ms: u64,
    ) -> SpawnSpec {
        let switch = self.switches.get(job.mutant_id.as_str()).copied().unwrap_or(0);
        // Not `-q`: with one thread, libtest's full output names each test
        // as it starts, so a process stopped in one says which (see
        // [`unstarted`]).
        let mut args = vec![RString::from("--exact")];
        args.push(RString::from("--test-threads=1"));
        args.extend(names.iter().map(|n| RString::from(n.as_str())));
        SpawnSpec {
            program: binary.into(),
            args: args.into_iter().collect(),
            env: vec![
                Tuple2(RString::from("NOOT_MUTANT"), RString::from(switch.to_string())),
                Tuple2(RString::from("RUST_BACKTRACE"), RString::from("0")),
                Tuple2(RString::from("CARGO_MANIFEST_DIR"), RString::from(self.dir(binary))),
                Tuple2(RString::from("NOOT_CPU_LIMIT_MS"), RString::from(cpu_limit_ms.to_string())),
            ]
            .into_iter()
            .chain(stats.map(|path| {
                Tuple2(RString::from("NOOT_STATS_FILE"), RString::from(path.display().to_string()))
            }))
            .collect(),
            cwd: ROption::RSome(self.dir(binary).into()),
            output_cap_bytes: job.output_cap_bytes,
            // The test binary's own threads are the tests: the runtime's
            // timer is the budget; the rlimit, a second later, a backstop.
            cpu_limit_secs: ROption::RSome(cpu_limit_ms.div_ceil(1000) + 1)
                .filter(|_| cpu_limit_ms > 0),
            ..SpawnSpec::default()
        }
    }
}

/// The wall-clock deadline of a job's `started`-th process after
/// `elapsed` ms in the ones before, and the CPU time those used. One
/// deadline for the job, whatever number of processes its tests run in:
/// each gets what the ones before left, plus its own start-up (their wall
/// time stands in for the CPU time they used; wall time is only a bound
/// on CPU time when nothing else competes for the cores, so a process's
/// CPU budget never drops below the floor every job gets).
fn budget(job: &MutantJob, started: u64, elapsed: u64) -> (u64, u64) {
    let startups = job.startup_ms.saturating_mul(started);
    let deadline = job.deadline_ms.saturating_add(startups).saturating_sub(elapsed).max(1);
    let used = elapsed.saturating_sub(startups.saturating_sub(job.startup_ms));
    (deadline, used)
}

/// The CPU budget (0: none) of the process that runs `names` of
/// `binary` after `used` ms of the job's processes: its share of the
/// job's budget, by the stats run's times, at least the floor every
/// job gets. A loop in the job's first, quickest test used to burn the
/// budget of every test behind it (3.4 s on semver, where one test of
/// the selection takes half a second, against 0.25 s now). A process
/// stopped at its share runs its tests once without the mutant: unless
/// they take a quarter of the share or less, the mutant's run goes again
/// with all the job has left, so a test the mutant only slowed still
/// finishes as under one budget; the host then confirms the timeout
/// against the whole job ([`crate::mutate::execute::judge`]). Without
/// times for every test, the process gets what the ones before left.
fn cpu_share(
    baselines: &HashMap<String, u64>,
    job: &MutantJob,
    binary: &str,
    names: &[String],
    used: u64,
) -> u64 {
    let left = cpu_left(job, used);
    if left == 0 {
        return 0;
    }
    let floor = crate::mutate::execute::MIN_CPU_MS;
    let time = |test: &str| baselines.get(test).copied();
    let own: Option<u64> = names.iter().map(|n| time(&test_arg(binary, n))).sum();
    let all: Option<u64> = job.tests.iter().map(|t| time(t.as_str())).sum();
    match (own, all) {
        (Some(own), Some(all)) if all > 0 => {
            let share = u128::from(job.cpu_limit_ms) * u128::from(own) / u128::from(all);
            u64::try_from(share).unwrap_or(u64::MAX).clamp(floor, left)
        }
        _ => left,
    }
}

/// What the job's CPU budget has left (0: no budget) after `used` ms,
/// never below the floor every job gets: wall time, which `used` is, only
/// bounds CPU time when nothing else competes for the cores.
fn cpu_left(job: &MutantJob, used: u64) -> u64 {
    if job.cpu_limit_ms == 0 {
        return 0;
    }
    job.cpu_limit_ms.saturating_sub(used).max(crate::mutate::execute::MIN_CPU_MS)
}

/// While a job that reached a CPU limit looks for a failing test: the
/// least CPU time a process gets.
const SEARCH_FLOOR_MS: u64 = 20;
/// … and how many times its tests' stats-run time it gets.
const SEARCH_FACTOR: u64 = 2;
/// … and its deadline, at least: wall-clock time a loaded machine
/// stretches must not end a test that would have failed.
const SEARCH_DEADLINE_FLOOR_MS: u64 = 1000;

/// The CPU budget and deadline of a process that runs after another of
/// its job reached its CPU limit. The verdict is a timeout already; this
/// process can only turn it into a kill, and a test that fails under a
/// mutant fails within about its own time. So it gets twice its tests'
/// stats-run time (at least [`SEARCH_FLOOR_MS`]; the job's budget when a
/// time is missing), not a share of what the job has left: a loop in it
/// too costs little. Its deadline: four times that and the start-up, at
/// least [`SEARCH_DEADLINE_FLOOR_MS`], never more than the job's. The
/// loops of one job's search together burn at most the job's CPU budget
/// (see `run_job`): a mutant that sends every one of fifty quick tests
/// into a loop costs that budget once more, not fifty floors. (Bounding
/// them by the first loop's share instead missed the failing test of 4
/// of fastrand's mutants again, and saved no time.)
fn search_budget(
    baselines: &HashMap<String, u64>,
    job: &MutantJob,
    binary: &str,
    names: &[String],
) -> (u64, u64) {
    let own: Option<u64> = names.iter().map(|n| baselines.get(&test_arg(binary, n)).copied()).sum();
    let cpu = match own {
        Some(own) => own.saturating_mul(SEARCH_FACTOR).max(SEARCH_FLOOR_MS),
        None => job.cpu_limit_ms.max(crate::mutate::execute::MIN_CPU_MS),
    };
    let most = job.deadline_ms.saturating_add(job.startup_ms);
    let deadline = cpu
        .saturating_mul(4)
        .saturating_add(job.startup_ms)
        .max(SEARCH_DEADLINE_FLOOR_MS)
        .min(most)
        .max(1);
    (cpu, deadline)
}

/// The tests of `names` a stopped process had not started: libtest, with
/// one thread and its full output, prints `test NAME ... ` as each test
/// starts and the result as it ends. Empty when the output names no test
/// (not libtest's output: nothing can be said).
fn unstarted(output: &str, names: &[String]) -> Vec<String> {
    let started: HashSet<&str> = started_tests(output).map(|(name, _)| name).collect();
    if started.is_empty() {
        return Vec::new();
    }
    names.iter().filter(|name| !started.contains(name.as_str())).cloned().collect()
}

/// The process for the tests of `names` (of `binary`) a stopped process
/// had not started, if any. Only when that is fewer than it was given: a
/// harness whose output names none of them would otherwise go round.
fn still_to_run(binary: &str, names: &[String], output: &str) -> Option<(String, Vec<String>)> {
    let rest = unstarted(output, names);
    (!rest.is_empty() && rest.len() < names.len()).then(|| (binary.to_owned(), rest))
}

/// The test a stopped process was running: started, without a result.
fn running(output: &str) -> Option<&str> {
    started_tests(output).filter(|(_, result)| result.is_empty()).map(|(name, _)| name).next_back()
}

/// Each `test NAME ... RESULT` line of libtest's output, as (name,
/// result), both trimmed (libtest-mimic pads names to a column; a test
/// still running has no result yet).
fn started_tests(output: &str) -> impl DoubleEndedIterator<Item = (&str, &str)> {
    output.lines().filter_map(|line| {
        let (name, result) = line.strip_prefix("test ")?.split_once(" ... ")?;
        Some((name.trim_end(), result.trim()))
    })
}

/// Whether a test process was stopped by its CPU budget.
fn out_of_cpu(exit: &ProcExit) -> bool {
    matches!(exit.kind, ExitKind::Signaled) && (exit.code == SIGXCPU || exit.code == SIGPROF)
}

/// SIGXCPU on Linux: RLIMIT_CPU.
const SIGXCPU: i32 = 24;
/// SIGPROF on Linux: the runtime's CPU timer.
const SIGPROF: i32 = 27;

impl RunnerPlugin for LibtestRunner {
    fn prepare(&self, _: &RunnerSession) -> Result<(), PluginError> {
        Ok(())
    }

    fn run_mutant(&self, job: &MutantJob) -> Result<MutantVerdict, PluginError> {
        let recording = self.reach.as_ref().filter(|_| !job.mutant_id.is_empty());
        let scratch = recording.map(|r| r.start(job.slot));
        let verdict = self.run_job(job, scratch.as_deref())?;
        if let (Some(recording), Some(scratch)) = (recording, &scratch) {
            recording
                .finish(&job.mutant_id, scratch)
                .map_err(|e| PluginError::Failed(e.to_string().into()))?;
        }
        Ok(verdict)
    }

    fn repro(&self, job: &MutantJob) -> String {
        self.repro_of(job)
    }

    fn cancel(&self) {
        self.cancel_all();
    }

    fn shutdown(&self) -> Result<(), PluginError> {
        Ok(())
    }
}

impl LibtestRunner {
    /// Runs `names` of `binary` for `job` (no mutant when its id is empty)
    /// and waits for it.
    fn run_process(
        &self,
        job: &MutantJob,
        binary: &str,
        names: &[String],
        stats: Option<&Path>,
        cpu_limit_ms: u64,
        deadline: u64,
    ) -> Result<ProcExit, PluginError> {
        let spec = self.spec(job, binary, names, stats, cpu_limit_ms);
        let id = self.ports.procs.spawn(&spec).into_result()?;
        self.running.lock().unwrap_or_else(|e| e.into_inner()).insert(job.slot, id);
        let exit = self.ports.procs.wait(id, ROption::RSome(deadline)).into_result();
        self.running.lock().unwrap_or_else(|e| e.into_inner()).remove(&job.slot);
        exit
    }

    /// Runs a job's processes; `stats`: where they record the switches
    /// they reach. A process stopped by its CPU budget does not end the
    /// job: the tests it had not started and the processes after it still
    /// run ([`search_budget`]; the test it was running is the loop), and a
    /// failure among them kills the mutant. Which test of a job comes
    /// first depends on measured times and on the tests that killed the
    /// mutants judged just before, so stopping at a loop made the verdict
    /// (`timeout` or `killed`) depend on them. While it looks for a
    /// failure, a process stopped by its deadline is a loop too; the
    /// search ends when its loops have burnt the job's CPU budget once
    /// more. Outside the search, a process stopped by the deadline ends
    /// the job: its deadline is what the job had left.
    fn run_job(&self, job: &MutantJob, stats: Option<&Path>) -> Result<MutantVerdict, PluginError> {
        let mut elapsed: u64 = 0;
        let mut output = String::new();
        let mut queue: VecDeque<(String, Vec<String>)> = Self::processes(job).into();
        let mut timed_out: Option<MutantVerdict> = None;
        // What the loops met while looking for a failure may still burn.
        let mut search_left = job.cpu_limit_ms.max(crate::mutate::execute::MIN_CPU_MS);
        let mut started: u64 = 0;
        while let Some((binary, names)) = queue.pop_front() {
            if self.cancelled.load(Ordering::SeqCst) {
                return Err(PluginError::Failed("cancelled".into()));
            }
            started += 1;
            let searching = timed_out.is_some();
            let (exit, cpu_limit_ms) = match timed_out {
                None => self.run_within_budget(job, &binary, &names, stats, started, elapsed)?,
                Some(_) if search_left == 0 => break,
                Some(_) => {
                    let (cpu, deadline) = search_budget(&self.baselines, job, &binary, &names);
                    let cpu = cpu.min(search_left);
                    let exit = self.run_process(job, &binary, &names, stats, cpu, deadline)?;
                    let burnt = match exit.kind {
                        _ if out_of_cpu(&exit) => cpu,
                        ExitKind::TimedOut => exit.elapsed_ms.max(cpu),
                        _ => 0,
                    };
                    search_left = search_left.saturating_sub(burnt);
                    (exit, cpu)
                }
            };
            elapsed += exit.elapsed_ms;
            output = format!(
                "{}{}",
                String::from_utf8_lossy(&exit.stdout),
                String::from_utf8_lossy(&exit.stderr)
            );
            let cap = usize::try_from(job.output_cap_bytes).unwrap_or(usize::MAX);
            let exit_code = match exit.kind {
                ExitKind::Exited => ROption::RSome(exit.code),
                _ => ROption::RNone,
            };
            let killed = |detail: String| {
                let after = timed_out.as_ref().map_or_else(String::new, |first| {
                    format!(" (after another test of the job reached its limit: {})", first.detail)
                });
                MutantVerdict {
                    status: MutantStatus::Killed,
                    duration_ms: elapsed,
                    exit_code,
                    output: RString::new(),
                    detail: format!("{detail}{after}").into(),
                    cpu_limited: false,
                }
            };
            match exit.kind {
                ExitKind::Exited if exit.code == 0 => {}
                ExitKind::Exited if exit.code == 101 => return Ok(killed(failed_test(&output))),
                ExitKind::Exited => {
                    return Ok(killed(format!("the test binary exited with {}", exit.code)));
                }
                // A loop while searching: what the process had not
                // started runs next.
                ExitKind::TimedOut if searching => {
                    if let Some(rest) = still_to_run(&binary, &names, &output) {
                        queue.push_front(rest);
                    }
                }
                ExitKind::Signaled if out_of_cpu(&exit) => {
                    if let Some(rest) = still_to_run(&binary, &names, &output) {
                        queue.push_front(rest);
                    }
                    timed_out.get_or_insert_with(|| MutantVerdict {
                        status: MutantStatus::Timeout,
                        duration_ms: 0,
                        exit_code: ROption::RNone,
                        output: tail(&output, cap).into(),
                        detail: format!(
                            "CPU-time limit of {cpu_limit_ms} ms (of the job's {} ms) reached in {}{}",
                            job.cpu_limit_ms,
                            short(&binary),
                            running(&output).map_or_else(String::new, |t| format!(" by {t}"))
                        )
                        .into(),
                        cpu_limited: true,
                    });
                }
                ExitKind::Signaled => {
                    return Ok(killed(format!("the test binary died of signal {}", exit.code)));
                }
                // A hang that burns no CPU time, before any search: the
                // job's deadline is spent, nothing more runs.
                ExitKind::TimedOut => {
                    let first = timed_out.take().unwrap_or_else(|| MutantVerdict {
                        status: MutantStatus::Timeout,
                        duration_ms: 0,
                        exit_code: ROption::RNone,
                        output: tail(&output, cap).into(),
                        detail: "deadline passed; process group killed".into(),
                        cpu_limited: false,
                    });
                    return Ok(MutantVerdict { duration_ms: elapsed, ..first });
                }
            }
        }
        if let Some(first) = timed_out {
            return Ok(MutantVerdict { duration_ms: elapsed, ..first });
        }
        let cap = usize::try_from(job.output_cap_bytes).unwrap_or(usize::MAX);
        Ok(MutantVerdict {
            status: MutantStatus::Survived,
            duration_ms: elapsed,
            exit_code: ROption::RSome(0),
            output: tail(&output, cap).into(),
            detail: "every selected test passed".into(),
            cpu_limited: false,
        })
    }

    /// Runs the `started`-th process of a job, `elapsed` ms after it
    /// began, within the job's budget: its CPU share ([`cpu_share`]) and
    /// what is left of the deadline. Returns how it ended and its CPU
    /// limit.
    fn run_within_budget(
        &self,
        job: &MutantJob,
        binary: &str,
        names: &[String],
        stats: Option<&Path>,
        started: u64,
        elapsed: u64,
    ) -> Result<(ProcExit, u64), PluginError> {
        let (deadline, used) = budget(job, started, elapsed);
        let left = cpu_left(job, used);
        let share = cpu_share(&self.baselines, job, binary, names, used);
        let exit = self.run_process(job, binary, names, stats, share, deadline)?;
        if share < left && out_of_cpu(&exit) {
            // Stopped at its share: a loop, or tests the mutant made
            // slower that would still finish. The same tests without the
            // mutant tell: a quarter of the share or less, and the timeout
            // stands; else they run again with all the job has left, as if
            // the budget were not split.
            let without = MutantJob { mutant_id: RString::new(), ..job.clone() };
            let reference = self.run_process(&without, binary, names, None, left, deadline)?;
            let passes = matches!(reference.kind, ExitKind::Exited) && reference.code == 0;
            if !passes || reference.elapsed_ms.saturating_mul(4) > exit.elapsed_ms {
                let again = self.run_process(job, binary, names, stats, left, deadline)?;
                let again = ProcExit { elapsed_ms: again.elapsed_ms + exit.elapsed_ms, ..again };
                return Ok((again, left));
            }
        }
        Ok((exit, share))
    }

    fn repro_of(&self, job: &MutantJob) -> String {
        let switch = self.switches.get(job.mutant_id.as_str()).copied().unwrap_or(0);
        Self::processes(job)
            .into_iter()
            .map(|(binary, names)| {
                format!(
                    "cd '{}' && NOOT_MUTANT={switch} '{binary}' --exact --test-threads=1 {}",
                    self.dir(&binary),
                    names.join(" ")
                )
            })
            .collect::<Vec<_>>()
            .join(" && ")
    }

    fn cancel_all(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        for id in self.running.lock().unwrap_or_else(|e| e.into_inner()).values() {
            let _ = self.ports.procs.kill_group(*id);
        }
    }
}

/// Whether `binary` is the test target noot makes of the doc examples.
fn is_doc_examples(binary: &str) -> bool {
    short(binary).starts_with(&format!("{}-", super::build::DOC_TARGET))
}

/// The first failing test libtest names (`---- NAME stdout ----`).
fn failed_test(output: &str) -> String {
    output
        .lines()
        .find_map(|line| line.strip_prefix("---- ")?.strip_suffix(" stdout ----"))
        .map_or_else(|| "a test failed".into(), |name| format!("{name} failed"))
}

fn short(binary: &str) -> &str {
    binary.rsplit('/').next().unwrap_or(binary)
}

fn tail(text: &str, cap: usize) -> String {
    crate::engine::text::tail(text, cap).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failing_test_is_named_from_libtests_output() {
        let output =
            "running 2 tests\n.F\nfailures:\n\n---- tests::adds stdout ----\nthread panicked\n";
        assert_eq!(failed_test(output), "tests::adds failed");
        assert_eq!(failed_test("nothing"), "a test failed");
    }

    #[test]
    fn a_stopped_process_says_which_test_it_was_running_and_which_it_had_not_started() {
        let names: Vec<String> = ["a", "m::b", "m::c", "z"].map(String::from).into();
        let output = "\nrunning 4 tests\ntest a ... ok\ntest m::b ... ";
        assert_eq!(running(output), Some("m::b"));
        assert_eq!(unstarted(output, &names), ["m::c", "z"]);
        assert_eq!(running("test a ... ok\n"), None, "it finished");
        assert!(unstarted("Segmentation fault", &names).is_empty(), "not libtest's: nothing known");
        // libtest-mimic pads names to a column.
        let padded = "test a    ... ok\ntest m::b ... ";
        assert_eq!(unstarted(padded, &names), ["m::c", "z"]);
    }

    #[test]
    fn after_a_cpu_limit_the_rest_of_a_job_gets_twice_its_own_time() {
        let job = MutantJob {
            deadline_ms: 5_000,
            startup_ms: 10,
            cpu_limit_ms: 6_000,
            ..MutantJob::default()
        };
        let baselines: HashMap<String, u64> =
            [("quick", 2), ("slow", 900)].map(|(n, ms)| (test_arg("b", n), ms)).into();
        let names = |n: &[&str]| n.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        assert_eq!(search_budget(&baselines, &job, "b", &names(&["quick"])), (20, 1_000));
        assert_eq!(
            search_budget(&baselines, &job, "b", &names(&["quick", "slow"])),
            (1_804, 5_010),
            "never past the job's deadline"
        );
        assert_eq!(
            search_budget(&baselines, &job, "b", &names(&["unmeasured"])),
            (6_000, 5_010),
            "no time: the job's budget, within its deadline"
        );
    }

    #[test]
    fn a_binarys_tests_run_in_doubling_chunks_and_doc_examples_alone() {
        let doc = format!("/t/deps/{}-1f", crate::mutate::lang::rust::build::DOC_TARGET);
        let mut tests: Vec<RString> =
            (1..=8).map(|n| RString::from(test_arg("/t/deps/lib-9a", &format!("t{n}")))).collect();
        tests.insert(1, test_arg(&doc, "src_lib_rs_3").into());
        tests.push(test_arg(&doc, "src_lib_rs_9").into());
        let job = MutantJob { tests: tests.into_iter().collect(), ..MutantJob::default() };
        let processes: Vec<(String, Vec<String>)> = LibtestRunner::processes(&job);
        let sizes: Vec<(bool, usize)> =
            processes.iter().map(|(binary, names)| (binary == &doc, names.len())).collect();
        assert_eq!(sizes, [(false, 1), (false, 2), (false, 4), (false, 1), (true, 1), (true, 1)]);
        assert_eq!(processes[1].1, ["t2", "t3"], "in the job's order");
    }

    #[test]
    fn the_processes_of_a_job_share_its_budget() {
        let job = MutantJob {
            deadline_ms: 5_000,
            startup_ms: 10,
            cpu_limit_ms: 600,
            ..MutantJob::default()
        };
        assert_eq!(budget(&job, 1, 0), (5_010, 0), "the first gets it all");
        // The first took 110 ms, 10 of them its start-up.
        assert_eq!(budget(&job, 2, 110), (4_910, 100));
        assert_eq!(budget(&job, 3, 6_000).0, 1, "spent: the next stops at once");
        let none = HashMap::new();
        let names = ["t".to_owned()];
        assert_eq!(cpu_share(&none, &job, "b", &names, 0), 600, "no times: what is left");
        assert_eq!(cpu_share(&none, &job, "b", &names, 100), 500);
        assert_eq!(cpu_share(&none, &job, "b", &names, 6_000), 250, "never below the floor");
        let unlimited = MutantJob { cpu_limit_ms: 0, ..job };
        assert_eq!(cpu_share(&none, &unlimited, "b", &names, 0), 0);
    }

    #[test]
    fn each_process_gets_the_share_of_the_cpu_budget_its_tests_take() {
        let tests = ["quick", "slow", "other"].map(|n| RString::from(test_arg("b", n)));
        let job = MutantJob {
            tests: tests.into_iter().collect(),
            cpu_limit_ms: 6_000,
            ..MutantJob::default()
        };
        let baselines: HashMap<String, u64> = [("quick", 2), ("slow", 900), ("other", 98)]
            .map(|(n, ms)| (test_arg("b", n), ms))
            .into();
        let names = |n: &[&str]| n.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        // A loop in the quick test costs the floor, not the slow test's budget.
        assert_eq!(cpu_share(&baselines, &job, "b", &names(&["quick"]), 0), 250);
        assert_eq!(cpu_share(&baselines, &job, "b", &names(&["slow", "other"]), 10), 5_988);
        assert_eq!(
            cpu_share(&baselines, &job, "b", &names(&["slow", "other"]), 5_900),
            250,
            "never more than is left, never below the floor"
        );
        let unknown = HashMap::from([(test_arg("b", "quick"), 2)]);
        assert_eq!(
            cpu_share(&unknown, &job, "b", &names(&["quick"]), 0),
            6_000,
            "a test without a time: no split"
        );
    }
}
