//! What every branch goes through once it has run, whatever ran it (a
//! command or a closure): comparison with the call's primary, scrubbing,
//! and the observation its strategy learns from.

use noot_plugin_api::{BranchObservation, StrategyBox};
use serde_json::{Map, Value};

use crate::config::experiment::Compare;
use crate::experiment::log::{BranchLog, LogEntry};
use crate::experiment::record::{BranchRecord, BranchStatus};
use crate::experiment::state::StateFile;
use crate::scrub::ScrubPipeline;

/// A finished branch and what comparison needs beyond its record.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The record (not yet scrubbed until [`scrub_record`] ran).
    pub record: BranchRecord,
    /// A digest of its whole result (stdout, or the closure's value).
    pub result_digest: [u8; 32],
    /// Unix ms at start and end, for backends that want numbers.
    pub started_unix_ms: u64,
    /// Unix ms at the end.
    pub ended_unix_ms: u64,
}

/// Which branch of a call the others are compared with: the configured
/// primary if it ran in this call, else the first returned branch, and
/// only when more than one branch ran.
pub fn reference_index(branches: &[Finished], configured_primary: Option<&str>) -> Option<usize> {
    let ran = branches.iter().filter(|b| b.record.status != BranchStatus::Skipped).count();
    if ran < 2 {
        return None;
    }
    reference_among(branches, configured_primary)
}

/// The branch others would be compared with, however many ran: the
/// configured primary if it ran, else the first branch that ran.
pub fn reference_among(branches: &[Finished], configured_primary: Option<&str>) -> Option<usize> {
    let ran = |b: &Finished| b.record.status != BranchStatus::Skipped;
    configured_primary
        .and_then(|id| branches.iter().position(|b| ran(b) && b.record.config_id == id))
        .or_else(|| branches.iter().position(ran))
}

/// Marks every other branch matched or mismatched against the reference.
/// Only branches that ran to an end of their own are compared (see
/// [`BranchRecord::comparable`](crate::experiment::record::BranchRecord::comparable)):
/// an interrupted or timed-out branch keeps `matched: null`, and so does
/// every branch when the reference itself was cut short.
pub fn compare_all(branches: &mut [Finished], reference: Option<usize>, compare: &Compare) {
    let Some(reference) = reference.filter(|&r| branches[r].record.comparable()) else { return };
    let (ref_digest, ref_metrics, ref_status) = {
        let r = &branches[reference];
        (r.result_digest, r.record.metrics.clone(), r.record.status)
    };
    for (index, branch) in branches.iter_mut().enumerate() {
        if index == reference || !branch.record.comparable() {
            continue;
        }
        let difference = match compare {
            Compare::None => continue,
            _ if branch.record.status != ref_status => Some(format!(
                "status {} against the primary's {}",
                branch.record.status.as_str(),
                ref_status.as_str()
            )),
            Compare::Stdout => (branch.result_digest != ref_digest)
                .then(|| "stdout differs from the primary's".to_string()),
            Compare::Metrics(keys) => {
                metrics_difference(&branch.record.metrics, &ref_metrics, keys)
            }
        };
        branch.record.matched = Some(difference.is_none());
        branch.record.mismatch = difference;
    }
}

fn metrics_difference(
    ours: &Map<String, Value>,
    theirs: &Map<String, Value>,
    keys: &[String],
) -> Option<String> {
    let differing: Vec<String> = keys
        .iter()
        .filter(|key| {
            let lookup = |m: &Map<String, Value>| {
                crate::experiment::template::lookup(&Value::Object(m.clone()), key).cloned()
            };
            let (a, b) = (lookup(ours), lookup(theirs));
            match (a.as_ref().and_then(Value::as_f64), b.as_ref().and_then(Value::as_f64)) {
                (Some(x), Some(y)) => x != y,
                _ => a != b,
            }
        })
        .map(|key| {
            let show = |m: &Map<String, Value>| {
                crate::experiment::template::lookup(&Value::Object(m.clone()), key)
                    .map_or_else(|| "missing".to_string(), ToString::to_string)
            };
            format!("{key}: {} against the primary's {}", show(ours), show(theirs))
        })
        .collect();
    (!differing.is_empty()).then(|| differing.join("; "))
}

/// Runs every text of a record that came from the user's process (and
/// the config's strings, which may hold keys) through the scrubbers. A
/// scrubber that fails takes the text with it: nothing unscrubbed is kept.
pub fn scrub_record(pipeline: &ScrubPipeline, record: &mut BranchRecord) {
    let what = format!("experiment {} branch {}", record.experiment, record.config_id);
    let mut redactions = 0;
    let mut clean = |text: &mut String, field: &str| {
        if text.is_empty() {
            return;
        }
        match pipeline.scrub(text, field, &what) {
            Ok(scrubbed) => {
                redactions += scrubbed.findings.len();
                *text = scrubbed.text;
            }
            Err(error) => *text = format!("<not logged: {error}>"),
        }
    };
    // Labels are made of config values, which may be keys.
    clean(&mut record.label, "label");
    clean(&mut record.stdout_tail, "stdout");
    clean(&mut record.stderr_tail, "stderr");
    if let Some(exception) = &mut record.exception {
        clean(&mut exception.message, "exception");
        if let Some(traceback) = &mut exception.traceback {
            clean(traceback, "traceback");
        }
    }
    if let Some(message) = &mut record.metrics_error {
        clean(message, "metrics");
    }
    let mut metrics = Value::Object(std::mem::take(&mut record.metrics));
    scrub_strings(&mut metrics, &mut |s| clean(s, "metrics"));
    if let Value::Object(map) = metrics {
        record.metrics = map;
    }
    scrub_strings(&mut record.config, &mut |s| clean(s, "config"));
    record.redactions += redactions;
}

