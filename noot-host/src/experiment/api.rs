//! Experiments over Rust closures, sync or async, with the same config
//! pools, strategy plugins, scrubbers and logs as `noot experiment run`.
//!
//! ```no_run
//! use noot::experiment::api::Experiment;
//!
//! let mut experiment = Experiment::load("ranker")?;
//! let call = experiment.call(|branch| {
//!     let boost: f64 = branch.get("boost").unwrap_or(1.0);
//!     branch.metric("score", boost * 0.5);
//!     Ok::<_, std::io::Error>(format!("ranked with boost {boost}"))
//! })?;
//! let answer = call.into_primary();
//! # Ok::<(), noot::experiment::api::ExperimentError>(())
//! ```
//!
//! A branch's value is compared with the primary's through its JSON form
//! (so `T: Serialize`), and that form, capped, is what the log keeps as its
//! output. Sync closures run on scoped threads, one per branch, and cannot
//! be stopped: their time limits are not enforced. Async closures run
//! concurrently inside the caller's future on any executor; one past its
//! `timeout` (returned branches) or `shadow_timeout` (background ones) is
//! dropped, which is how a future is cancelled, and logged as timed out.
//! A panic in either kind is caught and logged; it never reaches the
//! caller.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::config::{CliOverrides, Config, ConfigError};
use crate::engine::ports::{Env, NoEvents, NoProgress, Ports, ProcessEnv};
use crate::experiment::branch::{Finished, Settle, settle};
use crate::experiment::pool::Variant;
use crate::experiment::prepare::{PrepareError, Prepared, Stateful, prepare};
use crate::experiment::record::{BranchRecord, BranchStatus, ExceptionInfo, Role, rfc3339};
use crate::experiment::state::StateFile;
use crate::experiment::template::lookup;
use crate::plugins::{Registry, RegistryError};

/// Why an experiment could not be loaded or called.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// Its definition is wrong (with file:line).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A plugin could not be loaded or built.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Its state could not be read or written, or its strategy refused.
    #[error("{0}")]
    State(String),
}

impl From<PrepareError> for ExperimentError {
    fn from(error: PrepareError) -> Self {
        match error {
            PrepareError::Config(e) => Self::Config(e),
            PrepareError::Registry(e) => Self::Registry(e),
        }
    }
}

/// What a closure knows about its branch, and where it puts metrics.
#[derive(Clone)]
pub struct Branch {
    inner: Arc<BranchInner>,
}

struct BranchInner {
    config: Value,
    config_id: String,
    label: String,
    role: Role,
    call: u64,
    metrics: Mutex<Map<String, Value>>,
}

impl fmt::Debug for Branch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Branch")
            .field("config_id", &self.inner.config_id)
            .field("label", &self.inner.label)
            .finish()
    }
}

impl Branch {
    fn new(variant: &Variant, role: Role, call: u64) -> Self {
        Self {
            inner: Arc::new(BranchInner {
                config: variant.config.clone(),
                config_id: variant.id.clone(),
                label: variant.label.clone(),
                role,
                call,
                metrics: Mutex::new(Map::new()),
            }),
        }
    }

    /// The variant's whole config.
    pub fn config(&self) -> &Value {
        &self.inner.config
    }

    /// One field, by dotted path, converted; `None` if missing or of another type.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Option<T> {
        lookup(&self.inner.config, path).and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// The whole config as your own type.
    pub fn config_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(self.inner.config.clone())
    }

    /// The variant's canonical id.
    pub fn config_id(&self) -> &str {
        &self.inner.config_id
    }

    /// The variant's label.
    pub fn label(&self) -> &str {
        &self.inner.label
    }

    /// Whether the caller gets this branch's value.
    pub fn is_primary(&self) -> bool {
        self.inner.role == Role::Primary
    }

    /// The call number, from 1, across invocations.
    pub fn call_number(&self) -> u64 {
        self.inner.call
    }

    /// Records a metric (a number, or any JSON value) for the log.
    pub fn metric(&self, key: &str, value: impl Into<Value>) {
        self.inner
            .metrics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), value.into());
    }

    fn take_metrics(&self) -> Map<String, Value> {
        std::mem::take(&mut *self.inner.metrics.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Why a returned branch gave no value.
#[derive(Debug)]
pub enum BranchError<E> {
    /// The closure returned `Err`.
    Failed(E),
    /// The closure panicked (the message).
    Panicked(String),
    /// The future ran past its time limit and was dropped.
    TimedOut,
}

impl<E: fmt::Display> fmt::Display for BranchError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(e) => write!(f, "{e}"),
            Self::Panicked(message) => write!(f, "the branch panicked: {message}"),
            Self::TimedOut => f.write_str("the branch ran past its time limit"),
        }
    }
}

