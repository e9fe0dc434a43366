//! `noot experiment run` interrupted or killed in the middle of a call
//! (issue 14, items 8 and 4).
//!
//! Item 8: a shadow killed by Ctrl-C was compared with the primary anyway
//! and logged `matched: false` ("stdout differs from the primary's", or
//! "status failed against the primary's success"), while detached mode
//! logged the same case `matched: null`; a shadow past its
//! `shadow_timeout` was a mismatch too. An interrupted or timed-out branch
//! is now never compared, in both modes: an interrupted one has the status
//! `interrupted`, a timed-out one `timed_out: true`, both `matched: null`,
//! and `noot experiment show` counts neither as a mismatch.
//!
//! Item 4: after `kill -9` of `noot experiment run`, the call's number was
//! used up with no record and no word (`state.json` 30 calls, `show` 25).
//! `show` now names the calls that were started but never recorded, and
//! tells them from calls still running.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{noot_command, noot_run};

/// A branch: says hello (each variant differently, so outputs differ),
/// writes its pid to `pids/NAME`, then sleeps.
const BRANCH: &str = "echo \"$1 says hello\"\necho $$ > \"pids/$1.tmp\"\nmv \"pids/$1.tmp\" \"pids/$1\"\nexec sleep \"$2\"\n";

/// A project with experiment `e` over variants `a` (the primary) and `b`,
/// which sleep `a_sleeps` and `b_sleeps` seconds; `extra` goes into the
/// experiment's table.
fn project(strategy: &str, a_sleeps: u32, b_sleeps: u32, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path();
    std::fs::create_dir(path.join("pids")).expect("mkdir");
    std::fs::write(path.join("branch.sh"), BRANCH).expect("write");
    std::fs::write(path.join("a.toml"), format!("name = \"a\"\nsleep = {a_sleeps}\n"))
        .expect("write");
    std::fs::write(path.join("b.toml"), format!("name = \"b\"\nsleep = {b_sleeps}\n"))
        .expect("write");
    // Round-robin runs `a` alone; shadow runs `a` and shadows it with `b`.
    let variants = if strategy == "round-robin" {
        "configs = [\"a.toml\"]"
    } else {
        "primary = \"name=a\"\nconfigs = [\"a.toml\", \"b.toml\"]"
    };
    std::fs::write(
        path.join("noot.toml"),
        format!(
            "[experiment.e]\ncommand = [\"sh\", \"branch.sh\", \"{{name}}\", \"{{sleep}}\"]\n\
             strategy = \"{strategy}\"\n{variants}\n{extra}\n"
        ),
    )
    .expect("write");
    dir
}

/// `noot experiment run e ARGS`, started.
fn start(dir: &Path, args: &[&str]) -> Child {
    let mut all = vec!["experiment", "run", "e"];
    all.extend_from_slice(args);
    noot_command(dir, &all)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("noot starts")
}

/// The pid branch `name` wrote, once it did (within 20 seconds).
fn branch_pid(dir: &Path, name: &str) -> i32 {
    let file = dir.join("pids").join(name);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(pid) = std::fs::read_to_string(&file).ok().and_then(|t| t.trim().parse().ok()) {
            return pid;
        }
        assert!(Instant::now() < deadline, "branch {name} never started");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(") ").map(|(_, rest)| !rest.starts_with(['Z', 'X'])))
        .unwrap_or(false)
}

/// Waits (up to 20 seconds) until `pid` is gone.
fn wait_gone(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while alive(pid) {
        assert!(Instant::now() < deadline, "{pid} still runs");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, signal: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(i32::try_from(child.id()).expect("pid"), signal);
    }
}

