//! A mutant that forks without end filled the process table: nothing
//! bounded how many processes a run's tests could start (`RLIMIT_NPROC`
//! was never set, and as root, as in CI, it does not apply at all). Now
//! the run is bounded by `[mutate] max_processes`, through `RLIMIT_NPROC`
//! or, as root, a `pids` cgroup of its own, which is gone after the run.
//!
//! The fixture's flood stops by itself at 1,000 children, so a machine
//! where no bound applies survives this test too.

use std::time::Duration;

use super::labels::{MARK, assert_nothing_left, fresh_mark};

/// `fan_out()` returns 0; under the mutant `not flood` → `flood` it forks
/// children that wait, until a fork is refused or it has 1,000, writes how
/// many it started to `$FORK_REPORT`, kills them and fails.
const SOURCE: &str = r#"import os, signal


def fan_out(flood=False):
    if not flood:
        return 0
    started = []
    refused = None
    try:
        while len(started) < 1000:
            pid = os.fork()
            if pid == 0:
                signal.pause()
                os._exit(0)
            started.append(pid)
    except OSError as error:
        refused = error
    finally:
        for pid in started:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    with open(os.environ["FORK_REPORT"], "a") as report:
        report.write(f"{len(started)} {refused is not None}\n")
    raise RuntimeError(f"{len(started)} children, refused: {refused}")
"#;

const TESTS: &str = "from pkg import fan_out\n\n\ndef test_fan_out():\n    assert fan_out() == 0\n";

/// How many processes and threads the fixture's runs may have.
const BOUND: u64 = 64;

#[test]
fn a_fork_bomb_meets_a_refused_fork_and_leaves_nothing() {
    for runner in ["subprocess", "inprocess"] {
        let dir = super::python_project(SOURCE, TESTS);
        std::fs::write(
            dir.path().join("noot.toml"),
            format!("[mutate]\nmax_processes = {BOUND}\ntimeout_floor = 20.0\n"),
        )
        .expect("write");
        let report = dir.path().join("forks.txt");
        let mark = fresh_mark(runner);
        let out = super::noot_command(
            dir.path(),
            &["--verbose", "run", "--runner", runner, "--format", "json", "pkg.fan_out"],
        )
        .env(MARK, &mark)
        .env("FORK_REPORT", &report)
        .output()
        .expect("noot runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{runner}: {stderr}");
        let run: serde_json::Value = serde_json::from_str(&stdout).expect("json");
        let flood = run["mutants"]
            .as_array()
            .expect("mutants")
            .iter()
            .find(|m| m["original"] == "not flood")
            .unwrap_or_else(|| panic!("{runner}: no `not flood` mutant in {stdout}"));
        assert_eq!(flood["status"], "killed", "{runner}: {flood}");
        assert_nothing_left(&mark, Duration::from_secs(2));
        let forks = std::fs::read_to_string(&report).expect("the flood ran and reported");
        if stderr.contains("would not be bounded") {
            eprintln!("{runner}: no bound applies on this machine ({stderr}); the flood: {forks}");
            continue;
        }
        for line in forks.lines() {
            let (started, refused) = line.split_once(' ').expect("`N refused`");
            let started: u64 = started.parse().expect("a count");
            assert_eq!(refused, "True", "{runner}: the fork was never refused: {forks}");
            assert!(started < BOUND, "{runner}: {started} children under a bound of {BOUND}");
        }
        if let Some(cgroup) = cgroup_named(&stderr) {
            assert!(!std::path::Path::new(&cgroup).exists(), "{runner}: {cgroup} was left");
        }
    }
}

/// The cgroup a verbose run names (`pids cgroup /sys/fs/cgroup/…)`); none
/// when noot bounded the run with `RLIMIT_NPROC`.
fn cgroup_named(stderr: &str) -> Option<String> {
    let start = stderr.find("pids cgroup ")? + "pids cgroup ".len();
    let rest = &stderr[start..];
    Some(rest[..rest.find(')')?].to_owned())
}
