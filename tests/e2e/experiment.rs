//! `noot experiment` on fixture experiments over `echo_model.py`, a real
//! Python branch: round-robin across invocations, shadow, multi-branch, a
//! third-party strategy from a cdylib, failures, secrets, bad definitions,
//! and concurrent noot processes sharing one log.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::snapshot;
use crate::support::{build_cdylib, copy_tree, fixture, noot, noot_stdin, root};

const COMMAND: &str = r#"command = ["python3", "echo_model.py", "--model", "{model}", "--temperature", "{temperature}"]"#;

/// A private copy of the fixture with `toml` as its noot.toml.
fn project(toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&fixture("experiment/basic"), dir.path());
    std::fs::write(dir.path().join("noot.toml"), toml).expect("write noot.toml");
    dir
}

fn records(dir: &Path, name: &str) -> Vec<Value> {
    let path = dir.join(".noot/experiments").join(name).join("branches.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("a whole JSON line ({e}): {line}"))
        })
        .collect()
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("one JSON document ({e}):\n{stdout}"))
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(") ").map(|(_, rest)| !rest.starts_with(['Z', 'X'])))
        .unwrap_or(false)
}

#[test]
fn round_robin_cycles_through_the_pool_across_invocations() {
    let dir = project(&format!(
        "[experiment.rr]\n{COMMAND}\nstrategy = \"round-robin\"\nconfigs = [\"configs/\"]\n[experiment.rr.expand]\ntemperature = [0.0, 0.7]\n"
    ));
    let outputs: Vec<String> = (0..5)
        .map(|_| {
            let run = noot(dir.path(), &["experiment", "run", "rr"]);
            assert_eq!(run.code, 0, "{run:?}");
            run.stdout
        })
        .collect();
    // Folder order (large.yaml, small.toml), then the expansion; 0.0 stays
    // 0.0 in the command line although the id sees it as 0.
    assert_eq!(
        outputs,
        ["large@0.0\n", "large@0.7\n", "small@0.0\n", "small@0.7\n", "large@0.0\n"]
    );
    let logged = records(dir.path(), "rr");
    assert_eq!(logged.len(), 5);
    let calls: Vec<u64> = logged.iter().map(|r| r["call"].as_u64().expect("call")).collect();
    assert_eq!(calls, [1, 2, 3, 4, 5]);
    for record in &logged {
        assert_eq!(record["schema_version"], 2);
        assert_eq!(record["status"], "success");
        assert_eq!(record["role"], "primary");
        assert_eq!(record["strategy"], "round-robin");
        assert!(record["config_id"].as_str().is_some_and(|id| id.len() == 12));
        assert_eq!(record["metrics"]["length"], 5);
    }
    assert_eq!(logged[0]["config_id"], logged[4]["config_id"]);
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".noot/experiments/rr/state.json"))
            .expect("state"),
    )
    .expect("json");
    assert_eq!((state["schema_version"].as_u64(), state["calls"].as_u64()), (Some(1), Some(5)));

    let run = noot(dir.path(), &["experiment", "run", "rr", "--calls", "3"]);
    assert_eq!(run.stdout, "large@0.7\nsmall@0.0\nsmall@0.7\n", "{run:?}");

    let show = noot(dir.path(), &["experiment", "show", "rr", "--format", "json"]);
    let summary = json(&show.stdout);
    assert_eq!(summary["calls"], 8);
    let runs: Vec<u64> = summary["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| v["runs"].as_u64().expect("runs"))
        .collect();
    assert_eq!(runs, [2, 2, 2, 2]);
    assert_eq!(summary["variants"][0]["success_rate"], 1.0);
    assert_eq!(summary["variants"][0]["metric_means"]["score"], 0.9);
}

#[test]
fn shadow_returns_the_primary_and_logs_the_shadows_without_their_output() {
    let dir = project(&format!(
        "[experiment.sh]\n{COMMAND}\nstrategy = \"shadow\"\nprimary = \"model=small\"\nconfigs = [\"configs/small.toml\", \"configs/large.yaml\"]\nshadow_timeout = 2\n[experiment.sh.expand]\ntemperature = [0.0]\nexit = [3]\n"
    ));
    let run = noot(dir.path(), &["experiment", "run", "sh"]);
    assert_eq!(run.stdout, "small@0.0\n", "only the primary reaches stdout: {run:?}");
    assert_eq!(run.code, 3, "the primary's exit code is noot's: {run:?}");
    assert!(!run.stderr.contains("large@"), "{}", run.stderr);
    let logged = records(dir.path(), "sh");
    assert_eq!(logged.len(), 2);
    let primary = logged.iter().find(|r| r["role"] == "primary").expect("primary");
    let shadow = logged.iter().find(|r| r["role"] == "background").expect("shadow");
    assert_eq!(primary["label"], "model=small");
    assert_eq!(
        (primary["status"].as_str(), primary["exit_code"].as_i64()),
        (Some("failed"), Some(3))
    );
    assert_eq!(primary["matched"], Value::Null);
    assert_eq!(shadow["stdout_tail"], "large@0.0\n");
    assert_eq!(shadow["matched"], false);
    assert_eq!(shadow["mismatch"], "stdout differs from the primary's");
}