fn scrub_strings(value: &mut Value, clean: &mut dyn FnMut(&mut String)) {
    match value {
        Value::String(s) => clean(s),
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_strings(v, clean)),
        Value::Object(map) => map.values_mut().for_each(|v| scrub_strings(v, clean)),
        _ => {}
    }
}

/// What settling a call needs besides its branches.
pub struct Settle<'a> {
    /// The configured primary's id.
    pub primary: Option<&'a str>,
    /// How branches are compared.
    pub compare: &'a Compare,
    /// The scrubbers.
    pub scrub: &'a ScrubPipeline,
    /// The experiment's state.
    pub state: &'a StateFile<'a>,
    /// The strategy's name.
    pub strategy_name: &'a str,
}

/// Compares, scrubs and logs every branch of a call, then tells the
/// strategy; returns the problems worth reporting (nothing here fails the
/// call).
pub fn settle(
    branches: &mut [Finished],
    how: &Settle<'_>,
    strategy: &mut StrategyBox,
    log: &mut BranchLog,
) -> Vec<String> {
    let reference = reference_index(branches, how.primary);
    compare_all(branches, reference, how.compare);
    record_all(branches, how, strategy, log)
}

/// Scrubs and logs branches already compared, then tells the strategy.
pub fn record_all(
    branches: &mut [Finished],
    how: &Settle<'_>,
    strategy: &mut StrategyBox,
    log: &mut BranchLog,
) -> Vec<String> {
    for branch in branches.iter_mut() {
        scrub_record(how.scrub, &mut branch.record);
    }
    let entries: Vec<LogEntry<'_>> = branches
        .iter()
        .map(|b| LogEntry {
            record: &b.record,
            started_unix_ms: b.started_unix_ms,
            ended_unix_ms: b.ended_unix_ms,
        })
        .collect();
    let mut problems = log.write_all(&entries);
    let observations: Vec<_> = branches.iter().filter_map(|b| observation(&b.record)).collect();
    if let Err(error) = how.state.observe(how.strategy_name, strategy, &observations) {
        problems.push(error.to_string());
    }
    problems
}

/// What the strategy learns from a branch (nothing from one that was
/// skipped or interrupted: neither says anything about its variant).
pub fn observation(record: &BranchRecord) -> Option<BranchObservation> {
    let said_something =
        !matches!(record.status, BranchStatus::Skipped | BranchStatus::Interrupted);
    said_something.then(|| BranchObservation {
        config_id: record.config_id.as_str().into(),
        success: record.status == BranchStatus::Success,
        duration_ms: record.duration_ms,
        metrics_json: Value::Object(record.metrics.clone()).to_string().into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::pool::Variant;
    use crate::experiment::record::Role;

    fn branch(name: &str, status: BranchStatus, stdout: &[u8]) -> Finished {
        let variant = Variant {
            id: name.into(),
            label: name.into(),
            config: Value::Null,
            source: String::new(),
        };
        let mut record = BranchRecord::planned("e", 1, &variant, "shadow", Role::Background);
        record.status = status;
        Finished {
            record,
            result_digest: *blake3::hash(stdout).as_bytes(),
            started_unix_ms: 0,
            ended_unix_ms: 0,
        }
    }

    fn matched(branches: &[Finished]) -> Vec<Option<bool>> {
        branches.iter().map(|b| b.record.matched).collect()
    }

    #[test]
    fn branches_cut_short_are_never_compared_nor_compared_with() {
        use BranchStatus::{Failed, Interrupted, Success};
        let mut branches = vec![
            branch("primary", Success, b"x"),
            branch("same", Success, b"x"),
            branch("crashed", Failed, b""),
            branch("interrupted", Interrupted, b"x"),
            branch("timed-out", Failed, b"x"),
        ];
        branches[4].record.timed_out = true;
        compare_all(&mut branches, Some(0), &Compare::Stdout);
        assert_eq!(matched(&branches), [None, Some(true), Some(false), None, None]);
        assert_eq!(branches[3].record.mismatch, None);

        // A primary that timed out (or was interrupted) is no reference.
        let mut branches = vec![branch("primary", Failed, b""), branch("other", Success, b"x")];
        branches[0].record.timed_out = true;
        compare_all(&mut branches, Some(0), &Compare::Stdout);
        assert_eq!(matched(&branches), [None, None]);
        let mut branches =
            vec![branch("primary", Interrupted, b"x"), branch("other", Success, b"x")];
        compare_all(&mut branches, Some(0), &Compare::Stdout);
        assert_eq!(matched(&branches), [None, None]);
    }

    #[test]
    fn an_interrupted_branch_teaches_the_strategy_nothing() {
        assert!(observation(&branch("i", BranchStatus::Interrupted, b"").record).is_none());
        assert!(observation(&branch("f", BranchStatus::Failed, b"").record).is_some());
    }
}