impl<E: fmt::Display + fmt::Debug> std::error::Error for BranchError<E> {}

/// A returned branch's value.
#[derive(Debug)]
pub struct Returned<T, E> {
    /// Its variant's id.
    pub config_id: String,
    /// Its variant's label.
    pub label: String,
    /// What the closure gave.
    pub result: Result<T, BranchError<E>>,
}

/// What one call gave.
#[derive(Debug)]
pub struct CallResult<T, E> {
    /// The call number.
    pub call: u64,
    /// The returned branches, in plan order (background values are only logged).
    pub returned: Vec<Returned<T, E>>,
    /// Every branch's record, as logged (scrubbed).
    pub records: Vec<BranchRecord>,
    /// Logging or strategy problems (none of them lost a record).
    pub problems: Vec<String>,
}

impl<T, E> CallResult<T, E> {
    /// The first returned branch's value (the only one, except under
    /// `multi-branch`).
    pub fn into_primary(self) -> Option<Result<T, BranchError<E>>> {
        self.returned.into_iter().next().map(|r| r.result)
    }
}

/// The environment of this process, seen from another folder.
struct EnvAt(PathBuf);

impl Env for EnvAt {
    fn var(&self, name: &str) -> Option<String> {
        ProcessEnv.var(name)
    }
    fn vars(&self) -> Vec<(String, String)> {
        ProcessEnv.vars()
    }
    fn current_dir(&self) -> std::io::Result<PathBuf> {
        Ok(self.0.clone())
    }
}

/// An experiment from `noot.toml`, run over closures.
pub struct Experiment {
    prepared: Prepared,
    stateful: Stateful,
    ports: Ports,
    // Plugin libraries stay loaded for as long as their objects live.
    _registry: Registry,
}

impl fmt::Debug for Experiment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Experiment").field("name", &self.prepared.name).finish()
    }
}

/// A planned branch before it runs.
struct Planned {
    variant: Variant,
    role: Role,
}

/// What a branch left, before settling.
struct Outcome<T, E> {
    finished: Finished,
    result: Option<Result<T, BranchError<E>>>,
}

impl Experiment {
    /// Experiment `name` from the `noot.toml` found from the working directory.
    pub fn load(name: &str) -> Result<Self, ExperimentError> {
        let cwd = std::env::current_dir().map_err(|e| {
            ExperimentError::State(format!("cannot read the working directory: {e}"))
        })?;
        Self::load_in(&cwd, name)
    }

    /// Experiment `name` from the `noot.toml` found from `dir` upwards.
    pub fn load_in(dir: &Path, name: &str) -> Result<Self, ExperimentError> {
        let mut ports = Ports::real(Arc::new(NoEvents), Arc::new(NoProgress));
        ports.env = Arc::new(EnvAt(dir.to_path_buf()));
        let config: Config =
            crate::config::load(ports.fs.as_ref(), ports.env.as_ref(), &CliOverrides::default())?;
        let mut registry = Registry::with_builtins()?;
        for (path, location) in config.plugins.paths.iter().zip(&config.plugins.path_origins) {
            registry.load(path, location)?;
        }
        let (prepared, stateful) = prepare(&config, &registry, &ports, name)?;
        Ok(Self { prepared, stateful, ports, _registry: registry })
    }

