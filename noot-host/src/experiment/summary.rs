//! `noot experiment show`: the branch log, aggregated per variant, and an
//! account of the calls numbered in `state.json` that the log lacks:
//! still running, or lost (their noot was killed before it logged them).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::experiment::detach::Pending;
use crate::experiment::mlflow::numeric_metrics;
use crate::experiment::pool::Pool;
use crate::experiment::record::{BranchRecord, BranchStatus};
use crate::experiment::state::ExperimentState;

/// The version of `noot experiment show --format json`.
pub const SHOW_SCHEMA_VERSION: u32 = 1;

/// One variant's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantSummary {
    /// Canonical id.
    pub config_id: String,
    /// Label (from the log if the variant left the pool).
    pub label: String,
    /// Whether the variant is still in the pool.
    pub in_pool: bool,
    /// Branches that ran to an end of their own (skipped and interrupted
    /// ones are not runs).
    pub runs: u64,
    /// Of which succeeded.
    pub successes: u64,
    /// Of which failed.
    pub failures: u64,
    /// Branches that never started.
    pub skipped: u64,
    /// Branches killed unfinished because noot was interrupted.
    pub interrupted: u64,
    /// successes / runs, if it ran.
    pub success_rate: Option<f64>,
    /// Median wall-clock milliseconds of its runs.
    pub median_duration_ms: Option<u64>,
    /// Mean of every numeric metric it reported, by key.
    pub metric_means: BTreeMap<String, f64>,
    /// Runs compared with a primary (never an interrupted or timed-out one).
    pub compared: u64,
    /// Of which did not match.
    pub mismatches: u64,
}

/// The whole summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentSummary {
    /// Document version.
    pub schema_version: u32,
    /// The experiment.
    pub experiment: String,
    /// The strategy configured now.
    pub strategy: String,
    /// Distinct calls in the log.
    pub calls: u64,
    /// Calls numbered so far (`state.json`): logged, running or lost.
    pub planned_calls: u64,
    /// Numbered calls without a record whose process still runs.
    pub calls_in_progress: Vec<u64>,
    /// Numbered calls without a record whose process is gone: it was
    /// killed during them (or could not write the log). `null` when the
    /// branch log is not the experiment's whole record (its `backends`
    /// leave out `jsonl`), so absence from it proves nothing.
    pub unrecorded_calls: Option<Vec<u64>>,
    /// Records read.
    pub records: u64,
    /// Lines that were not valid records (torn by a crash, or foreign).
    pub unreadable_lines: usize,
    /// Per variant: pool order first, then variants only the log knows.
    pub variants: Vec<VariantSummary>,
    /// Calls whose detached shadows are not logged yet.
    pub detached_pending: Pending,
}

fn median(values: &mut [u64]) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 0 { (values[mid - 1] + values[mid]) / 2 } else { values[mid] })
}

/// Aggregates `records` for the variants of `pool`.
pub fn summarise(
    experiment: &str,
    strategy: &str,
    pool: Option<&Pool>,
    records: &[BranchRecord],
    unreadable_lines: usize,
) -> ExperimentSummary {
    let mut order: Vec<(String, String, bool)> = pool
        .map(|p| p.variants.iter().map(|v| (v.id.clone(), v.label.clone(), true)).collect())
        .unwrap_or_default();
    for record in records {
        if !order.iter().any(|(id, _, _)| *id == record.config_id) {
            order.push((record.config_id.clone(), record.label.clone(), false));
        }
    }
    let mut calls: Vec<u64> = records.iter().map(|r| r.call).collect();
    calls.sort_unstable();
    calls.dedup();
    let variants = order
        .into_iter()
        .map(|(id, label, in_pool)| {
            let mine: Vec<&BranchRecord> = records.iter().filter(|r| r.config_id == id).collect();
            let ran: Vec<&&BranchRecord> = mine
                .iter()
                .filter(|r| matches!(r.status, BranchStatus::Success | BranchStatus::Failed))
                .collect();
            let count = |status| mine.iter().filter(|r| r.status == status).count() as u64;
            let successes = ran.iter().filter(|r| r.status == BranchStatus::Success).count() as u64;
            let runs = ran.len() as u64;
            let mut durations: Vec<u64> = ran.iter().map(|r| r.duration_ms).collect();
            let mut sums: BTreeMap<String, (f64, u64)> = BTreeMap::new();
            for record in &ran {
                for (key, value) in numeric_metrics(&record.metrics) {
                    let entry = sums.entry(key).or_default();
                    entry.0 += value;
                    entry.1 += 1;
                }
            }
            VariantSummary {
                config_id: id,
                label,
                in_pool,
                runs,
                successes,
                failures: runs - successes,
                skipped: count(BranchStatus::Skipped),
                interrupted: count(BranchStatus::Interrupted),
                success_rate: (runs > 0).then(|| successes as f64 / runs as f64),
                median_duration_ms: median(&mut durations),
                metric_means: sums.into_iter().map(|(k, (sum, n))| (k, sum / n as f64)).collect(),
                compared: ran.iter().filter(|r| r.matched.is_some()).count() as u64,
                mismatches: ran.iter().filter(|r| r.matched == Some(false)).count() as u64,
            }
        })
        .collect();
    ExperimentSummary {
        schema_version: SHOW_SCHEMA_VERSION,
        experiment: experiment.to_string(),
        strategy: strategy.to_string(),
        calls: calls.len() as u64,
        planned_calls: 0,
        calls_in_progress: Vec::new(),
        unrecorded_calls: None,
        records: records.len() as u64,
        unreadable_lines,
        variants,
        detached_pending: Pending::default(),
    }
}

