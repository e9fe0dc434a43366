//! A small client for MLflow's tracking REST API (`/api/2.0/mlflow/…`).
//!
//! One branch becomes one run: created with its start time and tags,
//! filled by `log-batch` (params: the flattened config; metrics: the
//! numeric metrics and the duration), and closed with `FINISHED`, `FAILED`
//! or `KILLED` and its end time. The experiment is looked up by name and
//! created when missing; a lost race with another process creating it is
//! resolved by looking it up again. Batches respect the server's limits
//! (100 params, 1,000 metrics per request) and values are cut to what every
//! backend store accepts.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::experiment::record::{BranchRecord, BranchStatus};
use crate::experiment::template::leaves;

/// Params per `log-batch` request (MLflow's limit).
const PARAMS_PER_BATCH: usize = 100;
/// Metrics per `log-batch` request (MLflow's limit).
const METRICS_PER_BATCH: usize = 1000;
/// Longest param value every MLflow store accepts.
const PARAM_VALUE_MAX: usize = 6000;
/// Longest key every MLflow store accepts.
const KEY_MAX: usize = 250;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MlflowError {
    /// The server could not be reached or did not answer in time.
    #[error("cannot reach the MLflow server at {uri}: {message}")]
    Network {
        /// The tracking URI.
        uri: String,
        /// What the transport said.
        message: String,
    },
    /// The server answered with an error.
    #[error("MLflow {endpoint} answered {status}: {message}")]
    Server {
        /// The endpoint.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// MLflow's `error_code`, if any.
        code: String,
        /// MLflow's message, or the body.
        message: String,
    },
}

impl MlflowError {
    /// Whether the server itself is unreachable (so further requests in
    /// this invocation would fail the same way).
    pub fn is_network(&self) -> bool {
        matches!(self, Self::Network { .. })
    }
}

/// A tracking server.
pub struct MlflowClient {
    uri: String,
    agent: ureq::Agent,
}

impl MlflowClient {
    /// A client for `uri` (`http://host:port`), each request bounded by `timeout`.
    pub fn new(uri: &str, timeout: Duration) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Self { uri: uri.trim_end_matches('/').to_string(), agent }
    }

    /// The tracking URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    fn request(
        &self,
        endpoint: &str,
        body: Option<&Value>,
        query: &[(&str, &str)],
    ) -> Result<Value, MlflowError> {
        let url = format!("{}/api/2.0/mlflow/{endpoint}", self.uri);
        let network =
            |e: ureq::Error| MlflowError::Network { uri: self.uri.clone(), message: e.to_string() };
        let mut response = match body {
            Some(body) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.to_string())
                .map_err(network)?,
            None => {
                let mut request = self.agent.get(&url);
                for (key, value) in query {
                    request = request.query(*key, *value);
                }
                request.call().map_err(network)?
            }
        };
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().map_err(network)?;
        let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(parsed);
        }
        let code = parsed.get("error_code").and_then(Value::as_str).unwrap_or_default().to_string();
        let message = parsed
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| text.chars().take(300).collect(), String::from);
        Err(MlflowError::Server { endpoint: endpoint.to_string(), status, code, message })
    }

    /// The id of experiment `name`, created if it does not exist.
    pub fn experiment_id(&self, name: &str) -> Result<String, MlflowError> {
        if let Some(id) = self.find_experiment(name)? {
            return Ok(id);
        }
        match self.request("experiments/create", Some(&json!({ "name": name })), &[]) {
            Ok(created) => created
                .get("experiment_id")
                .and_then(Value::as_str)
                .map(String::from)
                .ok_or_else(|| malformed("experiments/create", &created)),
            // Another process created it between our lookup and create.
            Err(MlflowError::Server { code, .. }) if code == "RESOURCE_ALREADY_EXISTS" => self
                .find_experiment(name)?
                .ok_or_else(|| malformed("experiments/get-by-name", &Value::Null)),
            Err(other) => Err(other),
        }
    }

    fn find_experiment(&self, name: &str) -> Result<Option<String>, MlflowError> {
        match self.request("experiments/get-by-name", None, &[("experiment_name", name)]) {
            Ok(found) => Ok(found
                .pointer("/experiment/experiment_id")
                .and_then(Value::as_str)
                .map(String::from)),
            Err(MlflowError::Server { code, status, .. })
                if code == "RESOURCE_DOES_NOT_EXIST" || status == 404 =>
            {
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    /// Logs one branch as one run; returns the run id.
    pub fn log_branch(
        &self,
        experiment_id: &str,
        record: &BranchRecord,
        started_unix_ms: u64,
        ended_unix_ms: u64,
    ) -> Result<String, MlflowError> {
        let tags = vec![
            tag("noot.experiment", &record.experiment),
            tag("noot.call", &record.call.to_string()),
            tag("noot.config_id", &record.config_id),
            tag("noot.label", &record.label),
            tag("noot.status", record.status.as_str()),
            tag("noot.strategy", &record.strategy),
            tag("noot.role", record.role.as_str()),
            tag(
                "noot.matched",
                &record.matched.map_or_else(|| "n/a".to_string(), |m| m.to_string()),
            ),
        ];
        let created = self.request(
            "runs/create",
            Some(&json!({
                "experiment_id": experiment_id,
                "start_time": started_unix_ms,
                "run_name": format!("{} #{} {}", record.experiment, record.call, record.label),
                "tags": tags,
            })),
            &[],
        )?;
        let run_id = created
            .pointer("/run/info/run_id")
            .and_then(Value::as_str)
            .map(String::from)
            .ok_or_else(|| malformed("runs/create", &created))?;

        let params: Vec<Value> =
            leaves(&record.config).into_iter().map(|(k, v)| param(&k, &v)).collect();
        let mut metrics: Vec<Value> = Vec::new();
        let mut numbers = Vec::new();
        flatten_numbers("", &Value::Object(record.metrics.clone()), &mut numbers);
        for (key, value) in numbers {
            metrics.push(metric(&key, value, ended_unix_ms));
        }
        metrics.push(metric("noot.duration_ms", record.duration_ms as f64, ended_unix_ms));
        if let Some(code) = record.exit_code {
            metrics.push(metric("noot.exit_code", f64::from(code), ended_unix_ms));
        }
        let mut param_chunks = params.chunks(PARAMS_PER_BATCH);
        let mut metric_chunks = metrics.chunks(METRICS_PER_BATCH);
        loop {
            let (p, m) = (param_chunks.next(), metric_chunks.next());
            if p.is_none() && m.is_none() {
                break;
            }
            self.request(
                "runs/log-batch",
                Some(&json!({
                    "run_id": run_id,
                    "params": p.unwrap_or_default(),
                    "metrics": m.unwrap_or_default(),
                })),
                &[],
            )?;
        }
        let status = match record.status {
            BranchStatus::Success => "FINISHED",
            BranchStatus::Failed => "FAILED",
            BranchStatus::Interrupted | BranchStatus::Skipped => "KILLED",
        };
        self.request(
            "runs/update",
            Some(&json!({ "run_id": run_id, "status": status, "end_time": ended_unix_ms })),
            &[],
        )?;
        Ok(run_id)
    }

    /// Every run of an experiment, newest first, as MLflow returns them
    /// (`info`, `data.params`, `data.metrics`, `data.tags`).
    pub fn search_runs(&self, experiment_id: &str) -> Result<Vec<Value>, MlflowError> {
        let mut runs = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({ "experiment_ids": [experiment_id], "max_results": 1000 });
            if let Some(t) = &token {
                body["page_token"] = Value::String(t.clone());
            }
            let page = self.request("runs/search", Some(&body), &[])?;
            if let Some(Value::Array(items)) = page.get("runs") {
                runs.extend(items.iter().cloned());
            }
            token = page.get("next_page_token").and_then(Value::as_str).map(String::from);
            if token.as_deref().is_none_or(str::is_empty) {
                return Ok(runs);
            }
        }
    }
}

fn malformed(endpoint: &str, body: &Value) -> MlflowError {
    MlflowError::Server {
        endpoint: endpoint.to_string(),
        status: 200,
        code: String::new(),
        message: format!(
            "unexpected answer: {}",
            body.to_string().chars().take(200).collect::<String>()
        ),
    }
}

/// MLflow keys allow letters, digits, `_ - . / ` and space.
fn clean_key(key: &str) -> String {
    let cleaned: String =
        key.chars()
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ' ') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
    cleaned.chars().take(KEY_MAX).collect()
}

