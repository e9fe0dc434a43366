//! The `mlflow` log backend against a real `mlflow server` on 127.0.0.1:
//! runs, params, metrics, tags and statuses are read back through the
//! server's REST API, and a dead server never fails a branch.
//!
//! The server comes from `NOOT_TEST_MLFLOW` (the `mlflow` executable;
//! `.ci/run` installs one into a venv) or `mlflow` on PATH. Without either
//! the tests say so and pass, except under CI, where they fail: CI must
//! prove the backend.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{copy_tree, fixture, noot};

/// A tracking server in its own process group, killed with it on drop
/// (its workers outlive a SIGTERM to the server alone).
struct MlflowServer {
    child: Child,
    uri: String,
    _dir: tempfile::TempDir,
}

impl Drop for MlflowServer {
    fn drop(&mut self) {
        if let Ok(pgid) = i32::try_from(self.child.id()) {
            // SAFETY: killpg has no memory-safety preconditions.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
    }
}

fn mlflow_executable() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("NOOT_TEST_MLFLOW") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("mlflow")).find(|candidate| candidate.is_file())
}

fn start_server() -> Option<MlflowServer> {
    let Some(mlflow) = mlflow_executable() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the MLflow tests: set NOOT_TEST_MLFLOW to an mlflow executable"
        );
        eprintln!("skipped: no mlflow (set NOOT_TEST_MLFLOW or put mlflow on PATH)");
        return None;
    };
    let port =
        TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = format!("sqlite:///{}", dir.path().join("mlflow.db").display());
    let mut command = Command::new(mlflow);
    command
        .args(["server", "--host", "127.0.0.1", "--port", &port.to_string(), "--workers", "1"])
        .args(["--backend-store-uri", &store, "--default-artifact-root"])
        .arg(dir.path().join("artifacts"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command.spawn().expect("mlflow server starts");
    let server = MlflowServer { child, uri: format!("http://127.0.0.1:{port}"), _dir: dir };
    let deadline = Instant::now() + Duration::from_secs(120);
    let agent = ureq_agent();
    while Instant::now() < deadline {
        if agent.get(&format!("{}/health", server.uri)).call().is_ok_and(|r| r.status() == 200) {
            return Some(server);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("mlflow server did not answer /health within 120 s");
}

fn ureq_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into()
}

fn api(uri: &str, endpoint: &str, body: &Value) -> Value {
    let mut response = ureq_agent()
        .post(&format!("{uri}/api/2.0/mlflow/{endpoint}"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .expect("the server answers");
    let text = response.body_mut().read_to_string().expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{endpoint} answered JSON ({e}): {text}"))
}

fn project(toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&fixture("experiment/basic"), dir.path());
    std::fs::write(dir.path().join("noot.toml"), toml).expect("write noot.toml");
    dir
}

fn jsonl_lines(dir: &Path, name: &str) -> usize {
    std::fs::read_to_string(dir.join(".noot/experiments").join(name).join("branches.jsonl"))
        .map_or(0, |t| t.lines().count())
}

fn tags(run: &Value) -> std::collections::BTreeMap<String, String> {
    run["data"]["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .filter_map(|t| {
                    Some((t["key"].as_str()?.to_string(), t["value"].as_str()?.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn pairs(run: &Value, field: &str) -> std::collections::BTreeMap<String, Value> {
    run["data"][field]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| Some((i["key"].as_str()?.to_string(), i["value"].clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// One server (it takes about 12 s to start) for every scenario that needs one.
#[test]
fn against_a_real_mlflow_server() {
    let Some(server) = start_server() else { return };
    every_branch_becomes_an_mlflow_run_with_its_params_metrics_tags_and_status(&server);
    sync_sends_mlflow_the_records_it_missed_and_only_those(&server);
}

fn runs_of(uri: &str, experiment: &str) -> Vec<Value> {
    let found = api(
        uri,
        "experiments/search",
        &json!({"filter": format!("name = '{experiment}'"), "max_results": 10}),
    );
    let experiments = found["experiments"].as_array().expect("experiments");
    assert_eq!(experiments.len(), 1, "{found}");
    let id = experiments[0]["experiment_id"].as_str().expect("id");
    let runs = api(uri, "runs/search", &json!({"experiment_ids": [id], "max_results": 100}));
    runs["runs"].as_array().cloned().unwrap_or_default()
}

fn sync_sends_mlflow_the_records_it_missed_and_only_those(server: &MlflowServer) {
    let dead = TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let toml = |uri: &str| {
        format!(
            "[experiment.rr]\ncommand = [\"python3\", \"echo_model.py\", \"--model\", \"{{model}}\", \"--temperature\", \"1\"]\nconfigs = [\"configs/\"]\n[experiment.rr.log]\nbackends = [\"jsonl\", \"mlflow\"]\nmlflow.tracking_uri = \"{uri}\"\nmlflow.experiment_name = \"noot-sync\"\n"
        )
    };
    let dir = project(&toml(&format!("http://127.0.0.1:{dead}")));
    let run = noot(dir.path(), &["experiment", "run", "rr", "--calls", "2"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("cannot reach"), "{}", run.stderr);
    std::fs::write(dir.path().join("noot.toml"), toml(&server.uri)).expect("write");
    assert_eq!(noot(dir.path(), &["experiment", "run", "rr"]).code, 0);
    assert_eq!(runs_of(&server.uri, "noot-sync").len(), 1, "only call 3 reached MLflow");

    let dry = noot(dir.path(), &["experiment", "sync", "rr", "--dry-run", "--format", "json"]);
    assert_eq!(dry.code, 0, "{dry:?}");
    let report: Value = serde_json::from_str(&dry.stdout).expect("one JSON document");
    assert_eq!((report["records"].as_u64(), report["already_logged"].as_u64()), (Some(3), Some(1)));
    let calls: Vec<u64> = report["sent"]
        .as_array()
        .expect("sent")
        .iter()
        .filter_map(|s| s["call"].as_u64())
        .collect();
    assert_eq!(calls, [1, 2]);
    assert_eq!(report["sent"][0]["run_id"], Value::Null);
    let mut stable = report.clone();
    stable["tracking_uri"] = Value::from("[server]");
    crate::snapshot!(
        "experiment_sync_dry_run_json",
        serde_json::to_string_pretty(&stable).expect("json")
    );
    assert_eq!(runs_of(&server.uri, "noot-sync").len(), 1, "a dry run sends nothing");

    let sync = noot(dir.path(), &["experiment", "sync", "rr"]);
    assert_eq!(sync.code, 0, "{sync:?}");
    assert_eq!(sync.stdout.lines().count(), 2, "{}", sync.stdout);
    assert!(sync.stderr.contains("sent 2 of 3 record(s)"), "{}", sync.stderr);
    let runs = runs_of(&server.uri, "noot-sync");
    let mut calls: Vec<String> = runs.iter().map(|r| tags(r)["noot.call"].clone()).collect();
    calls.sort();
    assert_eq!(calls, ["1", "2", "3"]);
    let first = runs.iter().find(|r| tags(r)["noot.call"] == "1").expect("call 1");
    assert_eq!(first["info"]["status"], "FINISHED");
    assert_eq!(pairs(first, "params")["model"], "large");
    assert_eq!(pairs(first, "metrics")["score"], 0.9);
    let first_start = first["info"]["start_time"].as_u64().expect("start_time");
    let call3 = runs.iter().find(|r| tags(r)["noot.call"] == "3").expect("call 3");
    assert!(
        first_start <= call3["info"]["start_time"].as_u64().expect("start"),
        "the record's own times"
    );

    let again = noot(dir.path(), &["experiment", "sync", "rr", "--format", "json"]);
    let report: Value = serde_json::from_str(&again.stdout).expect("one JSON document");
    assert_eq!(report["sent"].as_array().map(Vec::len), Some(0), "{report}");
    assert_eq!(report["already_logged"], 3);

    let not_mlflow =
        project("[experiment.j]\ncommand = [\"true\"]\n[experiment.j.expand]\nv = [1]\n");
    let refused = noot(not_mlflow.path(), &["experiment", "sync", "j"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("does not log to mlflow"), "{}", refused.stderr);
}

fn every_branch_becomes_an_mlflow_run_with_its_params_metrics_tags_and_status(
    server: &MlflowServer,
) {
    let dir = project(&format!(
        "[experiment.mb]\ncommand = [\"python3\", \"echo_model.py\", \"--model\", \"{{model}}\", \"--temperature\", \"{{temperature}}\"]\nstrategy = \"multi-branch\"\nconfigs = [\"configs/\"]\n[experiment.mb.expand]\ntemperature = [0.25]\n[experiment.mb.log]\nbackends = [\"jsonl\", \"mlflow\"]\nmlflow.tracking_uri = \"{}\"\nmlflow.experiment_name = \"noot-e2e\"\n",
        server.uri
    ));
    std::fs::write(
        dir.path().join("configs/small.toml"),
        "model = \"small\"\nfail = true\n[nested]\nlayers = 4\n",
    )
    .expect("write");
    let run = noot(dir.path(), &["experiment", "run", "mb"]);
    assert_eq!(run.code, 1, "the small variant fails: {run:?}");
    assert!(!run.stderr.contains("warning"), "MLflow took every record: {}", run.stderr);
    // A second invocation finds the experiment by name instead of creating it.
    assert_eq!(noot(dir.path(), &["experiment", "run", "mb"]).code, 1);
    assert_eq!(jsonl_lines(dir.path(), "mb"), 4);

    let found = api(
        &server.uri,
        "experiments/search",
        &json!({"filter": "name = 'noot-e2e'", "max_results": 10}),
    );
    let experiments = found["experiments"].as_array().expect("experiments");
    assert_eq!(experiments.len(), 1, "{found}");
    let id = experiments[0]["experiment_id"].as_str().expect("id");
    let runs =
        api(&server.uri, "runs/search", &json!({"experiment_ids": [id], "max_results": 100}));
    let runs = runs["runs"].as_array().expect("runs").clone();
    assert_eq!(runs.len(), 4);
    let small = runs
        .iter()
        .find(|r| {
            tags(r).get("noot.label").is_some_and(|l| l.contains("model=small"))
                && tags(r)["noot.call"] == "1"
        })
        .expect("the small run of call 1");
    assert_eq!(small["info"]["status"], "FAILED");
    let params = pairs(small, "params");
    assert_eq!(params["model"], "small");
    assert_eq!(params["nested.layers"], "4");
    assert_eq!(params["temperature"], "0.25");
    let small_tags = tags(small);
    assert_eq!(small_tags["noot.status"], "failed");
    assert_eq!(small_tags["noot.strategy"], "multi-branch");
    assert_eq!(small_tags["noot.role"], "primary");
    assert_eq!(small_tags["noot.config_id"].len(), 12);
    let large = runs.iter().find(|r| tags(r)["noot.label"].contains("model=large")).expect("large");
    assert_eq!(large["info"]["status"], "FINISHED");
    let metrics = pairs(large, "metrics");
    assert_eq!(metrics["score"], 0.9);
    assert_eq!(metrics["length"], 5.0);
    assert!(metrics["noot.duration_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{metrics:?}");
}

#[test]
fn a_dead_tracking_server_never_fails_a_branch_and_loses_no_record() {
    // Nothing listens on a port we bound and released.
    let port = TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let dir = project(&format!(
        "[experiment.rr]\ncommand = [\"python3\", \"echo_model.py\", \"--model\", \"{{model}}\", \"--temperature\", \"1\"]\nconfigs = [\"configs/\"]\n[experiment.rr.log]\nbackends = [\"mlflow\"]\nmlflow.tracking_uri = \"http://127.0.0.1:{port}\"\n"
    ));
    let run = noot(dir.path(), &["experiment", "run", "rr", "--calls", "2"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "large@1.0\nsmall@1.0\n");
    assert!(
        run.stderr.contains(&format!(
            "warning: cannot reach the MLflow server at http://127.0.0.1:{port}"
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("the record is kept in"), "{}", run.stderr);
    assert_eq!(
        run.stderr.matches("cannot reach").count(),
        1,
        "one report, not one per branch: {}",
        run.stderr
    );
    assert_eq!(jsonl_lines(dir.path(), "rr"), 2, "records fall back to the JSONL store");

    // The branches of one call go to MLflow at once: still one report.
    let toml = std::fs::read_to_string(dir.path().join("noot.toml")).expect("toml");
    std::fs::write(
        dir.path().join("noot.toml"),
        toml.replace("[experiment.rr]", "[experiment.mb]\nstrategy = \"multi-branch\"")
            .replace("[experiment.rr.log]", "[experiment.mb.log]"),
    )
    .expect("write");
    let run = noot(dir.path(), &["experiment", "run", "mb"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr.matches("cannot reach").count(), 1, "{}", run.stderr);
    assert_eq!(jsonl_lines(dir.path(), "mb"), 2, "both branches fall back to the JSONL store");
}
