//! An example third-party noot plugin: the `epsilon-greedy` experiment
//! strategy, built against `noot-plugin-api` alone.
//!
//! Each call runs one config variant. With probability `epsilon` it
//! explores (a variant chosen at random); otherwise it exploits the variant
//! with the best mean score so far. A branch's score is the metric named by
//! `metric` in the metrics it wrote, or 1.0 for success and 0.0 for failure
//! when it wrote none. Variants never tried go first. The means persist
//! between invocations through `save_state`/`load_state`.
//!
//! ```toml
//! [plugins]
//! paths = ["target/debug/libnoot_example_epsilon_greedy.so"]
//! [experiment.summarise]
//! strategy = "epsilon-greedy"
//! [experiment.summarise.strategy_config]   # handed to the plugin as JSON
//! epsilon = 0.1
//! metric = "score"
//! seed = 42
//! ```

use std::collections::BTreeMap;

use noot_plugin_api::prelude::*;
use noot_plugin_api::serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(crate = "noot_plugin_api::serde", deny_unknown_fields, default)]
struct Settings {
    epsilon: f64,
    metric: String,
    seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self { epsilon: 0.1, metric: "score".into(), seed: 0x5eed }
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
#[serde(crate = "noot_plugin_api::serde")]
struct Arm {
    pulls: u64,
    total: f64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(crate = "noot_plugin_api::serde")]
struct State {
    arms: BTreeMap<String, Arm>,
    rng: u64,
}

struct EpsilonGreedy {
    settings: Settings,
    state: State,
}

impl EpsilonGreedy {
    fn new(config_json: &str) -> Result<Self, PluginError> {
        let settings: Settings = parse_config("epsilon-greedy strategy config", config_json)?;
        if !(0.0..=1.0).contains(&settings.epsilon) {
            return Err(PluginError::invalid_config(format!(
                "epsilon = {}: must be between 0 and 1",
                settings.epsilon
            )));
        }
        let rng = settings.seed.max(1);
        Ok(Self { settings, state: State { arms: BTreeMap::new(), rng } })
    }

    /// xorshift64: small, deterministic for a seed, good enough to explore.
    fn next_unit(&mut self) -> f64 {
        let mut x = self.state.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state.rng = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    fn mean(&self, id: &str) -> Option<f64> {
        self.state.arms.get(id).filter(|a| a.pulls > 0).map(|a| a.total / a.pulls as f64)
    }
}

impl StrategyPlugin for EpsilonGreedy {
    fn plan(&mut self, call: &CallContext) -> Result<CallPlan, PluginError> {
        let ids: Vec<&RString> = call.config_ids.iter().collect();
        if ids.is_empty() {
            return Err(PluginError::failed("the experiment has no config variants"));
        }
        let untried = ids.iter().find(|id| self.mean(id.as_str()).is_none());
        let chosen = if let Some(id) = untried {
            (*id).clone()
        } else if self.next_unit() < self.settings.epsilon {
            let index = ((self.next_unit() * ids.len() as f64) as usize).min(ids.len() - 1);
            ids[index].clone()
        } else {
            let best = ids.iter().max_by(|a, b| {
                let (ma, mb) = (self.mean(a.as_str()), self.mean(b.as_str()));
                ma.unwrap_or(f64::MIN).total_cmp(&mb.unwrap_or(f64::MIN))
            });
            best.map_or_else(|| ids[0].clone(), |id| (*id).clone())
        };
        Ok(CallPlan { primary: RVec::from(vec![chosen]), background: RVec::new() })
    }

    fn observe(&mut self, branch: &BranchObservation) -> Result<(), PluginError> {
        let metrics: noot_plugin_api::serde_json::Value =
            noot_plugin_api::serde_json::from_str(branch.metrics_json.as_str()).unwrap_or_default();
        let score = metrics
            .get(&self.settings.metric)
            .and_then(|v| v.as_f64())
            .unwrap_or(if branch.success { 1.0 } else { 0.0 });
        let arm = self.state.arms.entry(branch.config_id.to_string()).or_default();
        arm.pulls += 1;
        arm.total += score;
        Ok(())
    }

    fn save_state(&self) -> Result<String, PluginError> {
        noot_plugin_api::serde_json::to_string(&self.state).map_err(PluginError::failed)
    }

    fn load_state(&mut self, state_json: &str) -> Result<(), PluginError> {
        if state_json.trim().is_empty() || state_json.trim() == "null" {
            return Ok(());
        }
        self.state = noot_plugin_api::serde_json::from_str(state_json)
            .map_err(|e| PluginError::failed(format!("saved state is not valid: {e}")))?;
        Ok(())
    }
}

noot_plugin_api::plugin_library! {
    strategies: {
        "epsilon-greedy" => {
            version: env!("CARGO_PKG_VERSION"),
            summary: "runs one variant per call: the best mean score so far, or a random one with probability epsilon",
            new: |config: &str, _ports: HostPorts| EpsilonGreedy::new(config),
        },
    },
}

noot_plugin_api::export_plugin_library!(root_module);

#[cfg(test)]
mod tests {
    use super::*;

    fn call(ids: &[&str]) -> CallContext {
        CallContext {
            experiment: "e".into(),
            call_number: 1,
            config_ids: ids.iter().map(|s| RString::from(*s)).collect(),
            primary: ROption::RNone,
        }
    }

    fn observe(s: &mut EpsilonGreedy, id: &str, score: f64) {
        let metrics = format!("{{\"score\": {score}}}");
        let branch = BranchObservation {
            config_id: id.into(),
            success: true,
            duration_ms: 1,
            metrics_json: metrics.into(),
        };
        s.observe(&branch).expect("observes");
    }

    #[test]
    fn tries_every_variant_then_exploits_the_best() {
        let mut s = EpsilonGreedy::new(r#"{"epsilon": 0.0}"#).expect("valid");
        let ids = ["a", "b", "c"];
        for expected in ids {
            let plan = s.plan(&call(&ids)).expect("plans");
            assert_eq!(plan.primary[0].as_str(), expected);
            observe(&mut s, expected, if expected == "b" { 0.9 } else { 0.1 });
        }
        for _ in 0..5 {
            assert_eq!(s.plan(&call(&ids)).expect("plans").primary[0].as_str(), "b");
        }
    }

    #[test]
    fn explores_with_probability_epsilon() {
        let mut s = EpsilonGreedy::new(r#"{"epsilon": 1.0, "seed": 7}"#).expect("valid");
        let ids = ["a", "b", "c"];
        for id in ids {
            observe(&mut s, id, 0.5);
        }
        let picks: std::collections::BTreeSet<String> =
            (0..50).map(|_| s.plan(&call(&ids)).expect("plans").primary[0].to_string()).collect();
        assert_eq!(picks.len(), 3, "pure exploration reaches every variant");
    }

    #[test]
    fn state_round_trips_and_bad_config_is_refused() {
        let mut s = EpsilonGreedy::new("{}").expect("defaults");
        observe(&mut s, "a", 1.0);
        let saved = s.save_state().expect("saves");
        let mut t = EpsilonGreedy::new("{}").expect("defaults");
        t.load_state(&saved).expect("loads");
        assert_eq!(t.state.arms, s.state.arms);
        assert!(EpsilonGreedy::new(r#"{"epsilon": 2}"#).is_err());
        let err = EpsilonGreedy::new(r#"{"epsilom": 0.1}"#).err().expect("typo");
        assert!(err.message().contains("unknown field `epsilom`"), "{err}");
    }
}
