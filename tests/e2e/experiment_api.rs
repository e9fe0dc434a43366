//! The Rust library API (`noot::experiment::api`): closures, sync and
//! async, under the same pools, strategies and logs as the command line.

use std::time::{Duration, Instant};

use noot::experiment::api::{BranchError, Experiment, block_on};
use noot::experiment::record::BranchStatus;

fn project(toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("noot.toml"), toml).expect("write");
    dir
}

#[test]
fn round_robin_over_a_sync_closure_persists_across_experiment_instances() {
    let dir = project(
        "[experiment.rr]\nstrategy = \"round-robin\"\n[experiment.rr.expand]\nn = [1, 2, 3]\n",
    );
    let mut seen = Vec::new();
    for _ in 0..2 {
        // A fresh instance per loop stands for a fresh process.
        let mut experiment = Experiment::load_in(dir.path(), "rr").expect("loads");
        for _ in 0..2 {
            let call = experiment
                .call(|branch| {
                    let n: i64 = branch.get("n").ok_or("no n")?;
                    branch.metric("square", n * n);
                    Ok::<_, String>(n)
                })
                .expect("calls");
            seen.push(call.into_primary().expect("primary").expect("ok"));
        }
    }
    assert_eq!(seen, [1, 2, 3, 1]);
    let log = std::fs::read_to_string(dir.path().join(".noot/experiments/rr/branches.jsonl"))
        .expect("log");
    assert_eq!(log.lines().count(), 4);
    assert!(log.contains("\"square\":4"), "{log}");
}

#[test]
fn shadows_are_compared_and_panics_and_errors_are_logged_not_raised() {
    let dir = project(
        "[experiment.sh]\nstrategy = \"shadow\"\nprimary = \"mode=ok\"\n[experiment.sh.expand]\nmode = [\"ok\", \"same\", \"other\", \"err\", \"panic\"]\n",
    );
    let mut experiment = Experiment::load_in(dir.path(), "sh").expect("loads");
    let call = experiment
        .call(|branch| match branch.get::<String>("mode").as_deref() {
            Some("ok" | "same") => Ok(42),
            Some("other") => Ok(7),
            Some("err") => Err("bad input".to_string()),
            _ => panic!("a shadow blew up"),
        })
        .expect("the call itself succeeds");
    assert_eq!(call.returned.len(), 1);
    assert_eq!(call.returned[0].label, "mode=ok");
    let by_label = |label: &str| call.records.iter().find(|r| r.label == label).expect("record");
    assert_eq!(by_label("mode=same").matched, Some(true));
    assert_eq!(by_label("mode=other").matched, Some(false));
    let err = by_label("mode=err");
    assert_eq!(err.status, BranchStatus::Failed);
    assert_eq!(
        err.exception.as_ref().map(|e| (e.kind.as_str(), e.message.as_str())),
        Some(("error", "bad input"))
    );
    let panicked = by_label("mode=panic");
    assert_eq!(panicked.exception.as_ref().map(|e| e.kind.as_str()), Some("panic"));
    assert_eq!(panicked.exception.as_ref().map(|e| e.message.as_str()), Some("a shadow blew up"));
    assert!(matches!(call.into_primary(), Some(Ok(42))));
}

#[test]
fn an_async_shadow_past_its_timeout_is_dropped_and_logged() {
    let dir = project(
        "[experiment.sh]\nstrategy = \"shadow\"\nprimary = \"slow=false\"\nshadow_timeout = 0.3\n[experiment.sh.expand]\nslow = [false, true]\n",
    );
    let mut experiment = Experiment::load_in(dir.path(), "sh").expect("loads");
    let started = Instant::now();
    let call = block_on(experiment.call_async(|branch| async move {
        if branch.get::<bool>("slow") == Some(true) {
            std::future::pending::<()>().await;
        }
        Ok::<_, String>("fast")
    }))
    .expect("calls");
    assert!(started.elapsed() < Duration::from_secs(5), "waited {:?}", started.elapsed());
    let slow = call.records.iter().find(|r| r.label == "slow=true").expect("slow");
    assert!(slow.timed_out, "{slow:?}");
    assert_eq!(slow.exception.as_ref().map(|e| e.kind.as_str()), Some("timeout"));
    assert!(matches!(call.into_primary(), Some(Ok("fast"))));

    let dir = project(
        "[experiment.one]\nstrategy = \"multi-branch\"\ntimeout = 0.2\n[experiment.one.expand]\nx = [1]\n",
    );
    let mut experiment = Experiment::load_in(dir.path(), "one").expect("loads");
    let call = block_on(experiment.call_async(|_| async {
        std::future::pending::<()>().await;
        Ok::<u8, String>(0)
    }))
    .expect("calls");
    assert!(matches!(call.into_primary(), Some(Err(BranchError::TimedOut))));
}