/// Which numbered calls have no record, and whether each is still running.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallAccount {
    /// Calls numbered so far.
    pub planned: u64,
    /// Without a record, their process alive.
    pub in_progress: Vec<u64>,
    /// Without a record, their process gone (`None`: the log cannot say).
    pub unrecorded: Option<Vec<u64>>,
}

/// Accounts for the calls `state` numbered. Read `state` before the
/// records: a call that ends in between is then found in the log, and a
/// call planned in between is not counted at all. `alive` says whether a
/// process still runs; `complete_log` whether every branch is logged to
/// the file `records` came from.
pub fn account_calls(
    state: &ExperimentState,
    records: &[BranchRecord],
    complete_log: bool,
    alive: impl Fn(u32) -> bool,
) -> CallAccount {
    let recorded: std::collections::BTreeSet<u64> = records.iter().map(|r| r.call).collect();
    let running: std::collections::BTreeSet<u64> =
        state.running.iter().filter(|r| alive(r.pid)).map(|r| r.call).collect();
    let (in_progress, lost): (Vec<u64>, Vec<u64>) = (1..=state.calls)
        .filter(|call| !recorded.contains(call))
        .partition(|call| running.contains(call));
    CallAccount { planned: state.calls, in_progress, unrecorded: complete_log.then_some(lost) }
}

impl ExperimentSummary {
    /// Adds what [`account_calls`] found.
    pub fn with_calls(mut self, account: CallAccount) -> Self {
        self.planned_calls = account.planned;
        self.calls_in_progress = account.in_progress;
        self.unrecorded_calls = account.unrecorded;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::pool::Variant;
    use crate::experiment::record::Role;
    use crate::experiment::state::RunningCall;

    fn record(call: u64) -> BranchRecord {
        let variant = Variant {
            id: "v".into(),
            label: "v".into(),
            config: serde_json::Value::Null,
            source: String::new(),
        };
        BranchRecord::planned("e", call, &variant, "round-robin", Role::Primary)
    }

    #[test]
    fn calls_without_records_are_running_while_their_process_lives_and_lost_after() {
        let state = ExperimentState {
            calls: 6,
            running: vec![RunningCall { call: 5, pid: 10 }, RunningCall { call: 6, pid: 11 }],
            ..ExperimentState::default()
        };
        // 1 and 3 logged; 2 and 4 lost; 5 runs in process 10; 6's process 11 is gone.
        let records = [record(1), record(3), record(3)];
        let account = account_calls(&state, &records, true, |pid| pid == 10);
        assert_eq!(
            account,
            CallAccount { planned: 6, in_progress: vec![5], unrecorded: Some(vec![2, 4, 6]) }
        );
        let unknown = account_calls(&state, &records, false, |pid| pid == 10);
        assert_eq!(unknown.unrecorded, None, "a log without every branch proves nothing");
        assert_eq!(unknown.in_progress, [5]);
    }
}
