//! Where branch records go: the JSONL store and, if configured, MLflow.
//!
//! The JSONL store (`.noot/experiments/NAME/branches.jsonl`) is the record
//! of truth: one record per line, `schema_version` first, each line
//! appended with one `write` under `flock` and fsynced. MLflow is a mirror:
//! when it fails, the record is written to the JSONL store even if that
//! backend was not configured, the failure is reported once, and the
//! branch's own status is untouched. After a network failure the server is
//! not tried again in this invocation, so a dead server costs one timeout,
//! not one per branch. The runs of one call are sent a few at a time.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::config::experiment::ExperimentSettings;
use crate::engine::ports::Fs;
use crate::experiment::mlflow::{MlflowClient, MlflowError};
use crate::experiment::record::{BranchRecord, to_line};

/// Runs sent to MLflow at once.
pub const MLFLOW_CONCURRENCY: usize = 4;

/// The branch log of an experiment.
pub fn branches_path(dir: &std::path::Path) -> PathBuf {
    dir.join("branches.jsonl")
}

enum MlflowState {
    Unused,
    Ready { client: MlflowClient, experiment_name: String, experiment_id: Option<String> },
    Down,
}

/// Every configured backend of one experiment.
pub struct BranchLog {
    fs: Arc<dyn Fs>,
    jsonl: Option<PathBuf>,
    fallback: PathBuf,
    mlflow: MlflowState,
    /// Run ids MLflow gave, in logging order.
    pub mlflow_runs: Vec<String>,
}

impl BranchLog {
    /// The backends of `settings`, for the experiment kept in `dir`, and a
    /// warning when MLflow is wanted but has no tracking URI (neither in
    /// the table nor in `MLFLOW_TRACKING_URI`).
    pub fn new(
        fs: Arc<dyn Fs>,
        env_tracking_uri: Option<String>,
        name: &str,
        settings: &ExperimentSettings,
        dir: &std::path::Path,
    ) -> (Self, Option<String>) {
        let mut warning = None;
        let path = branches_path(dir);
        let wants = |backend: &str| settings.log.wants(backend);
        let mlflow = if wants("mlflow") {
            match settings.log.tracking_uri(env_tracking_uri) {
                Some(uri) => MlflowState::Ready {
                    client: MlflowClient::new(
                        &uri,
                        Duration::from_secs_f64(settings.log.mlflow_timeout_secs),
                    ),
                    experiment_name: settings.log.mlflow_experiment(name),
                    experiment_id: None,
                },
                None => {
                    warning = Some(format!(
                        "experiment `{name}` logs to mlflow but names no server; set log.mlflow.tracking_uri or MLFLOW_TRACKING_URI (records go to the JSONL store meanwhile)"
                    ));
                    MlflowState::Down
                }
            }
        } else {
            MlflowState::Unused
        };
        let log = Self {
            fs,
            jsonl: wants("jsonl").then(|| path.clone()),
            fallback: path,
            mlflow,
            mlflow_runs: Vec::new(),
        };
        (log, warning)
    }

    /// Writes the records of one call to every backend; returns problems
    /// worth reporting (none of which loses a record). MLflow gets up to
    /// [`MLFLOW_CONCURRENCY`] runs at once: each costs three requests, and a
    /// call's branches are independent.
    pub fn write_all(&mut self, entries: &[LogEntry<'_>]) -> Vec<String> {
        let mut problems = Vec::new();
        let mirrored = self.send_to_mlflow(entries, &mut problems);
        for (entry, mirrored) in entries.iter().zip(mirrored) {
            let target = match (&self.jsonl, mirrored) {
                (Some(path), _) => Some(path.clone()),
                (None, false) => Some(self.fallback.clone()),
                (None, true) => None,
            };
            if let Some(path) = target {
                let written = to_line(entry.record).and_then(|line| {
                    self.fs
                        .append_synced(&path, &line)
                        .map_err(|e| format!("cannot append to {}: {e}", path.display()))
                });
                if let Err(message) = written {
                    problems.push(message);
                }
            }
        }
        problems
    }

    /// Sends each record to MLflow if it is in use; says which made it.
    fn send_to_mlflow(
        &mut self,
        entries: &[LogEntry<'_>],
        problems: &mut Vec<String>,
    ) -> Vec<bool> {
        let MlflowState::Ready { client, experiment_name, experiment_id } = &mut self.mlflow else {
            let in_use = matches!(self.mlflow, MlflowState::Down);
            return vec![!in_use; entries.len()];
        };
        let kept = format!("; the record is kept in {}", self.fallback.display());
        let id = match experiment_id {
            Some(id) => id.clone(),
            None => match client.experiment_id(experiment_name) {
                Ok(id) => experiment_id.insert(id).clone(),
                Err(error) => {
                    problems.push(format!("{error}{kept}"));
                    if error.is_network() {
                        self.mlflow = MlflowState::Down;
                    }
                    return vec![false; entries.len()];
                }
            },
        };
        let next = AtomicUsize::new(0);
        let mut results: Vec<Option<Result<String, MlflowError>>> = vec![None; entries.len()];
        let sent: Vec<(usize, Result<String, MlflowError>)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..MLFLOW_CONCURRENCY.min(entries.len()))
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let index = next.fetch_add(1, Ordering::SeqCst);
                            let Some(entry) = entries.get(index) else { return done };
                            let result = client.log_branch(
                                &id,
                                entry.record,
                                entry.started_unix_ms,
                                entry.ended_unix_ms,
                            );
                            done.push((index, result));
                        }
                    })
                })
                .collect();
            workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
        });
        for (index, result) in sent {
            results[index] = Some(result);
        }
        let mut down = false;
        let mirrored = results
            .into_iter()
            .map(|result| match result {
                Some(Ok(run)) => {
                    self.mlflow_runs.push(run);
                    true
                }
                Some(Err(error)) => {
                    // One report for a server that is down, not one per run.
                    if !(error.is_network() && down) {
                        problems.push(format!("{error}{kept}"));
                    }
                    down |= error.is_network();
                    false
                }
                None => {
                    problems.push(format!("a thread sending to MLflow failed{kept}"));
                    false
                }
            })
            .collect();
        if down {
            self.mlflow = MlflowState::Down;
        }
        mirrored
    }
}

/// One record to log, with its times as numbers for MLflow.
pub struct LogEntry<'a> {
    /// The (scrubbed) record.
    pub record: &'a BranchRecord,
    /// Unix ms at its start.
    pub started_unix_ms: u64,
    /// Unix ms at its end.
    pub ended_unix_ms: u64,
}

/// Reads every record of a branch log, each as the current version would
/// have written it; a torn or foreign line is skipped and counted, never
/// fatal.
pub fn read_records(
    fs: &dyn Fs,
    dir: &std::path::Path,
) -> Result<(Vec<BranchRecord>, usize), String> {
    let path = branches_path(dir);
    let bytes = match fs.read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let mut records = Vec::new();
    let mut skipped = 0;
    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        match serde_json::from_slice::<BranchRecord>(line) {
            Ok(mut record) => {
                record.upgrade();
                records.push(record);
            }
            Err(_) => skipped += 1,
        }
    }
    Ok((records, skipped))
}
