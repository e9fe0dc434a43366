//! `kill -9` and signals of `noot run` and `noot experiment run`: nothing
//! they started may outlive them by more than about a second, whatever
//! kills them, and SIGTERM exits 143.
//!
//! Each test labels the noot it starts with a variable of its own,
//! `NOOT_KILLS_MARK`, which every process noot starts inherits; what is
//! left is found by reading `/proc/*/environ`, so a background sleeper in
//! a session of its own is found too.

use std::time::{Duration, Instant};

use super::labels::{assert_nothing_left, fresh_mark, signal, wait_for};

/// `kill -9` of `noot`; nothing labelled `mark` may be alive 2 s later.
/// Nor may the `pids` cgroup it made for itself (as root) be left.
fn kill_9_leaves_nothing(mut noot: std::process::Child, mark: &str) {
    signal(&noot, libc::SIGKILL);
    let _ = noot.wait();
    assert_nothing_left(mark, Duration::from_secs(2));
    let prefix = format!("noot-{}-", noot.id());
    let left = cgroups_named(std::path::Path::new("/sys/fs/cgroup"), &prefix, 3);
    assert!(left.is_empty(), "cgroups left: {left:?}");
}

/// Folders under `dir`, `depth` levels down at most, named `prefix…`.
fn cgroups_named(dir: &std::path::Path, prefix: &str, depth: u32) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if entry.file_name().to_string_lossy().starts_with(prefix) {
            found.push(path);
        } else if depth > 0 {
            found.extend(cgroups_named(&path, prefix, depth - 1));
        }
    }
    found
}

/// SIGTERM to `noot`: exit 143 within 2 s, nothing labelled `mark` left.
fn sigterm_exits_143_at_once(mut noot: std::process::Child, mark: &str) {
    signal(&noot, libc::SIGTERM);
    let sent = Instant::now();
    let status = noot.wait().expect("waits");
    assert!(sent.elapsed() < Duration::from_secs(2), "took {:?}", sent.elapsed());
    assert_eq!(status.code(), Some(143));
    assert_nothing_left(mark, Duration::from_secs(1));
}

fn start(dir: &std::path::Path, args: &[&str], mark: &str) -> std::process::Child {
    super::labels::start(super::noot_command, dir, args, mark)
}

/// A project whose one test starts `sleep 300` in a session of its own,
/// writes `started` once it did, and calls `pkg.spin(3)`, which loops
/// forever under the mutant `n -= 1` → `n += 1`.
fn project(test_sleeps: u32) -> tempfile::TempDir {
    super::python_project(
        "def spin(n):\n    while n > 0:\n        n -= 1\n    return n\n",
        &format!(
            "import subprocess, time\nfrom pkg import spin\n\n\ndef test_spin():\n    \
             subprocess.Popen(['sleep', '300'], start_new_session=True)\n    \
             time.sleep({test_sleeps})\n    assert spin(3) == 0\n"
        ),
    )
}

/// `kill -9` during the stats run left the test's background sleeper
/// running (14 of 14 kills with `subprocess`, 4 of 16 with `inprocess`).
#[test]
fn kill_9_during_the_stats_run_leaves_nothing_running() {
    for runner in ["subprocess", "inprocess"] {
        let dir = project(20);
        let mark = fresh_mark(runner);
        let noot = start(dir.path(), &["run", "--runner", runner], &mark);
        wait_for(&mark, "sleep 300");
        kill_9_leaves_nothing(noot, &mark);
    }
}

/// An infinite-loop mutant spun on after `kill -9` until its CPU limit
/// (12–14 s), and so did the tests' background sleepers.
#[test]
fn kill_9_while_a_mutant_loops_leaves_nothing_running() {
    for runner in ["subprocess", "inprocess"] {
        let dir = project(0);
        let mark = fresh_mark(runner);
        let noot = start(dir.path(), &["run", "--runner", runner, "--jobs", "1"], &mark);
        // The stats run and the baseline are over once a mutant's process
        // runs with NOOT_MUTANT set; give the loop time to start spinning.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !dir.path().join(".noot/mutate/stats.json").exists() {
            assert!(Instant::now() < deadline, "the stats run never ended");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(700));
        kill_9_leaves_nothing(noot, &mark);
    }
}

/// SIGTERM stopped noot with 130, as if it were Ctrl-C; a shell and a
/// process manager expect 128 + 15.
#[test]
fn sigterm_during_the_stats_run_exits_143_within_two_seconds() {
    let dir = project(20);
    let mark = fresh_mark("sigterm");
    let noot = start(dir.path(), &["run", "--runner", "subprocess"], &mark);
    wait_for(&mark, "sleep 300");
    sigterm_exits_143_at_once(noot, &mark);
}

