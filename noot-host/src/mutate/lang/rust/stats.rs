//! The stats run of a Rust project: every test of every test binary run
//! alone (`--exact`), with `NOOT_STATS_FILE` naming where the runtime
//! writes the switches the test reached; and the selection it gives:
//! each mutant's reaching tests, fastest first.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::build::TestBinary;
use super::runner::test_arg;
use crate::engine::events::Event;
use crate::engine::ports::Ports;
use crate::engine::procs::{ProcStatus, SpawnRequest};
use crate::mutate::request::RunError;
use crate::mutate::selection::{Selected, string_object};

/// The switch number a failing test gets among its hits.
pub const FAILED: u32 = u32::MAX;

/// One test of one binary, as the stats run saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRun {
    /// The binary's path.
    pub binary: String,
    /// Its target's name.
    pub target: String,
    /// The test's name.
    pub name: String,
    /// How long it ran (after [`without_startup`]: less its binary's
    /// start-up).
    pub duration_ms: u64,
    /// The switches it reached; [`FAILED`] when it failed.
    pub hits: BTreeSet<u32>,
}

/// What the stats run gives the keys and the runner.
#[derive(Debug, Default)]
pub struct Selection {
    /// Per mutant id, its tests, fastest first.
    pub selected: HashMap<String, Selected>,
    /// Per mutant id, every switch its selected tests reach (by test run,
    /// not by name: a lib and a bin, or two members' `tests/smoke.rs`,
    /// share target names).
    pub reached_switches: HashMap<String, BTreeSet<u32>>,
}

/// Each mutant's tests: those whose hits hold its switch (`mutant_of`:
/// switch number → mutant id), with the hints a runner needs (its switch
/// as `NOOT_MUTANT`, and `dirs`: binary path → the folder it runs in).
pub fn select(
    tests: &[TestRun],
    mutant_of: &HashMap<u32, &str>,
    dirs: &HashMap<String, String>,
) -> Selection {
    let mut reaching: HashMap<&str, (u32, Vec<&TestRun>)> = HashMap::new();
    for test in tests {
        for number in &test.hits {
            if let Some(id) = mutant_of.get(number) {
                reaching.entry(id).or_insert_with(|| (*number, Vec::new())).1.push(test);
            }
        }
    }
    let mut selection = Selection::default();
    for (id, (number, mut runs)) in reaching {
        selection
            .reached_switches
            .insert(id.to_owned(), runs.iter().flat_map(|t| t.hits.iter().copied()).collect());
        runs.sort_by(|a, b| a.duration_ms.cmp(&b.duration_ms).then(a.name.cmp(&b.name)));
        selection.selected.insert(
            id.to_owned(),
            Selected {
                tests: runs.iter().map(|t| test_arg(&t.binary, &t.name)).collect(),
                node_ids: runs.iter().map(|t| format!("{}::{}", t.target, t.name)).collect(),
                baseline_ms: runs.iter().map(|t| t.duration_ms).sum(),
                hints: hints(number, &runs, dirs),
                ..Selected::default()
            },
        );
    }
    selection
}

/// A Rust job's runner hints: `env`, what its test processes need
/// (`NOOT_MUTANT`), and `dirs`, the folder each of its binaries runs in.
fn hints(
    switch: u32,
    runs: &[&TestRun],
    dirs: &HashMap<String, String>,
) -> serde_json::Map<String, serde_json::Value> {
    let switch = switch.to_string();
    let binaries: std::collections::BTreeSet<&str> =
        runs.iter().map(|t| t.binary.as_str()).collect();
    let dirs = binaries.into_iter().filter_map(|b| Some((b, dirs.get(b)?.as_str())));
    let mut hints = serde_json::Map::new();
    hints.insert("env".into(), string_object([("NOOT_MUTANT", switch.as_str())]));
    hints.insert("dirs".into(), string_object(dirs));
    hints
}

/// Each binary's start-up: its quickest test's time.
pub fn startups(tests: &[TestRun]) -> HashMap<String, u64> {
    let mut startup: HashMap<String, u64> = HashMap::new();
    for test in tests {
        let quickest = startup.entry(test.binary.clone()).or_insert(u64::MAX);
        *quickest = (*quickest).min(test.duration_ms);
    }
    startup
}

