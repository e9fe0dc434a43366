//! The `MutationRunner` kind: runs the selected tests of one mutant.

use abi_stable::sabi_trait::prelude::TD_Opaque;
use abi_stable::std_types::{RBox, ROption, RResult, RString, RVec, Tuple2};
use abi_stable::{StableAbi, sabi_trait};

use crate::{PluginError, guard};

/// Everything a runner needs to know once per session.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq, Default)]
pub struct RunnerSession {
    /// The user's project root.
    pub project_dir: RString,
    /// The tree holding the mutated copy (every mutant behind a switch);
    /// tests run with it as their working directory.
    pub mutants_dir: RString,
    /// The test command's leading words (for example `python3 -m pytest`).
    pub test_command: RVec<RString>,
    /// Arguments every test run gets before the selected tests (for
    /// example `-x -q -p no:cacheprovider` and the user's own).
    pub test_args: RVec<RString>,
    /// Arguments that select the whole suite (the configured test paths),
    /// for runners that collect once.
    pub suite_args: RVec<RString>,
    /// Extra variables for every test process (`PYTHONPATH`, …).
    pub env: RVec<Tuple2<RString, RString>>,
    /// How many mutants may run at once (one slot each).
    pub slots: u32,
    /// A folder the runner may write its own files into.
    pub scratch_dir: RString,
    /// Runner-specific options as a JSON object.
    pub options_json: RString,
}

/// One mutant to test.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq, Default)]
pub struct MutantJob {
    /// The job slot (0-based, below [`RunnerSession::slots`]).
    pub slot: u32,
    /// The mutant's id, as the switch in the mutated tree knows it.
    pub mutant_id: RString,
    /// The tests to run, fastest first; stop at the first failure.
    pub tests: RVec<RString>,
    /// Wall-clock budget for the tests themselves, in milliseconds.
    pub deadline_ms: u64,
    /// What starting a fresh test process took in the stats run
    /// (interpreter, pytest, collection), in milliseconds: a runner that
    /// starts one adds it to `deadline_ms`; a warm worker does not.
    pub startup_ms: u64,
    /// CPU-time budget in milliseconds for the test process itself, tight
    /// (a busy loop should cost about this, not the wall-clock deadline);
    /// a runner that starts a fresh process adds its start-up, as for
    /// `deadline_ms`. It must not reach the processes the tests start (an
    /// rlimit would): poll the test process's own CPU time, or treat it as
    /// a floor for a generous rlimit. A verdict stopped by it says so
    /// ([`MutantVerdict::cpu_limited`]); the host re-checks a timeout
    /// before it reports one. A runner that runs a job's tests in several
    /// processes may give each a share of this budget (the share its
    /// tests took in the stats run, never below a quarter of a second):
    /// the host's re-check then holds the tests without the mutant against
    /// the whole budget.
    pub cpu_limit_ms: u64,
    /// How much output to keep.
    pub output_cap_bytes: u64,
    /// The mutant acts while the code under test loads (a Python module's
    /// import, a Rust `static` initialiser), as the stats run saw: it
    /// needs a fresh test process, not a warm one that loaded the code
    /// before the switch was set.
    pub fresh_process: bool,
    /// With `fresh_process`: how many of the leading `tests` call the
    /// mutated function while they run (the rest were selected only because
    /// the function also runs at load time). A runner that keeps a warm
    /// process may try these there first and report a kill or timeout found
    /// that way without starting a fresh process; a survivor still needs the
    /// fresh one, which sees the load-time effects too.
    pub call_time_tests: u32,
    /// What only one language's runners need, as a JSON object (`{}` when
    /// nothing): new hints are added here without changing this layout.
    /// Python: `import_check` (true when a fresh import under the mutant
    /// may be compared with one without it). Rust: `env`, the variables a
    /// test process needs to run this mutant (`{"NOOT_MUTANT": "17"}`, and
    /// `NOOT_STATS_FILE`, where the switches record what the run reaches
    /// for the host's result keys): set every one of them; and
    /// `dirs`, per test binary the folder its tests run in; a Rust job's
    /// `tests` are `BINARY<TAB>TEST`, each run as `BINARY --exact TEST`.
    pub hints_json: RString,
}