    /// The pool, in order.
    pub fn variants(&self) -> &[Variant] {
        &self.prepared.pool.variants
    }

    /// Warnings from loading (duplicate variants, a missing MLflow URI).
    pub fn warnings(&self) -> &[String] {
        &self.prepared.warnings
    }

    fn plan(&mut self) -> Result<(u64, Vec<Planned>), ExperimentError> {
        let prepared = &self.prepared;
        let state = StateFile::new(self.ports.fs.as_ref(), prepared.dir.clone());
        let (call, plan) = state
            .plan_call(
                &prepared.name,
                &prepared.settings.strategy,
                &mut self.stateful.strategy,
                &prepared.pool.ids(),
                prepared.pool.primary.as_deref(),
            )
            .map_err(|e| ExperimentError::State(e.to_string()))?;
        let planned = prepared
            .pool
            .planned(&plan)
            .into_iter()
            .map(|(variant, role)| Planned { variant: variant.clone(), role })
            .collect();
        Ok((call, planned))
    }

    fn settle<T, E>(&mut self, call: u64, outcomes: Vec<Outcome<T, E>>) -> CallResult<T, E> {
        let prepared = &self.prepared;
        let mut finished: Vec<Finished> = outcomes.iter().map(|o| o.finished.clone()).collect();
        let state = StateFile::new(self.ports.fs.as_ref(), prepared.dir.clone());
        let problems = settle(
            &mut finished,
            &Settle {
                primary: prepared.pool.primary.as_deref(),
                compare: &prepared.settings.compare,
                scrub: &prepared.scrub,
                state: &state,
                strategy_name: &prepared.settings.strategy,
            },
            &mut self.stateful.strategy,
            &mut self.stateful.log,
        );
        let returned = outcomes
            .into_iter()
            .filter(|o| o.finished.record.role == Role::Primary)
            .filter_map(|o| {
                let record = &o.finished.record;
                Some(Returned {
                    config_id: record.config_id.clone(),
                    label: record.label.clone(),
                    result: o.result?,
                })
            })
            .collect();
        CallResult {
            call,
            returned,
            records: finished.into_iter().map(|f| f.record).collect(),
            problems,
        }
    }

    /// One call over a sync closure: the strategy's branches run on scoped
    /// threads, and the returned branches' values come back.
    pub fn call<T, E, F>(&mut self, run: F) -> Result<CallResult<T, E>, ExperimentError>
    where
        F: Fn(&Branch) -> Result<T, E> + Sync,
        T: Serialize + Send,
        E: fmt::Display + Send,
    {
        let (call, planned) = self.plan()?;
        let name = self.prepared.name.clone();
        let strategy = self.prepared.settings.strategy.clone();
        let tail = self.prepared.settings.tail_bytes;
        let clock = self.ports.clock.clone();
        let run = &run;
        let outcomes: Vec<Outcome<T, E>> = std::thread::scope(|scope| {
            let handles: Vec<_> = planned
                .iter()
                .map(|p| {
                    let clock = clock.clone();
                    let (name, strategy) = (&name, &strategy);
                    scope.spawn(move || {
                        let branch = Branch::new(&p.variant, p.role, call);
                        let (started_ms, started_at) = (clock.now_unix_ms(), Instant::now());
                        let result = catch_unwind(AssertUnwindSafe(|| run(&branch)));
                        let duration_ms = millis(started_at.elapsed());
                        let result = match result {
                            Ok(Ok(value)) => Ok(value),
                            Ok(Err(error)) => Err(BranchError::Failed(error)),
                            Err(panic) => Err(BranchError::Panicked(panic_message(panic.as_ref()))),
                        };
                        finish(
                            name,
                            strategy,
                            call,
                            p,
                            &branch,
                            Times { started_ms, ended_ms: clock.now_unix_ms(), duration_ms },
                            result,
                            tail,
                        )
                    })
                })
                .collect();
            handles
                .into_iter()
                .zip(&planned)
                .map(|(handle, p)| {
                    handle.join().unwrap_or_else(|_| {
                        let now = clock.now_unix_ms();
                        let branch = Branch::new(&p.variant, p.role, call);
                        let lost = Err(BranchError::Panicked("the branch thread was lost".into()));
                        finish(&name, &strategy, call, p, &branch, Times::instant(now), lost, tail)
                    })
                })
                .collect()
        });
        Ok(self.settle(call, outcomes))
    }