#[test]
fn a_bad_definition_is_a_located_error() {
    let dir = project("[experiment.x]\nstrategy = \"nope\"\n");
    let err = Experiment::load_in(dir.path(), "x").expect_err("unknown strategy");
    let text = err.to_string();
    assert!(text.contains("noot.toml:2:12: no strategy plugin named `nope`"), "{text}");
    let err = Experiment::load_in(dir.path(), "missing").expect_err("unknown experiment");
    assert!(err.to_string().starts_with("no experiment named `missing`"), "{err}");
}

/// A closure sees its branch: the variant's whole config (also as the
/// caller's own type), its id and label, whether it is returned, and the
/// call number, which goes on across calls.
#[test]
fn a_branch_knows_its_variant_its_role_and_its_call() {
    #[derive(serde::Deserialize)]
    struct Model {
        model: String,
        layers: u32,
    }
    let dir = project(
        "[experiment.sh]\nstrategy = \"shadow\"\nprimary = \"model=small\"\n[experiment.sh.expand]\nmodel = [\"small\", \"large\"]\nlayers = [2]\n",
    );
    let mut experiment = Experiment::load_in(dir.path(), "sh").expect("loads");
    assert!(experiment.warnings().is_empty(), "{:?}", experiment.warnings());
    let seen = std::sync::Mutex::new(Vec::new());
    let mut logged = Vec::new();
    for _ in 0..2 {
        let call = experiment
            .call(|branch| {
                let typed: Model = branch.config_as().map_err(|e| e.to_string())?;
                seen.lock().unwrap_or_else(|e| e.into_inner()).push((
                    branch.call_number(),
                    branch.label().to_string(),
                    branch.is_primary(),
                    (typed.model, typed.layers),
                    branch.config().clone(),
                    branch.config_id().to_string(),
                ));
                Ok::<_, String>(())
            })
            .expect("calls");
        logged.extend(call.records);
    }
    let mut seen = seen.into_inner().expect("seen");
    seen.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let shown: Vec<_> = seen.iter().map(|s| (s.0, s.1.as_str(), s.2, s.3.clone())).collect();
    assert_eq!(
        shown,
        [
            (1, "model=large", false, ("large".to_string(), 2)),
            (1, "model=small", true, ("small".to_string(), 2)),
            (2, "model=large", false, ("large".to_string(), 2)),
            (2, "model=small", true, ("small".to_string(), 2)),
        ]
    );
    assert_eq!(seen[1].4, serde_json::json!({ "layers": 2, "model": "small" }));
    for (call, label, _, _, _, config_id) in &seen {
        let record = logged.iter().find(|r| (r.call, &r.label) == (*call, label)).expect("logged");
        assert_eq!(&record.config_id, config_id, "call {call} {label}: the id the log keeps");
    }
}

/// A returned branch that fails or panics reaches the caller as a
/// `BranchError` that says why; the call itself succeeds.
#[test]
fn a_returned_branch_that_fails_or_panics_says_why() {
    let dir = project(
        "[experiment.mb]\nstrategy = \"multi-branch\"\n[experiment.mb.expand]\nmode = [\"err\", \"panic\", \"ok\"]\n",
    );
    let mut experiment = Experiment::load_in(dir.path(), "mb").expect("loads");
    let call = experiment
        .call(|branch| match branch.get::<String>("mode").as_deref() {
            Some("err") => Err("no model loaded".to_string()),
            Some("panic") => panic!("index out of range"),
            _ => Ok(1),
        })
        .expect("the call itself succeeds");
    let shown: Vec<(&str, String)> = call
        .returned
        .iter()
        .map(|r| {
            let result = r.result.as_ref().map_or_else(ToString::to_string, |v| format!("Ok({v})"));
            (r.label.as_str(), result)
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("mode=err", "no model loaded".to_string()),
            ("mode=panic", "the branch panicked: index out of range".to_string()),
            ("mode=ok", "Ok(1)".to_string()),
        ]
    );
}
