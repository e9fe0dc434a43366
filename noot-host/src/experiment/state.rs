//! What an experiment remembers between invocations, under
//! `.noot/experiments/NAME/`: the call counter and the strategy's own
//! state (`state.json`, replaced atomically), and the branch log
//! (`branches.jsonl`, see [`crate::experiment::log`]).
//!
//! Planning a call and observing its branches are each one
//! read-modify-write of `state.json` under an exclusive lock, so two noot
//! processes running the same experiment at once get distinct call numbers
//! and a round-robin cursor that advances once per call. The strategy
//! reloads the saved state inside the lock every time, because another
//! process may have moved it since this one last looked.
//!
//! Planning also notes which process runs the call (`running`), so that
//! `noot experiment show` can tell a call still running from one whose
//! noot was killed before it logged anything: both have a number and no
//! record yet. The note costs no write of its own (planning writes the
//! state anyway) and is dropped at a later planning once its process is
//! gone, or by that process's next call: one process runs its calls of
//! an experiment one after the other.

use std::path::{Path, PathBuf};

use noot_plugin_api::abi_stable::std_types::{ROption, RString, RVec};
use noot_plugin_api::{BranchObservation, CallContext, CallPlan, StrategyBox};
use serde::{Deserialize, Serialize};

use crate::engine::ports::Fs;
use crate::engine::store::{Store, Versioned};
use crate::experiment::detach::process_alive;

/// `.noot/experiments/NAME` under the project root.
pub fn experiment_dir(root: &Path, name: &str) -> PathBuf {
    root.join(".noot").join("experiments").join(name)
}

/// `state.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExperimentState {
    /// Calls planned so far.
    pub calls: u64,
    /// The strategy the state below belongs to.
    pub strategy: String,
    /// What the strategy saved (JSON text), if it saved anything.
    pub strategy_state: Option<String>,
    /// The latest call of each process that may still be running one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub running: Vec<RunningCall>,
}

/// A call and the process that planned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningCall {
    /// The call.
    pub call: u64,
    /// The noot (or Rust test) process running it.
    pub pid: u32,
}

impl Versioned for ExperimentState {
    const WHAT: &'static str = "experiment state";
    const SCHEMA_VERSION: u32 = 1;
}

/// Why the state could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading, locking or writing failed.
    #[error("{0}")]
    Store(String),
    /// The strategy refused.
    #[error("strategy `{strategy}`: {message}")]
    Strategy {
        /// Which.
        strategy: String,
        /// What it said.
        message: String,
    },
}

/// The persistent side of one experiment.
pub struct StateFile<'a> {
    fs: &'a dyn Fs,
    dir: PathBuf,
}

impl<'a> StateFile<'a> {
    /// The state of the experiment kept in `dir`.
    pub fn new(fs: &'a dyn Fs, dir: PathBuf) -> Self {
        Self { fs, dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// Reads the state (default if none yet).
    pub fn read(&self) -> Result<ExperimentState, StateError> {
        Store::new(self.fs)
            .load::<ExperimentState>(&self.path())
            .map(Option::unwrap_or_default)
            .map_err(|e| StateError::Store(e.to_string()))
    }

    fn locked<T>(
        &self,
        work: impl FnOnce(&mut ExperimentState) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let lock_path = self.dir.join("state.lock");
        let _lock = self
            .fs
            .lock(&lock_path)
            .map_err(|e| StateError::Store(format!("cannot lock {}: {e}", lock_path.display())))?;
        let mut state = self.read()?;
        let before = state.clone();
        let out = work(&mut state)?;
        // Most observations teach a strategy nothing (round-robin, shadow):
        // skip the write and its two fsyncs then.
        if state != before || self.fs.kind(&self.path()).is_none() {
            Store::new(self.fs)
                .save(&self.path(), &state)
                .map_err(|e| StateError::Store(e.to_string()))?;
        }
        Ok(out)
    }

    /// Numbers the next call and asks the strategy for its plan.
    pub fn plan_call(
        &self,
        experiment: &str,
        strategy_name: &str,
        strategy: &mut StrategyBox,
        config_ids: &[String],
        primary: Option<&str>,
    ) -> Result<(u64, CallPlan), StateError> {
        let refused =
            |message: String| StateError::Strategy { strategy: strategy_name.to_string(), message };
        self.locked(|state| {
            restore(state, strategy_name, strategy).map_err(refused)?;
            state.calls += 1;
            let context = CallContext {
                experiment: experiment.into(),
                call_number: state.calls,
                config_ids: config_ids
                    .iter()
                    .map(|id| RString::from(id.as_str()))
                    .collect::<RVec<_>>(),
                primary: primary.map_or(ROption::RNone, |p| ROption::RSome(p.into())),
            };
            let plan = strategy.plan(&context).into_result().map_err(|e| refused(e.to_string()))?;
            for id in plan.primary.iter().chain(plan.background.iter()) {
                if !config_ids.iter().any(|known| known == id.as_str()) {
                    return Err(refused(format!(
                        "planned variant `{id}`, which is not in the pool"
                    )));
                }
            }
            if plan.primary.is_empty() {
                return Err(refused("planned no primary variant for the call".to_string()));
            }
            state.strategy_state = Some(saved(strategy).map_err(refused)?);
            let me = std::process::id();
            state.running.retain(|r| r.pid != me && process_alive(r.pid));
            state.running.push(RunningCall { call: state.calls, pid: me });
            Ok((state.calls, plan))
        })
    }

    /// Tells the strategy how the branches of a call went, and saves what
    /// it learnt.
    pub fn observe(
        &self,
        strategy_name: &str,
        strategy: &mut StrategyBox,
        observations: &[BranchObservation],
    ) -> Result<(), StateError> {
        let refused =
            |message: String| StateError::Strategy { strategy: strategy_name.to_string(), message };
        self.locked(|state| {
            restore(state, strategy_name, strategy).map_err(refused)?;
            for observation in observations {
                strategy.observe(observation).into_result().map_err(|e| refused(e.to_string()))?;
            }
            state.strategy_state = Some(saved(strategy).map_err(refused)?);
            Ok(())
        })
    }
}

/// What the strategy wants persisted.
fn saved(strategy: &StrategyBox) -> Result<String, String> {
    strategy.save_state().into_result().map(RString::into_string).map_err(|e| e.to_string())
}

/// Loads the saved state into the strategy, unless it belongs to another
/// strategy (the experiment switched): then the strategy starts afresh.
fn restore(
    state: &mut ExperimentState,
    strategy_name: &str,
    strategy: &mut StrategyBox,
) -> Result<(), String> {
    if state.strategy != strategy_name {
        state.strategy = strategy_name.to_string();
        state.strategy_state = None;
    }
    let saved = state.strategy_state.as_deref().unwrap_or("null");
    strategy.load_state(saved.into()).into_result().map_err(|e| e.to_string())
}
