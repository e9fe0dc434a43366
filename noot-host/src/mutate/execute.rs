//! Execution: each mutant to run goes through the runner plugin, longest
//! first across the job slots, and its result is persisted as it arrives.
//!
//! Limits. A mutant gets a generous wall-clock deadline (multiplier ×
//! its tests' baseline time, at least the floor) and a tight CPU-time
//! limit (multiplier × the same baseline, at least [`MIN_CPU_MS`]): a busy
//! loop, the usual shape of a mutant that never ends, is stopped after a
//! quarter of a second instead of waiting out the wall-clock floor. A tight
//! limit can be wrong: a test whose first run in a fresh child pays for a
//! lazy import costs more than the stats run measured. So a timeout is
//! re-checked once: the same tests run without the mutant under the same
//! limits. If they fail, the verdict is an error (flaky tests). If the
//! mutant was stopped by its CPU time ([`MutantVerdict::cpu_limited`]) and its
//! tests alone pass in a quarter of its time or less, the timeout stands
//! (the detail says how long they took). "Its time" is the job's CPU
//! budget when the mutant was stopped sooner: a runner that runs a job in
//! several processes may give each the share of the budget its tests take
//! (Rust's libtest runner does), so a loop in the first, quickest test is
//! stopped after a quarter of a second, not after the budget of every
//! slower test behind it. Otherwise, and for every
//! wall-clock timeout (a loaded machine stretches wall-clock time, never
//! CPU time: a mutant that prints 5 MB was called a timeout under load),
//! the mutant runs again with generous limits and that verdict counts. A
//! real infinite loop costs its tight limit plus one quick run of its
//! tests; a hang that burns no CPU costs a generous run more.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use noot_plugin_api::abi_stable::std_types::RString;
use noot_plugin_api::{MutantJob, MutantStatus, MutantVerdict, PluginError, RunnerBox};

use super::catalog::Mutant;
use super::killers::Killers;
use super::lang::KeyAfterRun;
use super::results::{MutantResult, ResultStore, Status};
use super::selection::Selected;
use super::watch;
use crate::engine::events::Event;
use crate::engine::ports::Ports;
use crate::engine::scheduler::{self, JobGraph};
use crate::engine::store::StoreError;
use crate::engine::strays::{InFlight, Sweeper};

/// Output kept per mutant (survived, timeout, error).
const OUTPUT_CAP: u64 = 64 * 1024;
/// The tight CPU-time limit is never below this many milliseconds: what
/// an infinite loop costs. Below it, a test's first run in a fresh child
/// (a lazy import, cold caches) would often pass the limit; the re-check
/// catches such a false timeout, but each costs a re-run.
pub const MIN_CPU_MS: u64 = 250;
/// A CPU-time timeout stands when the mutant ran at least this many times
/// as long as its tests without it.
const CONFIRM_FACTOR: u64 = 4;
/// A wall-clock timeout is run again with this many times its deadline.
const GENEROUS_DEADLINE_FACTOR: u64 = 4;

/// How long a mutant may run, from its tests' baseline time.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `[mutate] timeout_multiplier`.
    pub multiplier: f64,
    /// × the baseline for the tight CPU-time limit: the multiplier, or
    /// less where CPU time is steadier than wall-clock time.
    pub cpu_multiplier: f64,
    /// `[mutate] timeout_floor_secs`: the wall-clock floor.
    pub floor_secs: f64,
    /// Start-up of a fresh test process, as the stats run measured it.
    pub startup_ms: u64,
}

impl Limits {
    /// max(floor, multiplier × baseline): the wall-clock budget of the
    /// tests themselves (a runner that starts a fresh process adds the
    /// measured start-up).
    pub fn deadline_ms(&self, baseline_ms: u64) -> u64 {
        (baseline_ms as f64 * self.multiplier).max(self.floor_secs * 1000.0).ceil() as u64
    }

    /// The tight CPU-time limit of the tests themselves, in milliseconds.
    pub fn tight_cpu_ms(&self, baseline_ms: u64) -> u64 {
        ((baseline_ms as f64 * self.cpu_multiplier).ceil() as u64).max(MIN_CPU_MS)
    }

