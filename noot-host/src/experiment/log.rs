//! Where branch records go: the JSONL store and, if configured, MLflow.
//!
//! The JSONL store (`.noot/experiments/NAME/branches.jsonl`) is the record
//! of truth: one record per line, `schema_version` first, each line
//! appended with one `write` under `flock` and fsynced. MLflow is a mirror:
//! when it fails, the record is written to the JSONL store even if that
//! backend was not configured, the failure is reported once, and the
//! branch's own status is untouched. After a network failure the server is
//! not tried again in this invocation, so a dead server costs one timeout,
//! not one per branch.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::experiment::ExperimentSettings;
use crate::engine::ports::Fs;
use crate::experiment::mlflow::MlflowClient;
use crate::experiment::record::{BranchRecord, to_line};

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

    /// Writes one record to every backend; returns problems worth
    /// reporting (none of which loses the record).
    pub fn write(
        &mut self,
        record: &BranchRecord,
        started_unix_ms: u64,
        ended_unix_ms: u64,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        let mut mirrored = true;
        let mut next_state = None;
        match &mut self.mlflow {
            MlflowState::Unused => {}
            MlflowState::Down => mirrored = false,
            MlflowState::Ready { client, experiment_name, experiment_id } => {
                let result = match experiment_id {
                    Some(id) => Ok(id.clone()),
                    None => client
                        .experiment_id(experiment_name)
                        .inspect(|id| *experiment_id = Some(id.clone())),
                }
                .and_then(|id| client.log_branch(&id, record, started_unix_ms, ended_unix_ms));
                match result {
                    Ok(run) => self.mlflow_runs.push(run),
                    Err(error) => {
                        mirrored = false;
                        problems.push(format!(
                            "{error}; the record is kept in {}",
                            self.fallback.display()
                        ));
                        if error.is_network() {
                            next_state = Some(MlflowState::Down);
                        }
                    }
                }
            }
        }
        if let Some(state) = next_state {
            self.mlflow = state;
        }
        let target = match (&self.jsonl, mirrored) {
            (Some(path), _) => Some(path.clone()),
            (None, false) => Some(self.fallback.clone()),
            (None, true) => None,
        };
        if let Some(path) = target {
            let written = to_line(record).and_then(|line| {
                self.fs
                    .append_synced(&path, &line)
                    .map_err(|e| format!("cannot append to {}: {e}", path.display()))
            });
            if let Err(message) = written {
                problems.push(message);
            }
        }
        problems
    }
}

/// Reads every record of a branch log; a torn or foreign line is skipped
/// and counted, never fatal.
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
            Ok(record) => records.push(record),
            Err(_) => skipped += 1,
        }
    }
    Ok((records, skipped))
}
