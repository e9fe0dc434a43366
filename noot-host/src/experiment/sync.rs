//! `noot experiment sync`: sends the branch records MLflow missed to it.
//!
//! A tracking server that was down when a branch ended leaves that branch
//! in the JSONL store only. Each MLflow run noot creates carries the tags
//! `noot.call` and `noot.config_id`, which name a branch uniquely within
//! an experiment, so the records without a run are the ones to send, and
//! syncing twice sends nothing the second time.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use crate::experiment::mlflow::{MlflowClient, MlflowError};
use crate::experiment::record::{BranchRecord, parse_rfc3339};

/// The version of `noot experiment sync --format json`.
pub const SYNC_SCHEMA_VERSION: u32 = 1;

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncReport {
    /// Document version.
    pub schema_version: u32,
    /// The noot experiment.
    pub experiment: String,
    /// The MLflow experiment.
    pub mlflow_experiment: String,
    /// The tracking server.
    pub tracking_uri: String,
    /// Records in the JSONL store.
    pub records: usize,
    /// Of those, already in MLflow.
    pub already_logged: usize,
    /// Sent now (or, in a dry run, that would be).
    pub sent: Vec<SentRecord>,
    /// Whether nothing was sent on purpose.
    pub dry_run: bool,
    /// Why the sync stopped early, if it did (what was sent stays sent).
    pub error: Option<String>,
}

/// One record sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentRecord {
    /// Its call.
    pub call: u64,
    /// Its variant.
    pub config_id: String,
    /// Its label.
    pub label: String,
    /// The run MLflow made of it (none in a dry run).
    pub run_id: Option<String>,
}

/// The (call, config id) of every run that has both noot tags.
pub fn logged_branches(runs: &[Value]) -> BTreeSet<(u64, String)> {
    runs.iter()
        .filter_map(|run| {
            let tags = run.pointer("/data/tags")?.as_array()?;
            let tag = |key: &str| {
                tags.iter()
                    .find(|t| t.get("key").and_then(Value::as_str) == Some(key))
                    .and_then(|t| t.get("value")?.as_str())
            };
            Some((tag("noot.call")?.parse().ok()?, tag("noot.config_id")?.to_string()))
        })
        .collect()
}

/// The records without a run, in log order (each branch once, even if the
/// log holds it twice).
pub fn missing<'r>(
    records: &'r [BranchRecord],
    logged: &BTreeSet<(u64, String)>,
) -> Vec<&'r BranchRecord> {
    let mut seen = logged.clone();
    records.iter().filter(|r| seen.insert((r.call, r.config_id.clone()))).collect()
}

/// Sends the records of `report.experiment` that MLflow lacks.
pub fn sync(client: &MlflowClient, records: &[BranchRecord], mut report: SyncReport) -> SyncReport {
    report.schema_version = SYNC_SCHEMA_VERSION;
    report.records = records.len();
    let result = (|| -> Result<(), MlflowError> {
        let experiment_id = client.experiment_id(&report.mlflow_experiment)?;
        let logged = logged_branches(&client.search_runs(&experiment_id)?);
        let missing = missing(records, &logged);
        report.already_logged = records.len() - missing.len();
        for record in missing {
            let run_id = if report.dry_run {
                None
            } else {
                let started = parse_rfc3339(&record.started_at).unwrap_or(0);
                let ended = parse_rfc3339(&record.ended_at).unwrap_or(started);
                Some(client.log_branch(&experiment_id, record, started, ended)?)
            };
            report.sent.push(SentRecord {
                call: record.call,
                config_id: record.config_id.clone(),
                label: record.label.clone(),
                run_id,
            });
        }
        Ok(())
    })();
    report.error = result.err().map(|e| e.to_string());
    report
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::experiment::pool::Variant;
    use crate::experiment::record::Role;

    fn record(call: u64, id: &str) -> BranchRecord {
        let variant = Variant {
            id: id.into(),
            label: format!("v={id}"),
            config: json!({}),
            source: String::new(),
        };
        BranchRecord::planned("e", call, &variant, "shadow", Role::Primary)
    }

    #[test]
    fn runs_name_their_branch_by_call_and_config_id_tags() {
        let runs = [
            json!({"data": {"tags": [{"key": "noot.call", "value": "2"}, {"key": "noot.config_id", "value": "abc"}]}}),
            json!({"data": {"tags": [{"key": "noot.call", "value": "x"}, {"key": "noot.config_id", "value": "abc"}]}}),
            json!({"data": {"tags": [{"key": "mlflow.user", "value": "someone"}]}}),
            json!({"info": {}}),
        ];
        assert_eq!(logged_branches(&runs), BTreeSet::from([(2, "abc".to_string())]));
    }

    #[test]
    fn only_records_without_a_run_are_missing_and_each_only_once() {
        let records = [record(1, "a"), record(1, "b"), record(2, "a"), record(1, "b")];
        let logged = BTreeSet::from([(1, "a".to_string())]);
        let missing: Vec<(u64, &str)> =
            missing(&records, &logged).iter().map(|r| (r.call, r.config_id.as_str())).collect();
        assert_eq!(missing, [(1, "b"), (2, "a")]);
    }
}