fn tag(key: &str, value: &str) -> Value {
    json!({ "key": key, "value": value.chars().take(PARAM_VALUE_MAX).collect::<String>() })
}

fn param(key: &str, value: &str) -> Value {
    json!({ "key": clean_key(key), "value": value.chars().take(PARAM_VALUE_MAX).collect::<String>() })
}

fn metric(key: &str, value: f64, timestamp: u64) -> Value {
    json!({ "key": clean_key(key), "value": value, "timestamp": timestamp, "step": 0 })
}

/// Metrics: every number (and boolean, as 0/1) leaf as `a.b = value`.
fn flatten_numbers(prefix: &str, value: &Value, out: &mut Vec<(String, f64)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten_numbers(&path, v, out);
            }
        }
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| f.is_finite()) {
                out.push((prefix.to_string(), f));
            }
        }
        Value::Bool(b) => out.push((prefix.to_string(), if *b { 1.0 } else { 0.0 })),
        _ => {}
    }
}

/// The numeric leaves of a metrics object, for summaries.
pub fn numeric_metrics(metrics: &Map<String, Value>) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    flatten_numbers("", &Value::Object(metrics.clone()), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_flatten_to_params_and_metrics_to_numbers() {
        let config = json!({"model": {"size": "small", "layers": 4}, "t": 0.7, "tags": ["a"]});
        let params = leaves(&config);
        assert_eq!(
            params,
            [
                ("model.size".to_string(), "small".to_string()),
                ("model.layers".to_string(), "4".to_string()),
                ("t".to_string(), "0.7".to_string()),
                ("tags".to_string(), "[\"a\"]".to_string()),
            ]
        );
        let metrics = json!({"score": 0.5, "ok": true, "name": "x", "nested": {"f1": 2}});
        let Value::Object(metrics) = metrics else { return };
        assert_eq!(
            numeric_metrics(&metrics),
            [("score".to_string(), 0.5), ("ok".to_string(), 1.0), ("nested.f1".to_string(), 2.0)]
        );
        assert_eq!(clean_key("a:b=c d/e"), "a_b_c d/e");
    }

    #[test]
    fn an_unreachable_server_is_a_network_error() {
        // Port 9 (discard) is closed on any test machine.
        let client = MlflowClient::new("http://127.0.0.1:9", Duration::from_secs(2));
        let err = client.experiment_id("x").expect_err("nothing listens");
        assert!(err.is_network(), "{err}");
        // https is built in (rustls): a closed port is a network failure,
        // not a missing-TLS one.
        let tls = MlflowClient::new("https://127.0.0.1:9", Duration::from_secs(2));
        let tls_err = tls.experiment_id("x").expect_err("nothing listens");
        assert!(tls_err.is_network(), "{tls_err}");
        assert!(!tls_err.to_string().to_lowercase().contains("tls"), "{tls_err}");
        assert!(
            err.to_string().starts_with("cannot reach the MLflow server at http://127.0.0.1:9"),
            "{err}"
        );
    }
}
