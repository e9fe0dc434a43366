//! noot's built-in experiment strategies.
//!
//! - `round-robin`: one variant per call, the one after the variant of the
//!   previous call. The cursor is the id of the last variant run (not an
//!   index), so adding or removing a variant between invocations keeps the
//!   cycle going from where it was instead of skipping or repeating.
//! - `shadow`: the primary variant's result goes to the caller; every other
//!   variant runs beside it in the background and is only logged.
//! - `multi-branch`: every variant runs, and every result goes to the
//!   caller.
//!
//! None of them learns from results (the trait's default `observe`); only
//! `round-robin` has state to persist. Linked into noot and registered
//! through `root_module`, the same function a `cdylib` build exports (with
//! the `export` feature).

use noot_plugin_api::prelude::*;
use serde::{Deserialize, Serialize};

/// None of the built-ins takes options: an options table is a mistake
/// worth reporting rather than ignoring.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoOptions {}

fn no_options(strategy: &str, config: &str) -> Result<(), PluginError> {
    parse_config::<NoOptions>(&format!("{strategy} strategy options"), config).map(|_| ())
}

fn require_variants(call: &CallContext) -> Result<(), PluginError> {
    if call.config_ids.is_empty() {
        return Err(PluginError::failed("the experiment has no config variants"));
    }
    Ok(())
}

#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
struct Cursor {
    /// The variant the previous call ran.
    last: Option<String>,
}

/// `round-robin`.
#[derive(Debug, Default)]
pub struct RoundRobin {
    cursor: Cursor,
}

impl StrategyPlugin for RoundRobin {
    fn plan(&mut self, call: &CallContext) -> Result<CallPlan, PluginError> {
        require_variants(call)?;
        let ids = &call.config_ids;
        let next = match &self.cursor.last {
            Some(last) => ids.iter().position(|id| id.as_str() == last).map_or(0, |i| i + 1),
            None => 0,
        } % ids.len();
        let chosen = ids[next].clone();
        self.cursor.last = Some(chosen.to_string());
        Ok(CallPlan { primary: RVec::from(vec![chosen]), background: RVec::new() })
    }

    fn save_state(&self) -> Result<String, PluginError> {
        serde_json::to_string(&self.cursor).map_err(PluginError::failed)
    }

    fn load_state(&mut self, state_json: &str) -> Result<(), PluginError> {
        let text = state_json.trim();
        if text.is_empty() || text == "null" {
            self.cursor = Cursor::default();
            return Ok(());
        }
        self.cursor = serde_json::from_str(text).map_err(|e| {
            PluginError::failed(format!("saved round-robin cursor is not valid: {e}"))
        })?;
        Ok(())
    }
}

/// `shadow`.
#[derive(Debug, Default)]
pub struct Shadow;

impl StrategyPlugin for Shadow {
    fn plan(&mut self, call: &CallContext) -> Result<CallPlan, PluginError> {
        require_variants(call)?;
        let primary = match call.primary.as_ref().into_option() {
            Some(id) if call.config_ids.contains(id) => id.clone(),
            Some(id) => {
                return Err(PluginError::failed(format!(
                    "the primary variant {id} is not in the pool"
                )));
            }
            None => call.config_ids[0].clone(),
        };
        let background = call.config_ids.iter().filter(|id| **id != primary).cloned().collect();
        Ok(CallPlan { primary: RVec::from(vec![primary]), background })
    }
}

/// `multi-branch`.
#[derive(Debug, Default)]
pub struct MultiBranch;

impl StrategyPlugin for MultiBranch {
    fn plan(&mut self, call: &CallContext) -> Result<CallPlan, PluginError> {
        require_variants(call)?;
        Ok(CallPlan { primary: call.config_ids.clone(), background: RVec::new() })
    }
}