    /// One call over an async closure: every branch's future is polled
    /// concurrently inside the returned future, on whatever executor awaits
    /// it; a future past its time limit is dropped and logged as timed out.
    pub async fn call_async<T, E, F, Fut>(
        &mut self,
        run: F,
    ) -> Result<CallResult<T, E>, ExperimentError>
    where
        F: Fn(Branch) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        T: Serialize,
        E: fmt::Display,
    {
        let (call, planned) = self.plan()?;
        let settings = &self.prepared.settings;
        let timer = Timer::new();
        let mut running: Vec<Running<T, E, Fut>> = planned
            .iter()
            .map(|p| {
                let limit = match p.role {
                    Role::Primary => settings.timeout_secs,
                    Role::Background => Some(settings.shadow_timeout_secs),
                };
                let branch = Branch::new(&p.variant, p.role, call);
                Running {
                    future: Some(Box::pin(run(branch.clone()))),
                    branch,
                    limit: limit.map(Duration::from_secs_f64),
                    started: None,
                    result: None,
                }
            })
            .collect();
        let clock = self.ports.clock.clone();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for slot in &mut running {
                let Some(future) = slot.future.as_mut() else { continue };
                let (started_ms, started_at) = *slot.started.get_or_insert_with(|| {
                    if let Some(limit) = slot.limit {
                        timer.wake_at(Instant::now() + limit, cx.waker().clone());
                    }
                    (clock.now_unix_ms(), Instant::now())
                });
                let ended = || Times {
                    started_ms,
                    ended_ms: clock.now_unix_ms(),
                    duration_ms: millis(started_at.elapsed()),
                };
                let outcome = match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                    Ok(Poll::Ready(result)) => Some(result.map_err(BranchError::Failed)),
                    Err(panic) => Some(Err(BranchError::Panicked(panic_message(panic.as_ref())))),
                    // Dropping a future past its limit cancels it.
                    Ok(Poll::Pending) if slot.limit.is_some_and(|l| started_at.elapsed() >= l) => {
                        Some(Err(BranchError::TimedOut))
                    }
                    Ok(Poll::Pending) => None,
                };
                match outcome {
                    Some(result) => {
                        slot.future = None;
                        slot.result = Some((result, ended()));
                    }
                    None => pending = true,
                }
            }
            if pending { Poll::Pending } else { Poll::Ready(()) }
        })
        .await;
        timer.stop();
        let name = self.prepared.name.clone();
        let strategy = self.prepared.settings.strategy.clone();
        let tail = self.prepared.settings.tail_bytes;
        let outcomes = running
            .into_iter()
            .zip(&planned)
            .map(|(slot, p)| {
                let now = self.ports.clock.now_unix_ms();
                let (result, times) =
                    slot.result.unwrap_or((Err(BranchError::TimedOut), Times::instant(now)));
                finish(&name, &strategy, call, p, &slot.branch, times, result, tail)
            })
            .collect();
        Ok(self.settle(call, outcomes))
    }
}

/// When a branch ran: Unix ms at start and end, and its duration in ms.
#[derive(Debug, Clone, Copy)]
struct Times {
    started_ms: u64,
    ended_ms: u64,
    duration_ms: u64,
}

impl Times {
    fn instant(at_ms: u64) -> Self {
        Self { started_ms: at_ms, ended_ms: at_ms, duration_ms: 0 }
    }
}

/// An async branch in flight: its future until it ends, then its result
/// with its start and end (Unix ms) and duration (ms).
struct Running<T, E, Fut> {
    future: Option<Pin<Box<Fut>>>,
    branch: Branch,
    limit: Option<Duration>,
    started: Option<(u64, Instant)>,
    result: Option<(Result<T, BranchError<E>>, Times)>,
}