/// The outcome of one mutant, as a runner reports it.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MutantStatus {
    /// A test failed: the mutant was detected.
    Killed,
    /// Every selected test passed: the mutant went unnoticed.
    Survived,
    /// The deadline passed.
    Timeout,
    /// The runner or the test harness failed; says nothing about the tests.
    Error,
    /// Not run, on purpose.
    Skipped,
    /// The mutant cannot be built or loaded (a compile error in a
    /// compiled language): it says nothing about the tests and is left out
    /// of the score (Stryker's `CompileError`).
    Unviable,
}

/// What [`MutationRunner::run_mutant`] returns.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct MutantVerdict {
    /// The outcome.
    pub status: MutantStatus,
    /// Wall-clock time of the run.
    pub duration_ms: u64,
    /// The test process's exit code, if it exited.
    pub exit_code: ROption<i32>,
    /// Captured output (capped), kept for survivors, timeouts and errors.
    pub output: RString,
    /// One line of detail (the failing test, the error, …).
    pub detail: RString,
    /// A `Timeout` stopped by the test process's own CPU time
    /// ([`MutantJob::cpu_limit_ms`]), not by the wall clock. Load on the
    /// machine does not change CPU time, so the host confirms such a
    /// timeout with one quick run of the tests without the mutant; any
    /// other timeout is taken as wall-clock (which load stretches) and the
    /// mutant runs again with generous limits before the timeout counts.
    pub cpu_limited: bool,
}

/// A mutation runner, as the host sees it. Implement [`RunnerPlugin`] instead.
#[sabi_trait]
pub trait MutationRunner: Send + Sync {
    /// Prepares a session (start workers, warm caches).
    fn prepare(&self, session: &RunnerSession) -> RResult<(), PluginError>;

    /// Runs one mutant's tests. Called concurrently from up to
    /// [`RunnerSession::slots`] threads, one per slot.
    fn run_mutant(&self, job: &MutantJob) -> RResult<MutantVerdict, PluginError>;

    /// A shell command that runs this mutant by hand (for `--debug`).
    fn repro(&self, job: &MutantJob) -> RString;

    /// Kills every test process now (Ctrl-C); called from another thread
    /// while `run_mutant` calls may be blocked. They return soon after,
    /// with any status: the host discards them.
    fn cancel(&self);

    /// Stops everything the runner started.
    #[sabi(last_prefix_field)]
    fn shutdown(&self) -> RResult<(), PluginError>;
}

/// Boxed [`MutationRunner`], as constructors return it.
pub type RunnerBox = MutationRunner_TO<'static, RBox<()>>;

/// The trait a runner author implements, in plain Rust types.
pub trait RunnerPlugin: Send + Sync + 'static {
    /// See [`MutationRunner::prepare`].
    fn prepare(&self, session: &RunnerSession) -> Result<(), PluginError>;
    /// See [`MutationRunner::run_mutant`].
    fn run_mutant(&self, job: &MutantJob) -> Result<MutantVerdict, PluginError>;
    /// See [`MutationRunner::repro`].
    fn repro(&self, job: &MutantJob) -> String;
    /// See [`MutationRunner::cancel`].
    fn cancel(&self);
    /// See [`MutationRunner::shutdown`].
    fn shutdown(&self) -> Result<(), PluginError>;
}

struct GuardedRunner<T>(T);

impl<T: RunnerPlugin> MutationRunner for GuardedRunner<T> {
    fn prepare(&self, session: &RunnerSession) -> RResult<(), PluginError> {
        guard("MutationRunner::prepare", || self.0.prepare(session))
    }

    fn run_mutant(&self, job: &MutantJob) -> RResult<MutantVerdict, PluginError> {
        guard("MutationRunner::run_mutant", || self.0.run_mutant(job))
    }

    fn repro(&self, job: &MutantJob) -> RString {
        guard("MutationRunner::repro", || Ok(self.0.repro(job)))
            .into_result()
            .unwrap_or_else(|e| format!("(no reproduction command: {e})"))
            .into()
    }

    fn cancel(&self) {
        let _ = guard("MutationRunner::cancel", || {
            self.0.cancel();
            Ok(())
        });
    }

    fn shutdown(&self) -> RResult<(), PluginError> {
        guard("MutationRunner::shutdown", || self.0.shutdown())
    }
}

/// Boxes a [`RunnerPlugin`] with every method panic-guarded.
pub fn runner_box(plugin: impl RunnerPlugin) -> RunnerBox {
    MutationRunner_TO::from_value(GuardedRunner(plugin), TD_Opaque)
}
