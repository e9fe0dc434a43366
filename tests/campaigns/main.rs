//! Campaigns: noot killed and interrupted at random moments, many times
//! over, checking after every blow what a user relies on: nothing it
//! started is alive two seconds later, every state file still parses, the
//! next run resumes, and the verdicts at the end equal those of a run that
//! was never interrupted.
//!
//! Moments come from a seeded generator; the seed is printed (run with
//! `--nocapture` to see it) and `NOOT_CAMPAIGN_SEED=N` replays one.
//! `NOOT_CAMPAIGN_TRIALS=N` sets the kills per runner (30 by default, which
//! CI runs; 100 or more for a long campaign).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

#[path = "../common/labels.rs"]
mod labels;
#[path = "../common/noot.rs"]
mod noot_cmd;

use labels::{assert_nothing_left, fresh_mark, signal};
use noot_cmd::{mutate_fixture, noot_command, noot_run, python_project};

/// A small deterministic generator (xorshift64*): no dependency, and the
/// same seed gives the same moments.
struct Moments(u64);

impl Moments {
    fn from_env(name: &str) -> Self {
        let seed = std::env::var("NOOT_CAMPAIGN_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
                    | 1
            });
        eprintln!("campaign {name}: NOOT_CAMPAIGN_SEED={seed}");
        Self(seed)
    }

    /// A moment between zero and `max`.
    fn within(&mut self, max: Duration) -> Duration {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let unit = (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64;
        max.mul_f64(unit)
    }
}