/// Polls a future to completion on this thread: enough to await
/// [`Experiment::call_async`] from sync code or a program without an
/// async runtime (with one, just `.await` it).
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut context) {
            return out;
        }
        // A wake between the poll and the park leaves the token set, so
        // the park returns at once.
        std::thread::park();
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// Builds a branch's record from what its closure gave.
#[allow(clippy::too_many_arguments)]
fn finish<T: Serialize, E: fmt::Display>(
    experiment: &str,
    strategy: &str,
    call: u64,
    planned: &Planned,
    branch: &Branch,
    times: Times,
    result: Result<T, BranchError<E>>,
    tail: usize,
) -> Outcome<T, E> {
    let mut record =
        BranchRecord::planned(experiment, call, &planned.variant, strategy, planned.role);
    record.started_at = rfc3339(times.started_ms);
    record.ended_at = rfc3339(times.ended_ms);
    record.duration_ms = times.duration_ms;
    record.metrics = branch.take_metrics();
    let mut digest = [0u8; 32];
    match &result {
        Ok(value) => {
            record.status = BranchStatus::Success;
            let text =
                serde_json::to_string(value).unwrap_or_else(|e| format!("<not serialisable: {e}>"));
            digest = *blake3::hash(text.as_bytes()).as_bytes();
            let kept = crate::engine::text::tail(&text, tail);
            record.stdout_truncated = kept.len() < text.len();
            record.stdout_tail = kept.to_string();
        }
        Err(error) => {
            record.status = BranchStatus::Failed;
            let (kind, message) = match error {
                BranchError::Failed(e) => ("error", e.to_string()),
                BranchError::Panicked(m) => ("panic", m.clone()),
                BranchError::TimedOut => {
                    record.timed_out = true;
                    ("timeout", "ran past its time limit and was dropped".to_string())
                }
            };
            record.exception = Some(ExceptionInfo { kind: kind.into(), message, traceback: None });
        }
    }
    let finished = Finished {
        record,
        result_digest: digest,
        started_unix_ms: times.started_ms,
        ended_unix_ms: times.ended_ms,
    };
    Outcome { finished, result: (planned.role == Role::Primary).then_some(result) }
}

/// Wakes futures at their deadlines from one thread, runtime-agnostic.
struct Timer {
    shared: Arc<(Mutex<TimerState>, Condvar)>,
}

#[derive(Default)]
struct TimerState {
    due: Vec<(Instant, Waker)>,
    stopped: bool,
    started: bool,
}

impl Timer {
    fn new() -> Self {
        Self { shared: Arc::new((Mutex::new(TimerState::default()), Condvar::new())) }
    }

    fn wake_at(&self, when: Instant, waker: Waker) {
        let (lock, ready) = &*self.shared;
        let mut state = lock.lock().unwrap_or_else(|e| e.into_inner());
        state.due.push((when, waker));
        if !state.started {
            state.started = true;
            let shared = self.shared.clone();
            std::thread::spawn(move || timer_loop(&shared));
        }
        ready.notify_one();
    }

    fn stop(&self) {
        let (lock, ready) = &*self.shared;
        lock.lock().unwrap_or_else(|e| e.into_inner()).stopped = true;
        ready.notify_one();
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn timer_loop(shared: &(Mutex<TimerState>, Condvar)) {
    let (lock, ready) = shared;
    let mut state = lock.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if state.stopped {
            return;
        }
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) =
            std::mem::take(&mut state.due).into_iter().partition(|(when, _)| *when <= now);
        state.due = later;
        for (_, waker) in due {
            waker.wake();
        }
        let wait = state.due.iter().map(|(when, _)| when.saturating_duration_since(now)).min();
        state = match wait {
            Some(wait) => {
                ready.wait_timeout(state, wait).map(|(s, _)| s).unwrap_or_else(|e| e.into_inner().0)
            }
            None => ready.wait(state).unwrap_or_else(|e| e.into_inner()),
        };
    }
}