noot_plugin_api::plugin_library! {
    strategies: {
        "round-robin" => {
            version: env!("CARGO_PKG_VERSION"),
            summary: "one variant per call, cycling through the pool; the cursor persists across invocations",
            new: |config: &str, _ports: HostPorts| {
                no_options("round-robin", config)?;
                Ok(RoundRobin::default())
            },
        },
        "shadow" => {
            version: env!("CARGO_PKG_VERSION"),
            summary: "the primary's result is returned; every other variant runs in the background and is only logged",
            new: |config: &str, _ports: HostPorts| {
                no_options("shadow", config)?;
                Ok(Shadow)
            },
        },
        "multi-branch" => {
            version: env!("CARGO_PKG_VERSION"),
            summary: "every variant runs concurrently and every result is returned",
            new: |config: &str, _ports: HostPorts| {
                no_options("multi-branch", config)?;
                Ok(MultiBranch)
            },
        },
    },
}

#[cfg(feature = "export")]
noot_plugin_api::export_plugin_library!(root_module);

#[cfg(test)]
mod tests {
    use super::*;

    fn call(ids: &[&str], primary: Option<&str>) -> CallContext {
        CallContext {
            experiment: "e".into(),
            call_number: 1,
            config_ids: ids.iter().map(|s| RString::from(*s)).collect(),
            primary: primary.map(RString::from).into(),
        }
    }

    fn ids(list: &RVec<RString>) -> Vec<&str> {
        list.iter().map(RString::as_str).collect()
    }

    #[test]
    fn round_robin_cycles_and_resumes_from_saved_state() {
        let pool = ["a", "b", "c"];
        let mut first = RoundRobin::default();
        let picks: Vec<String> = (0..4)
            .map(|_| first.plan(&call(&pool, None)).expect("plans").primary[0].to_string())
            .collect();
        assert_eq!(picks, ["a", "b", "c", "a"]);
        let saved = first.save_state().expect("saves");
        let mut second = RoundRobin::default();
        second.load_state(&saved).expect("loads");
        assert_eq!(second.plan(&call(&pool, None)).expect("plans").primary[0].as_str(), "b");
    }

    #[test]
    fn round_robin_survives_a_pool_that_changed() {
        let mut strategy = RoundRobin::default();
        strategy.load_state(r#"{"last":"gone"}"#).expect("loads");
        assert_eq!(
            strategy.plan(&call(&["x", "y"], None)).expect("plans").primary[0].as_str(),
            "x"
        );
        strategy.load_state(r#"{"last":"y"}"#).expect("loads");
        let plan = strategy.plan(&call(&["x", "new", "y"], None)).expect("plans");
        assert_eq!(plan.primary[0].as_str(), "x", "after the last variant comes the first");
        assert!(strategy.load_state("{not json").is_err());
    }

    #[test]
    fn shadow_returns_the_primary_and_runs_the_rest_in_the_background() {
        let plan = Shadow.plan(&call(&["a", "b", "c"], Some("b"))).expect("plans");
        assert_eq!((ids(&plan.primary), ids(&plan.background)), (vec!["b"], vec!["a", "c"]));
        let plan = Shadow.plan(&call(&["a", "b"], None)).expect("plans");
        assert_eq!((ids(&plan.primary), ids(&plan.background)), (vec!["a"], vec!["b"]));
        assert!(Shadow.plan(&call(&["a"], Some("z"))).is_err());
    }

    #[test]
    fn multi_branch_returns_everything_and_empty_pools_are_refused() {
        let plan = MultiBranch.plan(&call(&["a", "b"], Some("b"))).expect("plans");
        assert_eq!((ids(&plan.primary), plan.background.len()), (vec!["a", "b"], 0));
        assert!(MultiBranch.plan(&call(&[], None)).is_err());
        assert!(RoundRobin::default().plan(&call(&[], None)).is_err());
    }

    #[test]
    fn options_are_refused_because_there_are_none() {
        let err = no_options("shadow", r#"{"epsilon": 1}"#).expect_err("unknown option");
        assert!(err.message().contains("unknown field `epsilon`"), "{err}");
        no_options("shadow", "").expect("empty is fine");
    }
}