/// `kill -9` of `noot experiment run`: its branches ran on until they
/// ended by themselves (26–29 s for a `sleep 30`).
#[test]
fn kill_9_of_an_experiment_run_leaves_no_branch_running() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("configs")).expect("mkdir");
    std::fs::write(dir.path().join("configs/a.toml"), "n = 1\n").expect("write");
    std::fs::write(
        dir.path().join("noot.toml"),
        "[experiment.k]\ncommand = [\"sh\", \"-c\", \"sleep 300 & sleep 300; echo {n}\"]\n\
         strategy = \"multi-branch\"\nconfigs = [\"configs/\"]\n[experiment.k.expand]\nm = [1, 2]\n",
    )
    .expect("write");
    let mark = fresh_mark("experiment");
    let noot = start(dir.path(), &["experiment", "run", "k"], &mark);
    wait_for(&mark, "sleep 300");
    kill_9_leaves_nothing(noot, &mark);
}

/// SIGTERM while `inprocess` workers were still starting (the stats were
/// reused, so nothing else ran yet) waited for the workers' whole start:
/// 2.5–3.6 s on the campaign fixture, as long as collection takes here.
#[test]
fn sigterm_while_the_warm_workers_start_exits_at_once() {
    let dir = super::python_project(
        "def add(a, b):\n    return a + b\n",
        "from pkg import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    );
    let (code, _, stderr) = super::noot_run(dir.path(), &["run", "--runner", "inprocess"]);
    assert_eq!(code, Some(0), "{stderr}");
    // From now on collection takes 20 s: only a worker's start collects
    // (the stats are reused, the conftest's digest aside).
    std::fs::write(
        dir.path().join("tests/conftest.py"),
        "import os, time\n\nif os.environ.get('MUTANT_UNDER_TEST', '') != 'stats':\n    time.sleep(20)\n",
    )
    .expect("write");
    let mark = fresh_mark("worker-start");
    let noot = start(dir.path(), &["run", "--runner", "inprocess", "--force"], &mark);
    wait_for(&mark, "_noot_worker");
    std::thread::sleep(Duration::from_millis(300));
    sigterm_exits_143_at_once(noot, &mark);
}

/// A process a test started in a session of its own lived until the end of
/// the run, one per mutant: a suite whose tests leave a server running
/// piled up thousands. Now it dies within about half a second of its
/// mutant's verdict; each test counts how many earlier ones are alive.
#[test]
fn what_a_mutants_tests_leave_running_dies_soon_after_its_verdict() {
    let tests = r#"import os, subprocess, time
from pkg import f


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(") ", 1)[1][0] not in "ZX"
    except OSError:
        return False


def test_f():
    report = os.environ["STRAY_REPORT"]
    sleeper = subprocess.Popen(["sleep", "300"], start_new_session=True)
    with open(report + ".pids", "a") as pids:
        pids.write(f"{sleeper.pid}\n")
    time.sleep(1.0)
    with open(report + ".pids") as pids:
        earlier = [int(p) for p in pids.read().split() if int(p) != sleeper.pid]
    with open(report, "a") as out:
        out.write(f"{sum(alive(p) for p in earlier)} of {len(earlier)}\n")
    assert f(1, 2) == 5
"#;
    for runner in ["subprocess", "inprocess"] {
        let dir = super::python_project("def f(a, b):\n    return (a + b) * 2 - 1\n", tests);
        let report = dir.path().join("alive.txt");
        let mark = fresh_mark(runner);
        let out = super::noot_command(dir.path(), &["run", "--runner", runner, "--jobs", "1"])
            .env(super::labels::MARK, &mark)
            .env("STRAY_REPORT", &report)
            .output()
            .expect("noot runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{runner}: {stderr}");
        let counts = std::fs::read_to_string(&report).expect("the tests reported");
        let lines: Vec<&str> = counts.lines().collect();
        assert!(lines.len() >= 4, "{runner}: the stats run and three mutants at least: {counts}");
        for line in &lines[1..] {
            assert!(line.starts_with("0 of "), "{runner}: earlier sleepers alive: {counts}");
        }
        assert!(stderr.contains("outlived their mutant's tests and were killed"), "{stderr}");
        assert_nothing_left(&mark, Duration::from_secs(2));
    }
}

/// A Rust run's stats run waited for each test it had started: SIGTERM (or
/// Ctrl-C, which the tests' own process groups do not receive) during a
/// 30 s test ended noot only when the test did.
#[test]
fn sigterm_during_a_rust_stats_run_exits_143_within_two_seconds() {
    let dir = super::rust_analysis::crate_dir("slow_stats", "2021");
    std::fs::write(
        dir.path().join("src/lib.rs"),
        "pub fn one() -> u8 {\n    1\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn slow() {\n        \
         let _sleeper = std::process::Command::new(\"sleep\").arg(\"300\").spawn();\n        \
         std::thread::sleep(std::time::Duration::from_secs(30));\n        \
         assert_eq!(super::one(), 1);\n    }\n}\n",
    )
    .expect("write");
    let mark = fresh_mark("rust-stats");
    let noot = start(dir.path(), &["run"], &mark);
    wait_for(&mark, "sleep 300");
    sigterm_exits_143_at_once(noot, &mark);
}