    /// The CPU-time limit of a re-check: twice the wall-clock budget and
    /// start-up and a second more, so only the deadline can stop it.
    pub fn generous_cpu_ms(&self, baseline_ms: u64) -> u64 {
        (self.deadline_ms(baseline_ms) + self.startup_ms) * 2 + 1000
    }

    /// The job that tests `mutant_id` with `selected` (tight limits).
    pub fn job(&self, slot: u32, mutant_id: &str, selected: &Selected) -> MutantJob {
        MutantJob {
            slot,
            mutant_id: mutant_id.into(),
            tests: selected.tests.iter().map(|t| RString::from(t.as_str())).collect(),
            deadline_ms: self.deadline_ms(selected.baseline_ms),
            startup_ms: self.startup_ms,
            cpu_limit_ms: self.tight_cpu_ms(selected.baseline_ms),
            output_cap_bytes: OUTPUT_CAP,
            fresh_process: selected.fresh,
            call_time_tests: selected.call_time_tests,
            hints_json: selected.hints_json().into(),
        }
    }
}

/// `job` with no mutant: no id, and no `env` hint (a language's way of
/// naming the mutant to a runner that does not know the language; Rust's
/// `NOOT_MUTANT`, absent, is no mutant).
pub fn without_mutant(job: &MutantJob) -> MutantJob {
    let hints = serde_json::from_str::<serde_json::Value>(job.hints_json.as_str())
        .ok()
        .and_then(|mut hints| {
            hints.as_object_mut()?.remove("env");
            Some(hints.to_string())
        })
        .unwrap_or_else(|| job.hints_json.to_string());
    MutantJob { mutant_id: RString::new(), hints_json: hints.into(), ..job.clone() }
}

/// Runs `job`; a timeout is re-checked as the module documentation says.
/// Returns early with whatever it has once `stop` is set.
pub fn judge(
    runner: &RunnerBox,
    job: &MutantJob,
    baseline_ms: u64,
    limits: &Limits,
    stop: &AtomicBool,
) -> Result<MutantVerdict, PluginError> {
    let verdict = runner.run_mutant(job).into_result()?;
    if verdict.status != MutantStatus::Timeout || stop.load(Ordering::SeqCst) {
        return Ok(verdict);
    }
    let cpu_bound = verdict.cpu_limited;
    let without = without_mutant(job);
    let reference = runner.run_mutant(&without).into_result()?;
    match reference.status {
        // Wall-clock against wall-clock, start-up included on both sides.
        MutantStatus::Survived
            if cpu_bound
                && reference.duration_ms.saturating_mul(CONFIRM_FACTOR)
                    <= verdict.duration_ms.max(job.cpu_limit_ms) =>
        {
            let mut verdict = verdict;
            verdict.detail = format!(
                "{}; without the mutant the same tests took {} ms",
                verdict.detail, reference.duration_ms
            )
            .into();
            return Ok(verdict);
        }
        MutantStatus::Survived | MutantStatus::Timeout => {}
        _ => {
            return Ok(MutantVerdict {
                status: MutantStatus::Error,
                detail: format!(
                    "a timeout, but its tests do not pass without the mutant either ({}): flaky or order-dependent tests",
                    reference.detail
                )
                .into(),
                ..verdict
            });
        }
    }
    if stop.load(Ordering::SeqCst) {
        return Ok(verdict);
    }
    let generous = MutantJob {
        deadline_ms: job.deadline_ms.saturating_mul(GENEROUS_DEADLINE_FACTOR),
        cpu_limit_ms: limits.generous_cpu_ms(baseline_ms),
        ..job.clone()
    };
    let mut second = runner.run_mutant(&generous).into_result()?;
    let why = if cpu_bound {
        "too close to the first limit"
    } else {
        "and a wall-clock limit is stretched by a loaded machine"
    };
    second.detail = format!(
        "{} (re-run with generous limits: without the mutant its tests took {} ms, {why})",
        second.detail, reference.duration_ms
    )
    .into();
    Ok(second)
}