/// The tests with each binary's start-up (its quickest test's time) taken
/// out of their durations, and the longest start-up.
pub fn without_startup(mut tests: Vec<TestRun>) -> (Vec<TestRun>, u64) {
    let startup = startups(&tests);
    for test in &mut tests {
        let own = startup.get(&test.binary).copied().unwrap_or(0);
        test.duration_ms = test.duration_ms.saturating_sub(own).max(1);
    }
    (tests, startup.values().copied().max().unwrap_or(0))
}

/// Where `cargo test` would run `binary`: its package's folder, else the
/// copy's root.
pub fn package_dir(binary: &TestBinary, root: &Path) -> PathBuf {
    if binary.dir.as_os_str().is_empty() { root.to_path_buf() } else { binary.dir.clone() }
}

/// Says of the tests finished so far whether the stats run may stop.
pub type Enough<'a> = Option<&'a (dyn Fn(&[TestRun]) -> bool + Sync)>;

/// Runs every test of every binary alone with `NOOT_STATS_FILE`, but
/// those whose `TARGET::TEST` an `excluded` glob matches (`[mutate]
/// exclude_tests`); a test that fails gets [`FAILED`] among its hits.
/// Once `enough` says so of the tests finished so far, no other test
/// starts (the second value is then `true`: the tests are only some).
pub fn run(
    ports: &Ports,
    cwd: &Path,
    binaries: &[TestBinary],
    (excluded, exclude_at): (&[(String, globset::GlobMatcher)], &str),
    jobs: usize,
    stop: &AtomicBool,
    enough: Enough<'_>,
) -> Result<(Vec<TestRun>, bool), RunError> {
    let mut all = Vec::new();
    let mut matched = vec![false; excluded.len()];
    for binary in binaries {
        let listing = ports
            .procs
            .spawn(&SpawnRequest {
                program: binary.path.display().to_string(),
                args: vec!["--list".into(), "--format".into(), "terse".into()],
                cwd: Some(cwd.to_path_buf()),
                output_cap_bytes: 16 << 20,
                ..SpawnRequest::default()
            })
            .and_then(|handle| ports.procs.wait(handle, Some(60_000)))
            .map_err(|e| RunError::setup(format!("{}: {e}", binary.path.display()), None))?;
        for line in String::from_utf8_lossy(&listing.stdout).lines() {
            if let Some(name) = line.strip_suffix(": test") {
                let id = format!("{}::{name}", binary.target);
                let mut left_out = false;
                for ((_, glob), seen) in excluded.iter().zip(&mut matched) {
                    if glob.is_match(&id) {
                        *seen = true;
                        left_out = true;
                    }
                }
                if !left_out {
                    all.push((binary, name.to_owned()));
                }
            }
        }
    }
    // A typo must not pass for a test left out (a listing cut short by
    // Ctrl-C proves nothing).
    for ((pattern, _), seen) in excluded.iter().zip(&matched) {
        if !seen && !stop.load(Ordering::SeqCst) {
            ports.events.emit(&Event::Warning {
                message: format!(
                    "{exclude_at}[mutate] exclude_tests: `{pattern}` matches no test (ids are TARGET::TEST: the test target, as `cargo test` names it, then the test's path, such as `e2e::cli::help` or `mycrate::tests::adds`)"
                ),
            });
        }
    }
    let scratch = cwd.join(".noot/stats");
    std::fs::create_dir_all(&scratch)
        .map_err(|e| RunError::setup(format!("{}: {e}", scratch.display()), None))?;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::new());
    let cut = AtomicBool::new(false);
    let total = all.len() as u64;
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some((binary, name)) = all.get(index) else { return };
                    if stop.load(Ordering::SeqCst) || cut.load(Ordering::SeqCst) {
                        return;
                    }
                    let hits_file = scratch.join(format!("test-{index}.txt"));
                    let _ = std::fs::remove_file(&hits_file);
                    let result = ports
                        .procs
                        .spawn(&SpawnRequest {
                            program: binary.path.display().to_string(),
                            args: vec!["--exact".into(), name.clone(), "-q".into()],
                            cwd: Some(package_dir(binary, cwd)),
                            env: vec![
                                ("NOOT_MUTANT".into(), "0".into()),
                                ("NOOT_STATS_FILE".into(), hits_file.display().to_string()),
                                // A `should_panic` test's backtrace costs
                                // ~100 ms and would count as its time.
                                ("RUST_BACKTRACE".into(), "0".into()),
                                (
                                    "CARGO_MANIFEST_DIR".into(),
                                    package_dir(binary, cwd).display().to_string(),
                                ),
                            ],
                            output_cap_bytes: 64 * 1024,
                            ..SpawnRequest::default()
                        })
                        .and_then(|handle| ports.procs.wait(handle, None));
                    let mut hits: BTreeSet<u32> = std::fs::read_to_string(&hits_file)
                        .unwrap_or_default()
                        .lines()
                        .filter_map(|l| l.trim().parse().ok())
                        .collect();
                    let (passed, duration_ms) = match &result {
                        Ok(r) => (r.status == ProcStatus::Exited(0), r.elapsed_ms),
                        Err(_) => (false, 0),
                    };
                    if !passed {
                        hits.insert(FAILED);
                    }
                    let mut finished = done.lock().unwrap_or_else(|e| e.into_inner());
                    finished.push(TestRun {
                        binary: binary.path.display().to_string(),
                        target: binary.target.clone(),
                        name: name.clone(),
                        duration_ms,
                        hits,
                    });
                    ports.progress.progress(finished.len() as u64, total, &format!("stats {name}"));
                    if enough.is_some_and(|enough| enough(&finished)) {
                        cut.store(true, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    ports.progress.finish();
    let mut tests = done.into_inner().unwrap_or_else(|e| e.into_inner());
    tests.sort_by(|a, b| {
        (a.target.as_str(), a.name.as_str()).cmp(&(b.target.as_str(), b.name.as_str()))
    });
    let cut = cut.load(Ordering::SeqCst) && tests.len() < all.len();
    Ok((tests, cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_run(binary: &str, name: &str, duration_ms: u64, hits: &[u32]) -> TestRun {
        TestRun {
            binary: binary.into(),
            target: "calc".into(),
            name: name.into(),
            duration_ms,
            hits: hits.iter().copied().collect(),
        }
    }

    #[test]
    fn a_binarys_quickest_test_is_its_start_up() {
        let tests = vec![
            test_run("a", "x", 40, &[]),
            test_run("a", "y", 100, &[]),
            test_run("b", "z", 70, &[]),
        ];
        let (tests, startup) = without_startup(tests);
        let durations: Vec<u64> = tests.iter().map(|t| t.duration_ms).collect();
        assert_eq!(durations, [1, 60, 1], "never zero: a test costs something");
        assert_eq!(startup, 70, "the longest start-up of any binary");
    }

    #[test]
    fn each_mutant_gets_the_tests_that_reach_it_fastest_first() {
        let tests = vec![
            test_run("lib", "slow", 30, &[1, 2]),
            test_run("lib", "quick", 5, &[1]),
            test_run("it", "other", 9, &[3]),
        ];
        let mutant_of: HashMap<u32, &str> = [(1, "m::f__noot_1"), (2, "m::g__noot_1")].into();
        let dirs: HashMap<String, String> = [("lib".to_owned(), "/m".to_owned())].into();
        let selection = select(&tests, &mutant_of, &dirs);
        let f = &selection.selected["m::f__noot_1"];
        assert_eq!(f.tests, [test_arg("lib", "quick"), test_arg("lib", "slow")]);
        assert_eq!(f.node_ids, ["calc::quick", "calc::slow"]);
        assert_eq!(f.baseline_ms, 35);
        assert_eq!(f.hints_json(), r#"{"env":{"NOOT_MUTANT":"1"},"dirs":{"lib":"/m"}}"#);
        assert_eq!(selection.reached_switches["m::g__noot_1"], BTreeSet::from([1, 2]));
        assert_eq!(selection.selected.len(), 2, "switch 3 is no mutant's: nothing selected");
    }
}