#[test]
fn a_shadow_past_its_timeout_is_killed_and_logged_and_never_holds_up_the_caller() {
    let dir = project(&format!(
        "[experiment.sh]\n{COMMAND}\nstrategy = \"shadow\"\nprimary = \"model=small\"\nconfigs = [\"configs/\"]\nshadow_timeout = 1\n[experiment.sh.expand]\ntemperature = [0.5]\nsleep = [30]\npid_dir = [\"pids\"]\n"
    ));
    // The primary sleeps too: give it a short sleep of its own.
    let toml = std::fs::read_to_string(dir.path().join("noot.toml")).expect("toml");
    std::fs::write(dir.path().join("configs/small.toml"), "model = \"small\"\nsleep = 0\n")
        .expect("write");
    std::fs::write(dir.path().join("noot.toml"), toml.replace("sleep = [30]", "")).expect("write");
    std::fs::write(dir.path().join("configs/large.yaml"), "model: large\nsleep: 30\n")
        .expect("write");
    std::fs::create_dir(dir.path().join("pids")).expect("mkdir");
    let started = Instant::now();
    let run = noot(dir.path(), &["experiment", "run", "sh"]);
    let took = started.elapsed();
    assert_eq!((run.code, run.stdout.as_str()), (0, "small@0.5\n"), "{run:?}");
    assert!(took < Duration::from_secs(15), "noot waited {took:?} for a 30 s shadow");
    assert!(run.stderr.contains("shadow model=large"), "{}", run.stderr);
    assert!(run.stderr.contains("timeout"), "{}", run.stderr);
    let logged = records(dir.path(), "sh");
    let shadow = logged.iter().find(|r| r["role"] == "background").expect("shadow");
    assert_eq!(
        (shadow["status"].as_str(), shadow["timed_out"].as_bool()),
        (Some("failed"), Some(true))
    );
    assert_eq!(shadow["exception"]["type"], "timeout");
    let pid_file = dir.path().join("pids").join(shadow["config_id"].as_str().expect("id"));
    let pid: i32 = std::fs::read_to_string(pid_file).expect("pid").trim().parse().expect("int");
    assert!(!alive(pid), "the timed-out shadow {pid} must be dead");
}