/// What [`run_mutants`] works with.
pub struct Execution<'a> {
    /// The runner, prepared.
    pub runner: &'a RunnerBox,
    /// Host ports.
    pub ports: &'a Ports,
    /// Ctrl-C.
    pub stop: &'a AtomicBool,
    /// Parallel mutants.
    pub jobs: usize,
    /// Emit each mutant's reproduction command.
    pub debug: bool,
    /// Per mutant id, its tests.
    pub selection: &'a HashMap<String, Selected>,
    /// Per mutant id, its result key.
    pub keys: &'a HashMap<String, String>,
    /// The key once the mutant ran, where the language makes it anew.
    pub key_after_run: &'a KeyAfterRun,
    /// Where results go as they arrive.
    pub store: &'a ResultStore<'a>,
    /// Time limits.
    pub limits: Limits,
}

/// Runs `to_run` and returns their results by id; mutants interrupted by
/// Ctrl-C have none (they run again next time).
pub fn run_mutants(
    exec: &Execution<'_>,
    to_run: &[&Mutant],
) -> Result<BTreeMap<String, MutantResult>, ExecuteError> {
    let mut graph = JobGraph::new();
    for mutant in to_run {
        let cost = exec.selection.get(&mutant.id).map_or(1, |s| s.baseline_ms.max(1));
        graph.add_job(cost);
    }
    let total = to_run.len() as u64;
    let done = AtomicUsize::new(0);
    let slots =
        Mutex::new((0..u32::try_from(exec.jobs.max(1)).unwrap_or(1)).rev().collect::<Vec<u32>>());
    let failures: Mutex<Option<StoreError>> = Mutex::new(None);
    let killers = Killers::default();
    let (ports, stop, runner) = (exec.ports, exec.stop, exec.runner);
    // What a mutant's tests leave running dies soon after its verdict.
    let in_flight = std::sync::Arc::new(InFlight::default());
    let sweeper = Sweeper::start(std::sync::Arc::clone(&in_flight));

    // Ctrl-C stops the runner's processes at once.
    let on_stop = || {
        runner.cancel();
        ports.procs.kill_all();
    };
    watch::until_done(stop, on_stop, || {
        ports.progress.progress(0, total, "");
        let outcome = scheduler::run(&graph, exec.jobs.max(1), stop, |job| {
            let mutant = to_run[job];
            let selected = exec.selection.get(&mutant.id).cloned().unwrap_or_default();
            let slot = slots.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or(0);
            let mut mutant_job = exec.limits.job(slot, &mutant.id, &selected);
            killers.promote(&mutant.function, &mut mutant_job, &selected);
            if exec.debug {
                ports.events.emit(&Event::Note {
                    message: format!("debug: {}: {}", mutant.id, runner.repro(&mutant_job)),
                });
            }
            let flying = in_flight.enter(&mutant.id);
            let verdict = judge(runner, &mutant_job, selected.baseline_ms, &exec.limits, stop);
            drop(flying);
            if let Ok(v) = &verdict {
                if v.status == MutantStatus::Killed {
                    killers.learn(&mutant.function, &mutant_job, v.detail.as_str());
                }
            }
            slots.lock().unwrap_or_else(|e| e.into_inner()).push(slot);
            if stop.load(Ordering::SeqCst) {
                // Interrupted mid-flight: not a result; it runs again next time.
                return None;
            }
            let key = exec
                .key_after_run
                .key(&mutant.id)
                .or_else(|| exec.keys.get(&mutant.id).cloned())
                .unwrap_or_default();
            // An import-time mutant's selection is its callers and then the
            // whole suite: the result names the callers and says the rest.
            let callers = if selected.fresh {
                let count = usize::try_from(selected.call_time_tests).unwrap_or(usize::MAX);
                selected.node_ids.iter().take(count).cloned().collect()
            } else {
                selected.node_ids.clone()
            };
            let mut result = match verdict {
                Ok(v) => MutantResult {
                    id: mutant.id.clone(),
                    key,
                    status: status_of(v.status),
                    duration_ms: v.duration_ms,
                    tests: callers,
                    whole_suite: selected.fresh,
                    exit_code: v.exit_code.into_option(),
                    detail: v.detail.into_string(),
                    output: v.output.into_string(),
                },
                Err(e) => MutantResult {
                    id: mutant.id.clone(),
                    key,
                    status: Status::Error,
                    duration_ms: 0,
                    tests: callers,
                    whole_suite: selected.fresh,
                    exit_code: None,
                    detail: format!("runner error: {e}"),
                    output: String::new(),
                },
            };
            let kept = exec.store.keep_output(&mutant.id, &result.output);
            let stored = kept.and_then(|kept| {
                result.output = kept;
                exec.store.append(&result)
            });
            if let Err(e) = stored {
                failures.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                stop.store(true, Ordering::SeqCst);
            }
            let finished_count = done.fetch_add(1, Ordering::SeqCst) as u64 + 1;
            ports.events.emit(&Event::MutantFinished {
                id: mutant.id.clone(),
                status: result.status.name().into(),
                duration_ms: result.duration_ms,
            });
            ports.progress.progress(
                finished_count,
                total,
                &format!("{} {}", result.status.name(), mutant.id),
            );
            Some(result)
        });
        ports.progress.finish();
        let swept = sweeper.map_or(0, |sweeper| {
            let killed = sweeper.killed();
            drop(sweeper);
            killed
        });
        if swept > 0 {
            ports.events.emit(&Event::Warning {
                message: format!(
                    "{swept} processes started by tests outlived their mutant's tests and were \
                     killed (a test that starts a server or daemon should stop it)"
                ),
            });
        }
        if let Some(e) = failures.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(ExecuteError::Store(e));
        }
        let outcome = outcome.map_err(|e| ExecuteError::Schedule(e.to_string()))?;
        Ok(outcome.into_iter().flatten().flatten().map(|r| (r.id.clone(), r)).collect())
    })
}