fn trials() -> usize {
    std::env::var("NOOT_CAMPAIGN_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(30)
}

/// Verdicts of a whole run, by mutant id.
fn verdicts(dir: &Path, runner: &str) -> BTreeMap<String, String> {
    let (code, stdout, stderr) = noot_run(dir, &["run", "--runner", runner, "--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    report["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .map(|m| (m["id"].as_str().unwrap_or("").to_owned(), m["status"].to_string()))
        .collect()
}

/// Every file noot keeps in `.noot/mutate` parses: JSON files whole, with a
/// `schema_version`; the results journal line by line, where only a last
/// line without its newline (torn by the kill) may be incomplete.
fn assert_state_parses(dir: &Path, context: &str) {
    let state = dir.join(".noot/mutate");
    for entry in std::fs::read_dir(&state).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_owned();
        if name.ends_with(".json") && name != "stats-raw.json" {
            let text = std::fs::read_to_string(&path).expect("read");
            let value: serde_json::Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{context}: {name} does not parse ({e})"));
            assert!(
                value.get("schema_version").is_some(),
                "{context}: {name} has no schema_version"
            );
        }
        if name.ends_with(".jsonl") {
            let text = std::fs::read_to_string(&path).expect("read");
            let complete = text.ends_with('\n');
            let lines: Vec<&str> = text.lines().collect();
            for (n, line) in lines.iter().enumerate() {
                let torn_tail = n + 1 == lines.len() && !complete;
                if serde_json::from_str::<serde_json::Value>(line).is_err() && !torn_tail {
                    panic!("{context}: {name}:{} is not JSON: {line}", n + 1);
                }
            }
        }
    }
}

/// `kill -9` at random moments of `noot run` (the stats run, the baseline,
/// mutants running, the report), resuming each time, on a project whose
/// tests leave a sleeper in a session of their own and whose mutants
/// include an infinite loop.
fn kill_9_campaign(runner: &str) {
    let reference = {
        let dir = mutate_fixture("campaign");
        verdicts(dir.path(), runner)
    };
    let mut moments = Moments::from_env(&format!("kill-9 {runner}"));
    let dir = mutate_fixture("campaign");
    // Long enough to reach past the end of a run now and then.
    // Runs resume, so later kills land later in a run; a span of a few
    // seconds keeps the campaign within CI's budget.
    let span = if runner == "subprocess" { Duration::from_secs(4) } else { Duration::from_secs(2) };
    let mut completed = 0;
    for trial in 0..trials() {
        let moment = moments.within(span);
        let context = format!("{runner} trial {trial} (kill at {moment:?})");
        let mark = fresh_mark(&format!("k9-{runner}-{trial}"));
        let mut noot = labels::start(noot_command, dir.path(), &["run", "--runner", runner], &mark);
        let started = Instant::now();
        let mut finished = None;
        while started.elapsed() < moment {
            if let Some(status) = noot.try_wait().expect("try_wait") {
                finished = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if finished.is_none() {
            signal(&noot, libc::SIGKILL);
        }
        let _ = noot.wait();
        assert_nothing_left(&mark, Duration::from_secs(2));
        assert_state_parses(dir.path(), &context);
        if let Some(status) = finished {
            // It ran to the end before the blow: what it resumed is whole.
            assert_eq!(status.code(), Some(0), "{context}");
            assert_eq!(verdicts(dir.path(), runner), reference, "{context}");
            std::fs::remove_dir_all(dir.path().join(".noot")).expect("start over");
            completed += 1;
        }
    }
    assert_eq!(verdicts(dir.path(), runner), reference, "{runner}: after the last kill");
    eprintln!(
        "campaign kill-9 {runner}: {} kills, {completed} runs completed between them",
        trials()
    );
}

#[test]
fn kill_9_at_random_moments_with_subprocess() {
    kill_9_campaign("subprocess");
}

#[test]
fn kill_9_at_random_moments_with_inprocess() {
    kill_9_campaign("inprocess");
}

/// SIGINT and SIGTERM at random moments, the stats run included: noot
/// exits 130 or 143 within two seconds (or 0 if it had finished), leaves
/// nothing running, and its state parses and resumes.
#[test]
fn sigint_and_sigterm_at_random_moments() {
    let trials = (trials() / 3).max(6);
    let mut moments = Moments::from_env("signals");
    let dir = mutate_fixture("campaign");
    let reference = {
        let fresh = mutate_fixture("campaign");
        verdicts(fresh.path(), "inprocess")
    };
    for trial in 0..trials {
        let (sig, code) = if trial % 2 == 0 { (libc::SIGINT, 130) } else { (libc::SIGTERM, 143) };
        let runner = if trial % 4 < 2 { "inprocess" } else { "subprocess" };
        let moment = moments.within(Duration::from_secs(3));
        let context = format!("trial {trial}: signal {sig} at {moment:?} under {runner}");
        let mark = fresh_mark(&format!("sig-{trial}"));
        let mut noot = labels::start(noot_command, dir.path(), &["run", "--runner", runner], &mark);
        std::thread::sleep(moment);
        let ended_before = noot.try_wait().expect("try_wait");
        signal(&noot, sig);
        let sent = Instant::now();
        let status = match ended_before {
            Some(status) => status,
            None => noot.wait().expect("wait"),
        };
        let took = sent.elapsed();
        if ended_before.is_none() {
            // A signal that lands after the run's last step may find it
            // exiting 0; one that lands before noot installed its handler
            // kills it outright (a shell reports 128 + N either way);
            // anything else exits with the signal's code.
            let killed_by_it = std::os::unix::process::ExitStatusExt::signal(&status) == Some(sig);
            assert!(
                killed_by_it || matches!(status.code(), Some(c) if c == code || c == 0),
                "{context}: {status:?}"
            );
            // Two seconds on a quiet machine (tests/regression/kills.rs); this
            // campaign runs beside the rest of the suite on a loaded one,
            // so it only bounds a hang.
            assert!(took < Duration::from_secs(5), "{context}: took {took:?}");
        }
        assert_nothing_left(&mark, Duration::from_secs(1));
        assert_state_parses(dir.path(), &context);
    }
    assert_eq!(verdicts(dir.path(), "inprocess"), reference, "after the last signal");
}

/// Two `noot run` at once on one project, started together again and
/// again: one runs, the other stops at once with exit 2 naming it (or
/// runs after it, if the first was already done); verdicts never mix.
#[test]
fn two_runs_at_once_never_mix() {
    let dir = mutate_fixture("campaign");
    let reference = {
        let fresh = mutate_fixture("campaign");
        verdicts(fresh.path(), "inprocess")
    };
    for round in 0..4 {
        let _ = std::fs::remove_dir_all(dir.path().join(".noot"));
        let start = || {
            noot_command(dir.path(), &["run", "--runner", "inprocess", "--format", "json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("noot starts")
        };
        let (first, second) = (start(), start());
        let outputs =
            [first.wait_with_output().expect("wait"), second.wait_with_output().expect("wait")];
        let codes: Vec<Option<i32>> = outputs.iter().map(|o| o.status.code()).collect();
        assert!(codes.contains(&Some(0)), "round {round}: {codes:?}");
        for output in &outputs {
            let stderr = String::from_utf8_lossy(&output.stderr);
            match output.status.code() {
                Some(0) => {}
                Some(2) => {
                    assert!(stderr.contains("another noot run (pid"), "round {round}: {stderr}")
                }
                other => panic!("round {round}: exit {other:?}: {stderr}"),
            }
        }
        assert_eq!(verdicts(dir.path(), "inprocess"), reference, "round {round}");
    }
}

/// Two `noot experiment run` at once on one experiment, repeatedly: every
/// call gets a number of its own and every branch is logged once.
#[test]
fn two_experiment_runs_at_once_log_every_branch_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("configs")).expect("mkdir");
    std::fs::write(dir.path().join("configs/a.toml"), "n = 1\n").expect("write");
    std::fs::write(
        dir.path().join("noot.toml"),
        "[experiment.k]\ncommand = [\"sh\", \"-c\", \"echo {n}{m}\"]\n\
         strategy = \"multi-branch\"\nconfigs = [\"configs/\"]\n[experiment.k.expand]\nm = [1, 2]\n",
    )
    .expect("write");
    let rounds = 5;
    for _ in 0..rounds {
        let start = || {
            noot_command(dir.path(), &["experiment", "run", "k", "--calls", "2"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("noot starts")
        };
        let (first, second) = (start(), start());
        for child in [first, second] {
            let output = child.wait_with_output().expect("wait");
            assert_eq!(
                output.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    let log = std::fs::read_to_string(dir.path().join(".noot/experiments/k/branches.jsonl"))
        .expect("branch log");
    let mut seen = std::collections::BTreeSet::new();
    for line in log.lines() {
        let record: serde_json::Value = serde_json::from_str(line).expect("a whole JSON line");
        let key = (record["call"].to_string(), record["config_id"].to_string());
        assert!(seen.insert(key.clone()), "branch logged twice: {key:?}");
    }
    // 5 rounds × 2 noots × 2 calls × 2 branches.
    assert_eq!(seen.len(), rounds * 2 * 2 * 2, "{log}");
}

/// A tmpfs of `size` mounted on `at`, unmounted on drop; `None` where this
/// machine does not let the tests mount (not root, no CAP_SYS_ADMIN).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(at).ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| Self(at.to_path_buf()))
    }

    fn remount_read_only(&self) {
        let status = std::process::Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .expect("mount");
        assert!(status.success(), "remount read-only");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// `.noot/` on a full disk, then on a read-only one: noot stops with exit
/// 2 and an error that names the file and says what to do, and every
/// result stored before is still there.
#[test]
fn a_full_or_read_only_state_folder_is_named_and_loses_nothing() {
    let dir = mutate_fixture("campaign");
    let Some(tmpfs) = Tmpfs::mount(&dir.path().join(".noot"), "4m") else {
        eprintln!("full disk campaign: cannot mount a tmpfs here (needs root); not run");
        return;
    };
    let before = verdicts(dir.path(), "inprocess");
    let stored = || {
        let text = std::fs::read_to_string(dir.path().join(".noot/mutate/results.json"))
            .expect("results.json is kept");
        let value: serde_json::Value = serde_json::from_str(&text).expect("results.json parses");
        value["results"].as_object().map_or(0, |r| r.len())
    };
    assert_eq!(stored(), before.len());
    // Fill the disk to the last byte.
    let filler = dir.path().join(".noot/filler");
    let mut file = std::fs::File::create(&filler).expect("filler");
    let chunk = vec![0u8; 64 * 1024];
    while std::io::Write::write_all(&mut file, &chunk).is_ok() {}
    let _ = std::io::Write::write_all(&mut file, &[0u8]);
    drop(file);
    let (code, _, stderr) = noot_run(dir.path(), &["run", "--runner", "inprocess", "--force"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(".noot/") && stderr.contains("the disk is full"), "{stderr}");
    assert_eq!(stored(), before.len(), "a full disk lost stored results");
    std::fs::remove_file(&filler).expect("free the disk");
    tmpfs.remount_read_only();
    let (code, _, stderr) = noot_run(dir.path(), &["run", "--runner", "inprocess", "--force"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(".noot/") && stderr.contains("read-only"), "{stderr}");
    assert_eq!(stored(), before.len(), "a read-only disk lost stored results");
}

/// Tests that write files: into their working directory (the mutated
/// tree: nothing to say) and into the user's own project through an
/// absolute path (named in the summary and on stderr).
#[test]
fn writes_into_the_project_are_reported_and_writes_into_the_tree_are_not() {
    let dir = python_project(
        "def add(a, b):\n    return a + b\n",
        "import os\nfrom pkg import add\n\n\ndef test_add():\n    \
         open('scratch.txt', 'a').write('in the working directory')\n    \
         open(os.path.join(os.environ['NOOT_PROJECT_DIR'], 'escaped.log'), 'a').write('x')\n    \
         assert add(1, 2) == 3\n",
    );
    for runner in ["inprocess", "subprocess"] {
        let _ = std::fs::remove_file(dir.path().join("escaped.log"));
        let (code, stdout, stderr) =
            noot_run(dir.path(), &["run", "--runner", runner, "--force", "--format", "json"]);
        assert_eq!(code, Some(0), "{stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
        assert_eq!(report["summary"]["project_writes"], serde_json::json!(["new escaped.log"]));
        assert!(stderr.contains("files of your project changed while noot ran (new escaped.log)"));
        assert!(!dir.path().join("scratch.txt").exists(), "{runner}: cwd is the mutated tree");
    }
}