/// Waits for noot (killing it after 20 seconds): its exit code and stderr.
fn finish(child: Child) -> (Option<i32>, String) {
    let pid = i32::try_from(child.id()).expect("pid");
    let deadline = Instant::now() + Duration::from_secs(20);
    let watchdog = std::thread::spawn(move || {
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            if !alive(pid) {
                return;
            }
        }
        // SAFETY: as above.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    });
    let out = child.wait_with_output().expect("wait");
    let _ = watchdog.join();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Kills whatever branch is still running (cleanup; the tests do not
/// depend on it).
fn kill_branches(dir: &Path) {
    for entry in std::fs::read_dir(dir.join("pids")).into_iter().flatten().flatten() {
        if let Some(pid) =
            std::fs::read_to_string(entry.path()).ok().and_then(|t| t.trim().parse::<i32>().ok())
        {
            if alive(pid) {
                // SAFETY: as above.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }
}

/// The branch log of `e`, waiting (up to 20 seconds) for `count` records.
fn records(dir: &Path, count: usize) -> Vec<Value> {
    let path = dir.join(".noot/experiments/e/branches.jsonl");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let records: Vec<Value> =
            text.lines().map(|l| serde_json::from_str(l).expect("a whole JSON line")).collect();
        if records.len() >= count {
            return records;
        }
        assert!(Instant::now() < deadline, "{} of {count} records: {text}", records.len());
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn by_name<'a>(records: &'a [Value], name: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["config"]["name"] == name)
        .unwrap_or_else(|| panic!("no record of {name}: {records:?}"))
}

/// `noot experiment show e --format json`.
fn show(dir: &Path) -> Value {
    let (code, stdout, stderr) = noot_run(dir, &["experiment", "show", "e", "--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// What an interrupted branch must look like, whichever mode ran it.
fn assert_interrupted_and_not_compared(record: &Value) {
    assert_eq!(record["status"], "interrupted", "{record}");
    assert_eq!(record["exception"]["type"], "interrupted", "{record}");
    assert_eq!(record["matched"], Value::Null, "never compared: {record}");
    assert_eq!(record.get("mismatch"), None, "{record}");
}

/// (role, status, matched, exception type) of every record, sorted.
fn shape(records: &[Value]) -> Vec<String> {
    let mut shape: Vec<String> = records
        .iter()
        .map(|r| {
            format!("{} {} {} {}", r["role"], r["status"], r["matched"], r["exception"]["type"])
        })
        .collect();
    shape.sort();
    shape
}

#[test]
fn ctrl_c_during_a_shadow_call_compares_nothing_and_show_counts_no_mismatch() {
    let dir = project("shadow", 30, 30, "");
    let child = start(dir.path(), &[]);
    let (a, b) = (branch_pid(dir.path(), "a"), branch_pid(dir.path(), "b"));
    signal(&child, libc::SIGINT);
    let (code, stderr) = finish(child);
    kill_branches(dir.path());
    assert_eq!(code, Some(130), "{stderr}");
    assert!(!stderr.contains("MISMATCH"), "{stderr}");
    let logged = records(dir.path(), 2);
    assert_eq!(logged.len(), 2);
    for record in &logged {
        assert_interrupted_and_not_compared(record);
    }
    let summary = show(dir.path());
    for variant in summary["variants"].as_array().expect("variants") {
        assert_eq!(
            (&variant["compared"], &variant["mismatches"], &variant["interrupted"]),
            (&Value::from(0), &Value::from(0), &Value::from(1)),
            "{variant}"
        );
        assert_eq!(variant["runs"], 0, "an interrupted branch is not a run: {variant}");
    }
    let (_, table, _) = noot_run(dir.path(), &["experiment", "show", "e"]);
    assert!(table.contains("interrupted"), "{table}");
    assert!(!alive(a) && !alive(b));

    // Detached, the same case is logged the same way.
    let attached = shape(&logged);
    let detached = project("shadow", 30, 30, "detach_shadows = true");
    let child = start(detached.path(), &[]);
    branch_pid(detached.path(), "a");
    branch_pid(detached.path(), "b");
    signal(&child, libc::SIGINT);
    let (code, stderr) = finish(child);
    assert_eq!(code, Some(130), "{stderr}");
    let logged = records(detached.path(), 2);
    kill_branches(detached.path());
    for record in &logged {
        assert_interrupted_and_not_compared(record);
    }
    assert_eq!(shape(&logged), attached, "attached and detached agree");
}

#[test]
fn a_shadow_interrupted_after_its_primary_ended_is_not_compared() {
    let dir = project("shadow", 0, 30, "");
    let child = start(dir.path(), &[]);
    let a = branch_pid(dir.path(), "a");
    branch_pid(dir.path(), "b");
    wait_gone(a);
    signal(&child, libc::SIGINT);
    let (code, stderr) = finish(child);
    kill_branches(dir.path());
    assert_eq!(code, Some(130), "{stderr}");
    let logged = records(dir.path(), 2);
    let primary = by_name(&logged, "a");
    assert_eq!((&primary["status"], &primary["matched"]), (&"success".into(), &Value::Null));
    assert_interrupted_and_not_compared(by_name(&logged, "b"));
    let summary = show(dir.path());
    let mismatches: u64 = summary["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| v["mismatches"].as_u64().expect("n"))
        .sum();
    assert_eq!(mismatches, 0, "{summary}");
}

#[test]
fn a_shadow_past_its_timeout_is_logged_timed_out_and_not_compared() {
    let dir = project("shadow", 0, 30, "shadow_timeout = 1");
    let (code, _, stderr) = noot_run(dir.path(), &["experiment", "run", "e"]);
    kill_branches(dir.path());
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("MISMATCH"), "{stderr}");
    let logged = records(dir.path(), 2);
    let shadow = by_name(&logged, "b");
    assert_eq!(
        (&shadow["status"], &shadow["timed_out"], &shadow["matched"]),
        (&"failed".into(), &true.into(), &Value::Null),
        "{shadow}"
    );
    assert_eq!(shadow.get("mismatch"), None, "{shadow}");
    let summary = show(dir.path());
    let b = summary["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .find(|v| v["label"].as_str().is_some_and(|l| l.contains("name=b")))
        .expect("b");
    assert_eq!((&b["compared"], &b["mismatches"]), (&Value::from(0), &Value::from(0)), "{b}");
}

#[test]
fn show_reports_calls_started_but_never_recorded_after_kill_9() {
    let dir = project("round-robin", 30, 0, "");
    let child = start(dir.path(), &[]);
    branch_pid(dir.path(), "a");
    // While the call runs, it is running, not lost.
    let running = show(dir.path());
    assert_eq!(running["planned_calls"], 1, "{running}");
    assert_eq!(running["calls_in_progress"], serde_json::json!([1]), "{running}");
    assert_eq!(running["unrecorded_calls"], serde_json::json!([]), "{running}");

    signal(&child, libc::SIGKILL);
    let _ = finish(child);
    kill_branches(dir.path());
    let killed = show(dir.path());
    assert_eq!(killed["calls"], 0, "{killed}");
    assert_eq!(killed["planned_calls"], 1, "{killed}");
    assert_eq!(killed["calls_in_progress"], serde_json::json!([]), "{killed}");
    assert_eq!(killed["unrecorded_calls"], serde_json::json!([1]), "{killed}");

    // A call that ends is recorded; the lost one stays reported.
    std::fs::write(dir.path().join("a.toml"), "name = \"a\"\nsleep = 0\n").expect("write");
    let (code, _, stderr) = noot_run(dir.path(), &["experiment", "run", "e"]);
    assert_eq!(code, Some(0), "{stderr}");
    let after = show(dir.path());
    assert_eq!((&after["calls"], &after["planned_calls"]), (&1.into(), &2.into()), "{after}");
    assert_eq!(after["unrecorded_calls"], serde_json::json!([1]), "{after}");
    let (code, _, stderr) = noot_run(dir.path(), &["experiment", "show", "e"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("1 call(s) were started but never recorded")
            && stderr.contains("noot was killed"),
        "{stderr}"
    );
}