/// Why execution stopped short.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// A result could not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The scheduler refused the job graph.
    #[error("{0}")]
    Schedule(String),
}

fn status_of(status: MutantStatus) -> Status {
    match status {
        MutantStatus::Killed => Status::Killed,
        MutantStatus::Survived => Status::Survived,
        MutantStatus::Timeout => Status::Timeout,
        MutantStatus::Error => Status::Error,
        MutantStatus::Skipped => Status::Skipped,
        MutantStatus::Unviable => Status::Unviable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutate::selection::string_object;

    const LIMITS: Limits =
        Limits { multiplier: 10.0, cpu_multiplier: 10.0, floor_secs: 5.0, startup_ms: 700 };

    #[test]
    fn a_job_without_its_mutant_has_no_id_and_no_env_hint() {
        let mut selected = Selected { tests: vec!["b\tt".into()], ..Selected::default() };
        selected.hints.insert("env".into(), string_object([("NOOT_MUTANT", "17")]));
        selected.hints.insert("dirs".into(), string_object([("b", "/m")]));
        let without = without_mutant(&LIMITS.job(1, "m::f__noot_1", &selected));
        assert_eq!(without.mutant_id.as_str(), "");
        assert_eq!(without.hints_json.as_str(), r#"{"dirs":{"b":"/m"}}"#);
        assert_eq!(without.tests.len(), 1);
    }

    #[test]
    fn deadlines_take_the_floor_or_the_multiple() {
        assert_eq!(LIMITS.deadline_ms(100), 5_000);
        assert_eq!(LIMITS.deadline_ms(2_000), 20_000);
    }

    /// A runner whose mutant "loop" times out and whose tests, without
    /// a mutant, take `reference_ms` (and time out as well if that is
    /// beyond the CPU limit they get).
    struct Scripted {
        reference_ms: u64,
        calls: std::sync::Arc<Mutex<Vec<(String, u64)>>>,
    }

    impl noot_plugin_api::RunnerPlugin for Scripted {
        fn prepare(&self, _: &noot_plugin_api::RunnerSession) -> Result<(), PluginError> {
            Ok(())
        }
        fn run_mutant(&self, job: &MutantJob) -> Result<MutantVerdict, PluginError> {
            self.calls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((job.mutant_id.to_string(), job.cpu_limit_ms));
            // "slow": slow only while the machine is loaded, stopped by
            // the wall-clock deadline (not its CPU time) under tight limits.
            if job.mutant_id.as_str() == "slow" {
                let (status, detail) = if job.deadline_ms > LIMITS.deadline_ms(3) {
                    (MutantStatus::Survived, "every selected test passed")
                } else {
                    (MutantStatus::Timeout, "deadline passed; process group killed")
                };
                return Ok(MutantVerdict {
                    status,
                    duration_ms: job.deadline_ms,
                    exit_code: noot_plugin_api::abi_stable::std_types::ROption::RNone,
                    output: RString::new(),
                    detail: detail.into(),
                    cpu_limited: false,
                });
            }
            let (status, duration_ms) = match job.mutant_id.as_str() {
                "loop" if job.cpu_limit_ms > 5_000 => (MutantStatus::Survived, self.reference_ms),
                "loop" => (MutantStatus::Timeout, job.cpu_limit_ms),
                "" if self.reference_ms > job.cpu_limit_ms => {
                    (MutantStatus::Timeout, job.cpu_limit_ms)
                }
                "" if self.reference_ms == FAILS => (MutantStatus::Killed, 5),
                _ => (MutantStatus::Survived, self.reference_ms),
            };
            Ok(MutantVerdict {
                status,
                duration_ms,
                exit_code: noot_plugin_api::abi_stable::std_types::ROption::RNone,
                output: RString::new(),
                detail: "CPU-time limit reached (test)".into(),
                cpu_limited: status == MutantStatus::Timeout,
            })
        }
        fn repro(&self, _: &MutantJob) -> String {
            String::new()
        }
        fn cancel(&self) {}
        fn shutdown(&self) -> Result<(), PluginError> {
            Ok(())
        }
    }

    fn judged(reference_ms: u64) -> (MutantVerdict, Vec<(String, u64)>) {
        judged_mutant("loop", reference_ms)
    }

    fn judged_mutant(id: &str, reference_ms: u64) -> (MutantVerdict, Vec<(String, u64)>) {
        let calls = std::sync::Arc::default();
        let runner = noot_plugin_api::runner_box(Scripted {
            reference_ms,
            calls: std::sync::Arc::clone(&calls),
        });
        let selected =
            Selected { tests: vec!["t.py::a".into()], baseline_ms: 3, ..Selected::default() };
        let job = LIMITS.job(0, id, &selected);
        let verdict = judge(&runner, &job, 3, &LIMITS, &AtomicBool::new(false)).expect("judged");
        let calls = calls.lock().unwrap_or_else(|e| e.into_inner()).clone();
        (verdict, calls)
    }

    /// A `reference_ms` that makes the tests fail without the mutant.
    const FAILS: u64 = 7;

    #[test]
    fn a_timeout_whose_tests_fail_without_the_mutant_is_an_error() {
        let (verdict, calls) = judged(FAILS);
        assert_eq!(verdict.status, MutantStatus::Error, "{verdict:?}");
        assert!(verdict.detail.contains("do not pass without the mutant"), "{verdict:?}");
        assert_eq!(calls.len(), 2);
    }

    #[test]
    fn a_timeout_stands_when_the_tests_alone_are_quick() {
        let (verdict, calls) = judged(12);
        assert_eq!(verdict.status, MutantStatus::Timeout);
        assert!(verdict.detail.contains("without the mutant the same tests took 12 ms"));
        assert_eq!(calls, [("loop".to_owned(), 250), (String::new(), 250)]);
    }

    #[test]
    fn a_timeout_under_a_limit_too_tight_for_the_tests_is_run_again_generously() {
        let (verdict, calls) = judged(1500);
        assert_eq!(verdict.status, MutantStatus::Survived, "{verdict:?}");
        assert!(verdict.detail.contains("re-run with generous limits"));
        assert_eq!(
            calls,
            [("loop".to_owned(), 250), (String::new(), 250), ("loop".to_owned(), 12_400)]
        );
    }

    /// A quick reference does not confirm a wall-clock timeout: load
    /// stretches wall-clock time, so the mutant runs again generously.
    #[test]
    fn a_wall_clock_timeout_is_run_again_generously_even_when_the_tests_alone_are_quick() {
        let (verdict, calls) = judged_mutant("slow", 12);
        assert_eq!(verdict.status, MutantStatus::Survived, "{verdict:?}");
        assert!(verdict.detail.contains("stretched by a loaded machine"), "{verdict:?}");
        assert_eq!(
            calls,
            [("slow".to_owned(), 250), (String::new(), 250), ("slow".to_owned(), 12_400)]
        );
    }

    #[test]
    fn the_cpu_limit_is_tight_but_never_below_a_quarter_second() {
        assert_eq!(LIMITS.tight_cpu_ms(3), MIN_CPU_MS);
        assert_eq!(LIMITS.tight_cpu_ms(250), 2_500);
        assert_eq!(LIMITS.generous_cpu_ms(100), 12_400);
    }
}
