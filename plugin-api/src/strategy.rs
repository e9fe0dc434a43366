//! The `Strategy` kind: decides, for each call of an experiment, which
//! config variants run, which one's result the caller gets, and learns from
//! finished branches.

use abi_stable::sabi_trait::prelude::TD_Opaque;
use abi_stable::std_types::{RBox, ROption, RResult, RStr, RString, RVec};
use abi_stable::{StableAbi, sabi_trait};

use crate::{PluginError, guard};

/// What a strategy knows when it plans one call.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct CallContext {
    /// The experiment's name.
    pub experiment: RString,
    /// 1 for the first call of this experiment, counting across invocations.
    pub call_number: u64,
    /// Every variant's canonical config id, in pool order.
    pub config_ids: RVec<RString>,
    /// The configured primary variant, if any.
    pub primary: ROption<RString>,
}

/// Which variants run for one call.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq, Default)]
pub struct CallPlan {
    /// Variants whose results the caller gets (their output reaches stdout).
    pub primary: RVec<RString>,
    /// Variants that run in the background and are only logged.
    pub background: RVec<RString>,
}

/// A finished branch, reported back to the strategy.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct BranchObservation {
    /// The variant that ran.
    pub config_id: RString,
    /// Whether it succeeded.
    pub success: bool,
    /// How long it took.
    pub duration_ms: u64,
    /// The metrics it wrote, as a JSON object (`{}` if none).
    pub metrics_json: RString,
}

/// A strategy, as the host sees it. Implement [`StrategyPlugin`] instead.
#[sabi_trait]
pub trait Strategy: Send {
    /// Plans one call.
    fn plan(&mut self, call: &CallContext) -> RResult<CallPlan, PluginError>;

    /// Learns from a finished branch.
    fn observe(&mut self, branch: &BranchObservation) -> RResult<(), PluginError>;

    /// The state to persist between invocations, as JSON.
    fn save_state(&self) -> RResult<RString, PluginError>;

    /// Restores state saved by [`Strategy::save_state`].
    #[sabi(last_prefix_field)]
    fn load_state(&mut self, state_json: RStr<'_>) -> RResult<(), PluginError>;
}

/// Boxed [`Strategy`], as constructors return it.
pub type StrategyBox = Strategy_TO<'static, RBox<()>>;

/// The trait a strategy author implements, in plain Rust types.
pub trait StrategyPlugin: Send + 'static {
    /// Plans one call.
    fn plan(&mut self, call: &CallContext) -> Result<CallPlan, PluginError>;
    /// Learns from a finished branch (by default, nothing).
    fn observe(&mut self, _branch: &BranchObservation) -> Result<(), PluginError> {
        Ok(())
    }
    /// State to persist between invocations, as JSON (`null` for none).
    fn save_state(&self) -> Result<String, PluginError> {
        Ok("null".to_string())
    }
    /// Restores state saved by [`StrategyPlugin::save_state`].
    fn load_state(&mut self, _state_json: &str) -> Result<(), PluginError> {
        Ok(())
    }
}

struct GuardedStrategy<T>(T);

impl<T: StrategyPlugin> Strategy for GuardedStrategy<T> {
    fn plan(&mut self, call: &CallContext) -> RResult<CallPlan, PluginError> {
        guard("Strategy::plan", || self.0.plan(call))
    }

    fn observe(&mut self, branch: &BranchObservation) -> RResult<(), PluginError> {
        guard("Strategy::observe", || self.0.observe(branch))
    }

    fn save_state(&self) -> RResult<RString, PluginError> {
        guard("Strategy::save_state", || self.0.save_state().map(RString::from))
    }

    fn load_state(&mut self, state_json: RStr<'_>) -> RResult<(), PluginError> {
        guard("Strategy::load_state", || self.0.load_state(state_json.as_str()))
    }
}

/// Boxes a [`StrategyPlugin`] with every method panic-guarded.
pub fn strategy_box(plugin: impl StrategyPlugin) -> StrategyBox {
    Strategy_TO::from_value(GuardedStrategy(plugin), TD_Opaque)
}
