//! A runner plugin driving a Rust run, with what each mutant's own run
//! reaches recorded around it, as the built-in `libtest` runner records it
//! ([`super::reach`]). Without this a plugin's verdict was keyed only on
//! what the stats run saw, and an edit to a function only the mutant sent
//! a test to reused a stale verdict.
//!
//! The host adds `NOOT_STATS_FILE` to the job's `env` hint, which a Rust
//! runner sets for its test processes as it sets `NOOT_MUTANT`; the switch
//! runtime writes each switch reached there. A runner that leaves the
//! variable out writes nothing, and then every mutated function counts as
//! reached ([`Reach::finish`]): sound, at the cost of re-running the
//! mutant after any edit.

use noot_plugin_api::{
    MutantJob, MutantVerdict, PluginError, RunnerBox, RunnerPlugin, RunnerSession,
};

use super::reach::Reach;

/// `inner`, recording reach into `reach`.
pub struct RecordingRunner {
    /// The plugin.
    pub inner: RunnerBox,
    /// Where and how reach is recorded.
    pub reach: Reach,
}

impl RunnerPlugin for RecordingRunner {
    fn prepare(&self, session: &RunnerSession) -> Result<(), PluginError> {
        self.inner.prepare(session).into_result()
    }

    fn run_mutant(&self, job: &MutantJob) -> Result<MutantVerdict, PluginError> {
        // A job without its mutant (the host's checks) records nothing.
        if job.mutant_id.is_empty() {
            return self.inner.run_mutant(job).into_result();
        }
        let scratch = self.reach.start(job.slot);
        let recorded = MutantJob {
            hints_json: with_stats_file(job.hints_json.as_str(), &scratch.display().to_string())
                .into(),
            ..job.clone()
        };
        let verdict = self.inner.run_mutant(&recorded).into_result()?;
        self.reach
            .finish(&job.mutant_id, &scratch)
            .map_err(|e| PluginError::Failed(e.to_string().into()))?;
        Ok(verdict)
    }

    fn repro(&self, job: &MutantJob) -> String {
        self.inner.repro(job).into()
    }

    fn cancel(&self) {
        self.inner.cancel();
    }

    fn shutdown(&self) -> Result<(), PluginError> {
        self.inner.shutdown().into_result()
    }
}

/// `hints` with `NOOT_STATS_FILE` added to its `env` object.
fn with_stats_file(hints: &str, path: &str) -> String {
    let mut hints = serde_json::from_str::<serde_json::Value>(hints)
        .ok()
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::json!({}));
    if !hints["env"].is_object() {
        hints["env"] = serde_json::json!({});
    }
    hints["env"]["NOOT_STATS_FILE"] = path.into();
    hints.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stats_file_joins_the_jobs_env_hint() {
        let hints = with_stats_file(r#"{"env":{"NOOT_MUTANT":"3"},"dirs":{"b":"/m"}}"#, "/s/r-0");
        assert_eq!(
            hints,
            r#"{"env":{"NOOT_MUTANT":"3","NOOT_STATS_FILE":"/s/r-0"},"dirs":{"b":"/m"}}"#
        );
        assert_eq!(with_stats_file("not json", "/s"), r#"{"env":{"NOOT_STATS_FILE":"/s"}}"#);
    }
}