#[test]
fn multi_branch_returns_every_branch_and_fails_if_one_fails() {
    let dir = project(&format!(
        "[experiment.mb]\n{COMMAND}\nstrategy = \"multi-branch\"\nconfigs = [\"configs/\"]\ncompare = [\"length\"]\n[experiment.mb.expand]\ntemperature = [0.0, 0.7]\n"
    ));
    let run = noot(dir.path(), &["experiment", "run", "mb", "--jobs", "4"]);
    assert_eq!(run.code, 0, "{run:?}");
    for out in ["large@0.0", "large@0.7", "small@0.0", "small@0.7"] {
        assert!(run.stdout.contains(&format!("{out}\n")), "{}", run.stdout);
    }
    assert_eq!(run.stdout.matches("── ").count(), 4, "{}", run.stdout);
    let logged = records(dir.path(), "mb");
    assert_eq!(logged.len(), 4);
    assert!(logged.iter().all(|r| r["role"] == "primary" && r["call"] == 1));
    // Compared on `length` (5 for both models): all match the first.
    let matched: Vec<&Value> = logged.iter().map(|r| &r["matched"]).collect();
    assert_eq!(matched.iter().filter(|m| ***m == Value::Bool(true)).count(), 3, "{matched:?}");

    std::fs::write(dir.path().join("configs/small.toml"), "model = \"small\"\nfail = true\n")
        .expect("write");
    let run = noot(dir.path(), &["experiment", "run", "mb", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let doc = json(&run.stdout);
    assert_eq!((doc["schema_version"].as_u64(), doc["exit_code"].as_u64()), (Some(2), Some(1)));
    let branches = doc["calls"][0]["branches"].as_array().expect("branches");
    assert_eq!(branches.len(), 4);
    assert_eq!(branches.iter().filter(|b| b["status"] == "failed").count(), 2);
    assert!(branches.iter().any(|b| b["stdout"] == "large@0.7\n"), "{branches:?}");
}

#[test]
fn a_failing_variant_is_logged_with_its_exception_and_secrets_are_redacted() {
    let dir = project(&format!(
        "[experiment.mb]\n{COMMAND}\nstrategy = \"multi-branch\"\nconfigs = [\"configs/\"]\n[experiment.mb.expand]\ntemperature = [0.3]\n"
    ));
    std::fs::write(
        dir.path().join("configs/small.toml"),
        "model = \"small\"\nfail = true\nleak = true\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("configs/large.yaml"),
        "model: large\nleak: true\napi_key: ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9\n",
    )
    .expect("write");
    let run = noot(dir.path(), &["experiment", "run", "mb"]);
    assert_eq!(run.code, 1, "{run:?}");
    let logged = records(dir.path(), "mb");
    assert_eq!(logged.len(), 2, "one whole line per branch");
    let failed = logged.iter().find(|r| r["status"] == "failed").expect("failed branch");
    assert_eq!(failed["label"], "fail=true model=small");
    assert_eq!(failed["exit_code"], 1);
    assert_eq!(failed["exception"]["type"], "ValueError");
    assert_eq!(failed["exception"]["message"], "model small cannot run at temperature 0.3");
    assert!(
        failed["exception"]["traceback"].as_str().is_some_and(|t| t.contains("echo_model.py")),
        "{failed}"
    );
    let ok = logged.iter().find(|r| r["status"] == "success").expect("successful branch");
    assert_eq!(ok["config"]["api_key"], "<REDACTED:github-token>", "{ok}");
    assert!(
        ok["label"].as_str().is_some_and(|l| l.contains("api_key=<REDACTED:github-token>")),
        "{ok}"
    );
    assert!(ok["redactions"].as_u64().is_some_and(|n| n >= 2), "{ok}");
    let everything =
        std::fs::read_to_string(dir.path().join(".noot/experiments/mb/branches.jsonl"))
            .expect("log");
    assert!(
        !everything.contains("ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9"),
        "a secret reached the log"
    );
    assert!(everything.contains("token=<REDACTED:github-token>"), "{everything}");
}

#[test]
fn stdin_is_given_to_every_branch_and_equal_outputs_match() {
    let dir = project(&format!(
        "[experiment.sh]\n{COMMAND}\nstrategy = \"shadow\"\nconfigs = [\"configs/small.toml\"]\n[experiment.sh.expand]\ntemperature = [0.1, 0.2]\necho_stdin = [true]\n"
    ));
    std::fs::write(
        dir.path().join("echo_model.py"),
        std::fs::read_to_string(fixture("experiment/basic/echo_model.py"))
            .expect("read")
            .replace("print(f\"{model}@{temperature}\")", ""),
    )
    .expect("write");
    let run = noot_stdin(dir.path(), &["experiment", "run", "sh"], "hello\n");
    assert_eq!((run.code, run.stdout.as_str()), (0, "HELLO\n"), "{run:?}");
    let logged = records(dir.path(), "sh");
    let shadow = logged.iter().find(|r| r["role"] == "background").expect("shadow");
    assert_eq!(shadow["stdout_tail"], "HELLO\n");
    assert_eq!(shadow["matched"], true, "{shadow}");
}

#[test]
fn a_third_party_strategy_from_a_cdylib_drives_the_selection() {
    let library = build_cdylib("noot-example-epsilon-greedy", &[]);
    let dir = project(&format!(
        "[plugins]\npaths = [{library:?}]\n\n[experiment.eg]\n{COMMAND}\nstrategy = \"epsilon-greedy\"\nconfigs = [\"configs/\"]\n[experiment.eg.expand]\ntemperature = [0.0]\n[experiment.eg.strategy_config]\nepsilon = 0.0\nmetric = \"score\"\n"
    ));
    let list = noot(dir.path(), &["experiment", "strategies", "--format", "json"]);
    let doc = json(&list.stdout);
    let names: Vec<&str> = doc["strategies"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["round-robin", "shadow", "multi-branch", "epsilon-greedy"]);
    let outputs: Vec<String> =
        (0..4).map(|_| noot(dir.path(), &["experiment", "run", "eg"]).stdout).collect();
    // Every variant once, then the best score (large: 0.9) for good: the
    // plugin's learnt means persist between invocations.
    assert_eq!(outputs, ["large@0.0\n", "small@0.0\n", "large@0.0\n", "large@0.0\n"]);
    let state =
        std::fs::read_to_string(dir.path().join(".noot/experiments/eg/state.json")).expect("state");
    assert!(state.contains("epsilon-greedy") && state.contains("pulls"), "{state}");
}

#[test]
fn bad_definitions_name_the_line_and_exit_2_before_anything_runs() {
    let cases = [
        (
            format!("[experiment.e]\n{COMMAND}\nconfigs = [\"configs/\"]\n"),
            "noot.toml:2:11: experiment `e`: the command reads `{temperature}`, but variant `model=large` (configs/large.yaml) has no field `temperature`",
        ),
        (
            format!(
                "[experiment.e]\n{COMMAND}\nstrategy = \"shadw\"\nconfigs = [\"configs/\"]\n[experiment.e.expand]\ntemperature = [1]\n"
            ),
            "noot.toml:3:12: no strategy plugin named `shadw` (did you mean `shadow`?)",
        ),
        (
            format!("[experiment.e]\n{COMMAND}\nconfigs = [\"configs/missing.toml\"]\n"),
            "noot.toml:3:11: config file",
        ),
        (
            format!(
                "[experiment.e]\n{COMMAND}\nconfigs = [\"configs/\"]\n[experiment.e.expand]\ntemperature = []\n"
            ),
            "noot.toml:5:15: expand.temperature is empty",
        ),
        (
            format!(
                "[experiment.e]\n{COMMAND}\nprimary = \"model=huge\"\nconfigs = [\"configs/\"]\n[experiment.e.expand]\ntemperature = [1]\n"
            ),
            "noot.toml:3:11: primary: `model=huge` selects no variant",
        ),
        (
            "[experiment.e]\ncommand = [\"echo\", \"{model\"]\n".to_string(),
            "noot.toml:2:11: `{model` has a `{` without its `}`",
        ),
    ];
    for (toml, expected) in cases {
        let dir = project(&toml);
        let run = noot(dir.path(), &["experiment", "run", "e"]);
        assert_eq!(run.code, 2, "{toml}\n{run:?}");
        let first = run.stderr.lines().next().unwrap_or_default();
        let shown = first.replace(&format!("{}/", dir.path().display()), "");
        assert!(
            shown.starts_with(&format!("error: {expected}")),
            "{toml}\nexpected: {expected}\ngot: {}",
            run.stderr
        );
        assert!(run.stderr.contains("help: "), "{}", run.stderr);
        assert!(!dir.path().join(".noot/experiments/e/branches.jsonl").exists(), "nothing ran");
    }
    let dir = project("[experiment.e]\ncommand = [\"true\"]\n");
    let run = noot(dir.path(), &["experiment", "run", "nope"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.starts_with("error: no experiment named `nope`"), "{}", run.stderr);
}

#[test]
fn a_bad_config_file_is_located_in_that_file() {
    let dir = project(&format!("[experiment.e]\n{COMMAND}\nconfigs = [\"configs/\"]\n"));
    std::fs::write(dir.path().join("configs/large.yaml"), "model: large\ntemperature: [1\n")
        .expect("write");
    let run = noot(dir.path(), &["experiment", "run", "e"]);
    assert_eq!(run.code, 2);
    let shown = run.stderr.replace(&format!("{}/", dir.path().display()), "");
    assert!(shown.starts_with("error: configs/large.yaml:3:1: "), "{}", run.stderr);
}

#[test]
fn duplicate_variants_collapse_with_a_warning() {
    let dir = project(&format!(
        "[experiment.e]\n{COMMAND}\nconfigs = [\"configs/small.toml\", \"configs/same.json\"]\n[experiment.e.expand]\ntemperature = [1.0, 1]\n"
    ));
    std::fs::write(dir.path().join("configs/same.json"), r#"{"model": "small"}"#).expect("write");
    let run = noot(dir.path(), &["experiment", "list", "--format", "json"]);
    let doc = json(&run.stdout);
    assert_eq!(doc["experiments"][0]["variants"], 1, "{doc}");
    let run = noot(dir.path(), &["experiment", "run", "e"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr.matches("is the same config as configs/small.toml temperature=1.0").count(),
        3,
        "{}",
        run.stderr
    );
}

#[test]
fn concurrent_noot_processes_share_one_log_without_torn_lines() {
    let dir = project(&format!(
        "[experiment.rr]\n{COMMAND}\nstrategy = \"round-robin\"\nconfigs = [\"configs/\"]\ntail_bytes = 100000\n[experiment.rr.expand]\ntemperature = [0.0, 0.7]\n"
    ));
    // Big outputs make torn lines likely if appends were not atomic.
    let script = std::fs::read_to_string(dir.path().join("echo_model.py")).expect("read");
    std::fs::write(
        dir.path().join("echo_model.py"),
        script.replace(
            "print(f\"{model}@{temperature}\")",
            "print('x' * 90000)\nprint(f\"{model}@{temperature}\")",
        ),
    )
    .expect("write");
    let children: Vec<_> = (0..3)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_noot"))
                .args(["experiment", "run", "rr", "--calls", "4"])
                .current_dir(dir.path())
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let logged = records(dir.path(), "rr");
    assert_eq!(logged.len(), 12);
    let mut calls: Vec<u64> = logged.iter().map(|r| r["call"].as_u64().expect("call")).collect();
    calls.sort_unstable();
    assert_eq!(calls, (1..=12).collect::<Vec<_>>(), "every call number once");
    let mut per_variant = std::collections::BTreeMap::new();
    for record in &logged {
        *per_variant.entry(record["config_id"].as_str().expect("id").to_string()).or_insert(0) += 1;
    }
    assert_eq!(
        per_variant.values().copied().collect::<Vec<i32>>(),
        [3, 3, 3, 3],
        "the cursor advanced once per call"
    );
}

#[test]
fn list_and_show_json_documents_are_stable() {
    let dir = project(&format!(
        "[experiment.rr]\n{COMMAND}\nconfigs = [\"configs/\"]\n[experiment.rr.expand]\ntemperature = [0.0, 0.7]\n\n[experiment.other]\ncommand = [\"true\"]\nstrategy = \"multi-branch\"\n[experiment.other.expand]\nx = [1, 2, 3]\n"
    ));
    snapshot!(
        "experiment_list_json",
        noot(dir.path(), &["experiment", "list", "--format", "json"]).stdout
    );
    assert_eq!(noot(dir.path(), &["experiment", "run", "other"]).code, 0);
    let show = json(&noot(dir.path(), &["experiment", "show", "other", "--format", "json"]).stdout);
    let mut stable = show.clone();
    for variant in stable["variants"].as_array_mut().expect("variants") {
        variant["median_duration_ms"] = Value::from("[ms]");
    }
    snapshot!("experiment_show_json", serde_json::to_string_pretty(&stable).expect("json"));
}

/// `noot experiment list` shows each experiment's strategy, pool size,
/// calls so far and command; a pool that cannot load says `error` in the
/// table and why on stderr, and the others still show.
#[test]
fn list_shows_a_table_and_names_a_broken_pool() {
    let dir = project(&format!(
        "[experiment.rr]\n{COMMAND}\nconfigs = [\"configs/\"]\n[experiment.rr.expand]\ntemperature = [0.0, 0.7]\n\n[experiment.broken]\ncommand = [\"true\"]\nstrategy = \"shadow\"\nconfigs = [\"configs/missing.toml\"]\n"
    ));
    assert_eq!(noot(dir.path(), &["experiment", "run", "rr"]).code, 0);
    let run = noot(dir.path(), &["experiment", "list"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "NAME    STRATEGY        VARIANTS   CALLS  COMMAND\n\
         broken  shadow             error       0  true\n\
         rr      round-robin            4       1  python3 echo_model.py --model {model} --temperature {temperature}\n"
    );
    let stderr = run.stderr.replace(&format!("{}/", dir.path().display()), "");
    assert!(stderr.starts_with("error: experiment `broken`: noot.toml:10:11: "), "{stderr}");
    assert!(stderr.contains("configs/missing.toml"), "{stderr}");

    let empty = project("jobs = 1\n");
    let run = noot(empty.path(), &["experiment", "list"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{run:?}");
    assert!(run.stderr.starts_with("no experiments: add an [experiment.NAME] table"), "{run:?}");
}

/// A returned branch that cannot start exits 127, one past its timeout
/// 124, one killed by signal N 128+N, as a shell would; each is logged
/// with why, and a shadow killed by a signal is named on stderr.
#[test]
fn a_returned_branch_s_failure_becomes_a_shell_exit_code() {
    let dir = project(
        r#"[experiment.missing]
command = ["noot-no-such-program"]

[experiment.slow]
command = ["sleep", "5"]
timeout = 0.3

[experiment.killed]
command = ["sh", "-c", "kill -{sig} $$"]
strategy = "shadow"
primary = "sig=TERM"
[experiment.killed.expand]
sig = ["TERM", "KILL"]
"#,
    );
    let run = noot(dir.path(), &["experiment", "run", "missing"]);
    assert_eq!(run.code, 127, "{run:?}");
    assert!(
        run.stderr.starts_with("noot: default: cannot start `noot-no-such-program`: "),
        "{run:?}"
    );
    assert_eq!(records(dir.path(), "missing")[0]["exception"]["type"], "spawn");

    let started = Instant::now();
    let run = noot(dir.path(), &["experiment", "run", "slow"]);
    assert_eq!(run.code, 124, "{run:?}");
    assert!(started.elapsed() < Duration::from_secs(4), "waited {:?}", started.elapsed());
    assert_eq!(run.stderr, "noot: default: ran past its timeout of 0.3 s and was killed\n");
    assert_eq!(records(dir.path(), "slow")[0]["timed_out"], true);

    let run = noot(dir.path(), &["experiment", "run", "killed"]);
    assert_eq!(run.code, 128 + 15, "{run:?}");
    let logged = records(dir.path(), "killed");
    let by_label = |label: &str| logged.iter().find(|r| r["label"] == label).expect("logged");
    for (label, signal, message) in [
        ("sig=TERM", 15, "killed by signal 15 (SIGTERM)"),
        ("sig=KILL", 9, "killed by signal 9 (SIGKILL)"),
    ] {
        let record = by_label(label);
        assert_eq!(record["status"], "failed", "{record}");
        assert_eq!(record["signal"], signal, "{record}");
        assert_eq!(record["exception"]["message"], message, "{record}");
    }
    let shadow_id = by_label("sig=KILL")["config_id"].as_str().unwrap_or_default().to_string();
    assert!(
        run.stderr.starts_with(&format!("noot: shadow sig=KILL ({shadow_id}): failed in ")),
        "{run:?}"
    );
    assert!(run.stderr.contains(": signal: killed by signal 9 (SIGKILL)"), "{run:?}");
}

/// An experiment with no `command` is for Rust closures only: `noot
/// experiment run` refuses it at its table's line, before anything runs.
#[test]
fn an_experiment_without_a_command_cannot_run_from_the_command_line() {
    let dir = project("jobs = 1\n\n[experiment.rust_only]\nstrategy = \"shadow\"\n");
    let run = noot(dir.path(), &["experiment", "run", "rust_only"]);
    assert_eq!(run.code, 2, "{run:?}");
    let stderr = run.stderr.replace(&format!("{}/", dir.path().display()), "");
    assert!(
        stderr.starts_with("error: noot.toml:3:1: experiment `rust_only` has no `command`"),
        "{stderr}"
    );
    assert!(stderr.contains("help: add command = "), "{stderr}");
    assert!(!dir.path().join(".noot/experiments/rust_only/state.json").exists(), "no call made");
}

/// A JSON object in NOOT_METRICS_FILE becomes the record's metrics;
/// anything else is logged as a metrics error saying what it was, and the
/// branch still succeeds.
#[test]
fn metrics_that_are_not_a_json_object_are_logged_as_an_error() {
    let dir = project(
        r#"[experiment.m]
command = ["sh", "-c", "printf '%s' '{metrics}' > \"$NOOT_METRICS_FILE\""]
strategy = "multi-branch"
[experiment.m.expand]
metrics = ['{"score": 0.5}', "[1, 2]", '"text"', "7", "true", "{"]
"#,
    );
    let run = noot(dir.path(), &["experiment", "run", "m"]);
    assert_eq!(run.code, 0, "{run:?}");
    let logged = records(dir.path(), "m");
    let by_label = |label: &str| logged.iter().find(|r| r["label"] == label).expect("logged");
    let good = by_label("metrics={\"score\": 0.5}");
    assert_eq!(
        (&good["metrics"]["score"], &good["metrics_error"]),
        (&Value::from(0.5), &Value::Null)
    );
    for (written, what) in
        [("[1, 2]", "a list"), ("\"text\"", "a string"), ("7", "a number"), ("true", "a scalar")]
    {
        let record = by_label(&format!("metrics={written}"));
        assert_eq!(record["status"], "success", "{record}");
        assert_eq!(
            record["metrics_error"],
            format!(
                "NOOT_METRICS_FILE must hold a JSON object such as {{\"score\": 0.9}}, not {what}"
            ),
            "{record}"
        );
    }
    let broken = by_label("metrics={");
    assert!(
        broken["metrics_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("NOOT_METRICS_FILE is not valid JSON: ")),
        "{broken}"
    );
}

/// `noot experiment show` prints, per variant, its runs, success rate,
/// mismatches against the primary and metric means, and warns about log
/// lines that are not records; `noot experiment strategies` lists the
/// built-in strategies.
#[test]
fn show_text_gives_each_variant_s_runs_rates_mismatches_and_metric_means() {
    let dir = project(&format!(
        "[experiment.sh]\n{COMMAND}\nstrategy = \"shadow\"\nprimary = \"model=small\"\nconfigs = [\"configs/\"]\n[experiment.sh.expand]\ntemperature = [0.5]\n"
    ));
    assert_eq!(noot(dir.path(), &["experiment", "run", "sh", "--calls", "2"]).code, 0);
    let log = dir.path().join(".noot/experiments/sh/branches.jsonl");
    let mut text = std::fs::read_to_string(&log).expect("log");
    text.push_str("not a record\n");
    std::fs::write(&log, text).expect("write");
    let run = noot(dir.path(), &["experiment", "show", "sh"]);
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "experiment sh (shadow): 2 call(s), 4 branch record(s)");
    let header: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        header,
        ["ID", "VARIANT", "RUNS", "SUCCESS", "MEDIAN", "MISMATCHES", "METRICS", "(mean)"]
    );
    // Each row without its id and median duration (`0.12 s`).
    let rows: Vec<Vec<&str>> = lines[2..]
        .iter()
        .map(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(cells[5], "s", "{line}");
            [&cells[1..4], &cells[6..]].concat()
        })
        .collect();
    assert_eq!(
        rows,
        [
            vec!["model=large", "2", "100%", "2/2", "length=5", "score=0.9"],
            vec!["model=small", "2", "100%", "-", "length=5", "score=0.5"],
        ]
    );
    assert_eq!(
        run.stderr,
        format!(
            "warning: 1 line(s) of {} are not branch records and were skipped\n",
            log.display()
        )
    );

    let run = noot(dir.path(), &["experiment", "strategies"]);
    assert_eq!(run.code, 0, "{run:?}");
    let names: Vec<&str> =
        run.stdout.lines().skip(1).filter_map(|l| l.split_whitespace().nth(1)).collect();
    assert_eq!(names, ["round-robin", "shadow", "multi-branch"], "{}", run.stdout);
}

/// Starts `noot experiment run sh` (whose branches write their pids to
/// `pids/` and sleep) and waits until both branches run. The caller
/// signals and waits for the child it gets back; clippy cannot see that.
#[allow(clippy::zombie_processes)]
fn start_two_sleeping_branches(dir: &Path) -> (std::process::Child, Vec<i32>) {
    std::fs::create_dir(dir.join("pids")).expect("mkdir");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_noot"))
        .args(["experiment", "run", "sh"])
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pids: Vec<i32> = std::fs::read_dir(dir.join("pids"))
            .into_iter()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()?.trim().parse().ok())
            .collect();
        if pids.len() == 2 {
            return (child, pids);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait");
            panic!("the branches never started: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ctrl_c_kills_every_branch_logs_them_and_exits_130() {
    let dir = project(&format!(
        "[experiment.sh]\n{COMMAND}\nstrategy = \"shadow\"\nprimary = \"model=small\"\nconfigs = [\"configs/\"]\n[experiment.sh.expand]\ntemperature = [0.5]\nsleep = [30]\npid_dir = [\"pids\"]\n"
    ));
    let (child, pids) = start_two_sleeping_branches(dir.path());
    let noot_pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(noot_pid, libc::SIGINT);
    }
    let started = Instant::now();
    let out = child.wait_with_output().expect("wait");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "noot took {:?} to stop",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    std::thread::sleep(Duration::from_millis(100));
    for pid in pids {
        assert!(!alive(pid), "branch {pid} outlived Ctrl-C");
    }
    let logged = records(dir.path(), "sh");
    assert_eq!(logged.len(), 2, "both branches are logged");
    for record in &logged {
        assert_eq!(record["status"], "interrupted", "{record}");
        assert_eq!(record["exception"]["type"], "interrupted", "{record}");
        assert_eq!(record["matched"], Value::Null, "never compared: {record}");
    }
}

/// Polls the log of `name` until it holds `count` records.
fn wait_for_records(dir: &Path, name: &str, count: usize, within: Duration) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let logged = records(dir, name);
        if logged.len() >= count {
            return logged;
        }
        assert!(Instant::now() < deadline, "only {} of {count} records: {logged:?}", logged.len());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn detached_shadows_let_noot_return_at_once_and_are_logged_when_they_end() {
    let dir = project(&format!(
        "[experiment.sh]\n{COMMAND}\nstrategy = \"shadow\"\nprimary = \"model=small\"\nconfigs = [\"configs/\"]\nshadow_timeout = 30\n[experiment.sh.expand]\ntemperature = [0.5]\necho_stdin = [true]\n"
    ));
    std::fs::write(dir.path().join("configs/large.yaml"), "model: large\nsleep: 3\n")
        .expect("write");
    let started = Instant::now();
    let run = noot_stdin(dir.path(), &["experiment", "run", "sh", "--detach-shadows"], "hello\n");
    let took = started.elapsed();
    assert_eq!((run.code, run.stdout.as_str()), (0, "HELLO\nsmall@0.5\n"), "{run:?}");
    assert!(took < Duration::from_millis(2500), "noot waited {took:?} for a detached 3 s shadow");
    let logged = records(dir.path(), "sh");
    assert_eq!(logged.len(), 1, "only the primary is logged yet: {logged:?}");
    assert_eq!(logged[0]["role"], "primary");
    let show = json(&noot(dir.path(), &["experiment", "show", "sh", "--format", "json"]).stdout);
    assert_eq!(show["detached_pending"]["running"], 1, "{show}");

    let logged = wait_for_records(dir.path(), "sh", 2, Duration::from_secs(30));
    let shadow = logged.iter().find(|r| r["role"] == "background").expect("shadow");
    assert_eq!(shadow["status"], "success", "{shadow}");
    assert_eq!(shadow["call"], 1);
    assert_eq!(shadow["stdout_tail"], "HELLO\nlarge@0.5\n", "the helper gave it noot's stdin");
    // Compared with the primary's stdout, which the helper never saw.
    assert_eq!(shadow["matched"], false, "{shadow}");
    assert_eq!(shadow["mismatch"], "stdout differs from the primary's");
    let pending = dir.path().join(".noot/experiments/sh/pending");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_dir(&pending).map(|d| d.count()).unwrap_or(0) > 0 {
        assert!(Instant::now() < deadline, "the helper left its files in {}", pending.display());
        std::thread::sleep(Duration::from_millis(50));
    }
    let show = noot(dir.path(), &["experiment", "show", "sh", "--format", "json"]);
    assert_eq!(json(&show.stdout)["detached_pending"]["running"], 0);
    let helper_log = dir.path().join(".noot/experiments/sh/detached.log");
    assert_eq!(std::fs::read_to_string(helper_log).unwrap_or_default(), "", "no helper problems");
}

#[test]
fn ctrl_c_during_a_detached_call_kills_its_shadows_too() {
    let dir = project(&format!(
        "[experiment.sh]\n{COMMAND}\nstrategy = \"shadow\"\nprimary = \"model=small\"\nconfigs = [\"configs/\"]\ndetach_shadows = true\n[experiment.sh.expand]\ntemperature = [0.5]\nsleep = [30]\npid_dir = [\"pids\"]\n"
    ));
    let (child, pids) = start_two_sleeping_branches(dir.path());
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(i32::try_from(child.id()).expect("pid"), libc::SIGINT);
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let logged = wait_for_records(dir.path(), "sh", 2, Duration::from_secs(10));
    for record in &logged {
        assert_eq!(record["exception"]["type"], "interrupted", "{record}");
    }
    for pid in pids {
        assert!(!alive(pid), "branch {pid} outlived Ctrl-C");
    }
}

#[test]
fn the_bundled_python_example_runs_as_the_readme_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&root().join("examples/python-experiment"), dir.path());
    let article = std::fs::read_to_string(dir.path().join("article.txt")).expect("article");
    let run = noot_stdin(dir.path(), &["experiment", "run", "summarise"], &article);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "Mutation testing asks whether a test suite notices when the code changes.\n"),
        "{run:?}"
    );
    let logged = records(dir.path(), "summarise");
    assert_eq!(logged.len(), 4, "the primary and three shadows");
    assert!(logged.iter().all(|r| r["status"] == "success"), "{logged:?}");
    let show =
        json(&noot(dir.path(), &["experiment", "show", "summarise", "--format", "json"]).stdout);
    assert_eq!(show["variants"].as_array().map(Vec::len), Some(4), "{show}");
}
