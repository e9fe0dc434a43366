//! `noot run` in a Rust project, end to end: the catalog, one build with
//! every viable mutant ([`super::build`]), a stats run that runs each test
//! alone and records the switches it reaches, then each mutant against
//! only those tests through [`super::runner::LibtestRunner`], with the
//! results, reports and supervision the Python side uses.
//!
//! Results are keyed per function ([`super::keys`]): the mutant's
//! function, the bodies its tests and its own runs reach
//! ([`super::reach`]), and everything else of the project (the frame).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::build::{self, PlannedFile, TestBinary};
use super::catalog::{AnalysedSource, RustCatalog};
use super::keys;
use super::reach;
use super::runner::{LibtestRunner, Reach, test_arg};
use crate::config::Config;
use crate::engine::abi_ports::host_ports;
use crate::engine::events::Event;
use crate::engine::ports::Ports;
use crate::engine::procs::{ProcStatus, SpawnRequest};
use crate::engine::store::Store;
use crate::mutate::catalog::{Catalog, Mutant};
use crate::mutate::execute::{self, Execution, Limits};
use crate::mutate::project::Excludes;
use crate::mutate::report::{self, RunReport, SessionFile};
use crate::mutate::results::{MutantResult, ResultStore, Status};
use crate::mutate::selection::Selected;
use crate::mutate::session::{
    CargoOptions, RunError, RunRequest, STATE_DIR, compact, compile_filters, lock_project, no_match,
};

/// × the baseline for a Rust mutant's CPU budget (see where it is used).
const RUST_CPU_MULTIPLIER: f64 = 6.0;

/// One test of one binary, as the stats run saw it.
#[derive(Debug, Clone)]
struct TestRun {
    binary: String,
    target: String,
    name: String,
    duration_ms: u64,
    hits: BTreeSet<u32>,
}

/// `[mutate]` keys that only mean something for Python projects.
const PYTHON_ONLY_KEYS: &[&str] =
    &["python", "pytest_args", "tests", "runner", "runner_options", "paths"];

/// Refuses a `[mutate]` key set for Python in a Rust project, at its line.
pub fn refuse_python_keys(config: &Config) -> Result<(), RunError> {
    let settings = &config.mutate;
    let set = settings.locations.iter().find(|(key, _)| {
        let name = key.split('.').next().unwrap_or(key);
        PYTHON_ONLY_KEYS.contains(&name)
    });
    match set {
        Some((key, location)) => Err(RunError::Setup {
            location: Some(location.clone()),
            message: format!(
                "[mutate] {} is for Python projects, and {} is a Rust project",
                key.split('.').next().unwrap_or(key),
                config.root.join("Cargo.toml").display()
            ),
            help: Some(
                "remove it, or set [mutate] language = \"python\" if this is a Python project built with Cargo"
                    .into(),
            ),
        }),
        None => Ok(()),
    }
}

/// The project's mutants, the unparsable files named on stderr: analysis
/// only, nothing written (`noot run --list` stops here).
pub fn catalog(
    config: &Config,
    ports: &Ports,
    cargo: &CargoOptions,
) -> Result<RustCatalog, RunError> {
    let settings = &config.mutate;
    let excludes = Excludes::new(&settings.exclude).map_err(|e| RunError::Setup {
        location: settings.locations.get("exclude").cloned(),
        message: e.to_string(),
        help: None,
    })?;
    let found = super::catalog::build(&config.root, &excludes, &cargo.packages).map_err(|e| {
        RunError::Setup {
            location: settings.locations.get("language").cloned(),
            message: e.to_string(),
            help: Some(
                "run noot in the folder of the crate's or the workspace's Cargo.toml".into(),
            ),
        }
    })?;
    for (file, message) in &found.catalog.unparsable {
        ports.events.emit(&Event::Warning { message: format!("{file}: {message}; not mutated") });
    }
    Ok(found)
}

/// Runs the mutants of the Rust project `config.root`.
pub fn run(
    config: &Config,
    ports: &Ports,
    request: &RunRequest,
    stop: &AtomicBool,
) -> Result<RunReport, RunError> {
    refuse_python_keys(config)?;
    let started = Instant::now();
    ports.events.emit(&Event::SessionStarted { command: "run".into() });
    let settings = &config.mutate;
    let root = config.root.clone();
    let RustCatalog { catalog, files } = catalog(config, ports, &request.cargo)?;
    let state_dir = root.join(STATE_DIR);
    std::fs::create_dir_all(&state_dir)
        .map_err(|e| RunError::setup(format!("{}: {e}", state_dir.display()), None))?;
    let _lock = lock_project(&root)?;
    let mutants_dir = root.join(&settings.mutants_dir);

    // One build with every mutant behind its switch.
    let switches: HashMap<String, u32> =
        catalog.mutants.iter().zip(1u32..).map(|(m, n)| (m.id.clone(), n)).collect();
    let bodies: Vec<Vec<(String, Range<usize>)>> = files.iter().map(|f| f.bodies.clone()).collect();
    let planned = planned_files(files, &switches);
    let feature_args = request.cargo.feature_args();
    ports.progress.progress(0, 1, "building the mutated crate once");
    let build_started = ports.clock.monotonic_ms();
    let built =
        build::build(&root, &mutants_dir, &root.join(".noot/target"), &planned, &feature_args)
            .map_err(|e| RunError::Setup {
                location: None,
                message: e.to_string(),
                help: Some(
                    "`cargo test --no-run` must build the project without noot first".into(),
                ),
            })?;
    ports.progress.finish();

    let build_ms = ports.clock.monotonic_ms().saturating_sub(build_started);
    // The stats run: each test alone, the switches it reaches.
    let stats_started = ports.clock.monotonic_ms();
    let tests = stats_run(ports, &mutants_dir, &built.binaries, request.jobs, stop)?;
    let stats_ms = ports.clock.monotonic_ms().saturating_sub(stats_started);
    if stop.load(Ordering::SeqCst) {
        return Err(RunError::Interrupted);
    }
    // Each test ran in a process of its own: what the quickest test of a
    // binary took is that binary's start-up, not the tests' time.
    let (mut tests, startup_ms) = without_startup(tests);
    // A doc example that fails as a test of the copy (its wrapping is
    // rustdoc's, not its harness) is dropped, not the whole run.
    // Examples in a file this build does not compile (on an item behind a
    // feature) are not run by rustdoc either: left out without a word.
    let built_file =
        |example: &str| built.compiles(example.rsplit_once(':').map_or(example, |(file, _)| file));
    let unbuilt = built.doc_dropped.iter().filter(|(e, _)| !built_file(e)).count();
    let mut dropped: Vec<(String, String)> =
        built.doc_dropped.iter().filter(|(e, _)| built_file(e)).cloned().collect();
    tests.retain(|t| {
        let failed_example = t.target == build::DOC_TARGET && t.hits.contains(&u32::MAX);
        if failed_example {
            dropped.push((t.name.clone(), "fails as a test without any mutant".into()));
        }
        !failed_example
    });
    if let Some((example, why)) = dropped.first() {
        ports.events.emit(&Event::Warning {
            message: format!(
                "{} of {} doc examples are not used (they do not build or pass as tests of the mutated copy; a mutant only they catch is reported survived, where `cargo test --doc` would catch it); the first, {example}: {why}",
                dropped.len(),
                built.doc_examples + built.doc_dropped.len() - unbuilt,
            ),
        });
    }
    let failing: Vec<&TestRun> = tests.iter().filter(|t| t.hits.contains(&u32::MAX)).collect();
    if let Some(test) = failing.first() {
        return Err(RunError::Setup {
            location: None,
            message: format!("{}::{} fails without any mutant", test.target, test.name),
            help: Some(
                "noot needs a passing test suite: fix or #[ignore] that test, then run again"
                    .into(),
            ),
        });
    }

    let number_of: HashMap<u32, &str> = switches.iter().map(|(id, n)| (*n, id.as_str())).collect();
    let mut selection: HashMap<String, Selected> = HashMap::new();
    let mut reaching: HashMap<&str, Vec<&TestRun>> = HashMap::new();
    // Per mutant, every switch its selected tests reach (by test run, not
    // by name: a lib and a bin, or two members' `tests/smoke.rs`, share
    // target names).
    let mut reached_switches: HashMap<String, BTreeSet<u32>> = HashMap::new();
    for test in &tests {
        for number in &test.hits {
            if let Some(id) = number_of.get(number) {
                reaching.entry(id).or_default().push(test);
            }
        }
    }
    for (id, mut runs) in reaching {
        reached_switches
            .insert(id.to_owned(), runs.iter().flat_map(|t| t.hits.iter().copied()).collect());
        runs.sort_by(|a, b| a.duration_ms.cmp(&b.duration_ms).then(a.name.cmp(&b.name)));
        selection.insert(
            id.to_owned(),
            Selected {
                tests: runs.iter().map(|t| test_arg(&t.binary, &t.name)).collect(),
                node_ids: runs.iter().map(|t| format!("{}::{}", t.target, t.name)).collect(),
                baseline_ms: runs.iter().map(|t| t.duration_ms).sum(),
                ..Selected::default()
            },
        );
    }
    let reach_path = state_dir.join(reach::FILE);
    let reached_before = reach::load(&reach_path);
    let keys = result_keys(
        &root,
        &catalog,
        &planned,
        &bodies,
        &built,
        &switches,
        &reached_switches,
        &reached_before,
        &selection,
        &feature_args,
    );

    let store = ResultStore::new(ports.fs.as_ref(), &state_dir);
    let previous = store.load()?;
    let filters = compile_filters(&request.filters)?;
    let wanted: Vec<&Mutant> = catalog
        .mutants
        .iter()
        .filter(|m| filters.is_empty() || filters.iter().any(|f| f.is_match(&m.id)))
        .collect();
    if wanted.is_empty() && !request.filters.is_empty() {
        return Err(no_match(&request.filters, &catalog));
    }
    let mut results: BTreeMap<String, MutantResult> = BTreeMap::new();
    let mut reused = BTreeSet::new();
    let mut to_run = Vec::new();
    for mutant in &wanted {
        let key = keys.get(&mutant.id).cloned().unwrap_or_default();
        if let Some(old) = previous.results.get(&mutant.id) {
            // A file's being built depends on features and cfg, which the
            // key does not cover: not-built verdicts are made afresh.
            let fresh = matches!(old.status, Status::Error | Status::Skipped);
            if !request.force && old.key == key && !fresh {
                results.insert(mutant.id.clone(), old.clone());
                reused.insert(mutant.id.clone());
                continue;
            }
        }
        let number = switches.get(&mutant.id).copied().unwrap_or(0);
        let verdict = if let Some(why) = built.unviable.get(&number) {
            Some((Status::Unviable, format!("does not build: {why}")))
        } else if !built.compiles(&mutant.file) {
            Some((
                Status::Skipped,
                format!(
                    "not built: no target of this build compiles {} (a cfg, a feature or the platform leaves it out)",
                    mutant.file
                ),
            ))
        } else if selection.get(&mutant.id).is_none_or(|s| s.tests.is_empty()) {
            Some((Status::NoTests, "no test reaches this function".to_owned()))
        } else {
            None
        };
        match verdict {
            Some((status, detail)) => {
                let result = MutantResult {
                    id: mutant.id.clone(),
                    key,
                    status,
                    duration_ms: 0,
                    tests: Vec::new(),
                    whole_suite: false,
                    exit_code: None,
                    detail,
                    output: String::new(),
                };
                store.append(&result)?;
                results.insert(mutant.id.clone(), result);
            }
            None => to_run.push(*mutant),
        }
    }

    let session_file = SessionFile {
        runner: "libtest".into(),
        root: root.display().to_string(),
        mutants: catalog.mutants.clone(),
        skipped_functions: catalog.skipped.clone(),
    };
    Store::new(ports.fs.as_ref()).save(&state_dir.join("session.json"), &session_file)?;

    let dirs: HashMap<String, String> = built
        .binaries
        .iter()
        .map(|b| (b.path.display().to_string(), package_dir(b, &mutants_dir).display().to_string()))
        .collect();
    let function_of: HashMap<u32, String> = catalog
        .mutants
        .iter()
        .filter_map(|m| Some((*switches.get(&m.id)?, m.function.clone())))
        .collect();
    let recording = Reach {
        journal: reach_path.clone(),
        scratch: mutants_dir.join(".noot/stats"),
        function_of,
    };
    let runner = noot_plugin_api::runner_box(LibtestRunner::new(
        host_ports(ports),
        switches.clone(),
        dirs,
        Some(recording),
    ));
    // A compiled test's CPU time hardly varies between runs (no imports,
    // no JIT, no first-call costs): six times the selection's baseline is
    // plenty, where ten times a debug build's whole selection made an
    // infinite loop cost a minute. Not less: a CPU timeout stands only when
    // the mutant ran four times as long as its tests without it, so twice
    // the baseline sent every loop whose tests take over an eighth of a
    // second to a generous re-run (10 s each on semver); six leaves room
    // for the reference run being half as slow again as the stats run.
    let limits = Limits {
        multiplier: settings.timeout_multiplier,
        cpu_multiplier: RUST_CPU_MULTIPLIER,
        floor_secs: settings.timeout_floor_secs,
        startup_ms,
    };
    let execution = Execution {
        runner: &runner,
        ports,
        stop,
        jobs: request.jobs,
        debug: request.debug,
        selection: &selection,
        keys: &keys,
        store: &store,
        limits,
    };
    let tested = execute::run_mutants(&execution, &to_run)?;
    let tested_count = tested.len();
    results.extend(tested);

    compact(&store, previous, &results, &catalog.mutants)?;
    let current: BTreeSet<&str> = catalog.mutants.iter().map(|m| m.id.as_str()).collect();
    if let Err(e) = reach::compact(&reach_path, &current) {
        ports.events.emit(&Event::Warning { message: format!("{}: {e}", reach_path.display()) });
    }
    let wanted: Vec<Mutant> = wanted.into_iter().cloned().collect();
    let mut report = report::build("libtest", &wanted, &results, &reused, catalog.skipped.clone());
    report.summary.tested = tested_count;
    report.summary.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report.summary.interrupted = stop.load(Ordering::SeqCst);
    report.summary.runner_reason = format!(
        "one build ({} cargo round{}, {} unviable, {}), {} tests run alone for the stats ({})",
        built.rounds,
        if built.rounds == 1 { "" } else { "s" },
        built.unviable.len(),
        seconds(build_ms),
        tests.len(),
        seconds(stats_ms),
    );
    ports.events.emit(&Event::SessionFinished {
        command: "run".into(),
        elapsed_ms: report.summary.duration_ms,
    });
    Ok(report)
}

/// `rustc -vV` as cargo would run it in `root` (a `rust-toolchain.toml`
/// there picks the toolchain); empty if it cannot run.
fn toolchain_version(root: &Path) -> String {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    std::process::Command::new(rustc)
        .arg("-vV")
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Where `cargo test` would run `binary`: its package's folder, else the
/// copy's root.
fn package_dir(binary: &TestBinary, root: &Path) -> PathBuf {
    if binary.dir.as_os_str().is_empty() { root.to_path_buf() } else { binary.dir.clone() }
}

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// Each mutant's result key ([`keys`]). A function's body is tracked
/// (left out of the frame, its edits seen only by the tests that reach
/// it) when a viable body-replacing mutant puts a switch at its entry:
/// only then does the stats run see every test that calls it.
#[allow(clippy::too_many_arguments)]
fn result_keys(
    root: &Path,
    catalog: &Catalog,
    planned: &[PlannedFile],
    bodies: &[Vec<(String, Range<usize>)>],
    built: &build::Built,
    switches: &HashMap<String, u32>,
    reached_switches: &HashMap<String, BTreeSet<u32>>,
    reached_before: &HashMap<String, BTreeSet<String>>,
    selection: &HashMap<String, Selected>,
    feature_args: &[String],
) -> HashMap<String, String> {
    let viable = |m: &&Mutant| switches.get(&m.id).is_some_and(|n| !built.unviable.contains_key(n));
    let tracked: HashSet<&str> = catalog
        .mutants
        .iter()
        .filter(|m| m.operator == "replace_body")
        .filter(viable)
        .map(|m| m.function.as_str())
        .collect();
    let tracked_bodies: Vec<Vec<(String, Range<usize>)>> = bodies
        .iter()
        .map(|file| {
            file.iter().filter(|(key, _)| tracked.contains(key.as_str())).cloned().collect()
        })
        .collect();
    let texts: Vec<keys::FileText<'_>> = planned
        .iter()
        .zip(&tracked_bodies)
        .map(|(file, bodies)| keys::FileText { source: &file.source, bodies })
        .collect();
    let analysed: BTreeSet<&str> = planned.iter().map(|f| f.rel.as_str()).collect();
    // The project's other files: tests, manifests, the lockfile, data.
    let mut extra: Vec<&str> = built
        .project_files
        .iter()
        .map(String::as_str)
        .filter(|line| line.split_once('\0').is_none_or(|(path, _)| !analysed.contains(path)))
        .collect();
    extra.extend(feature_args.iter().map(String::as_str));
    // The compiler and its flags decide what the code does too (overflow
    // checks, lints made errors, codegen): a new toolchain or RUSTFLAGS
    // runs every mutant again.
    let toolchain = toolchain_version(root);
    let rustflags = std::env::var("RUSTFLAGS").unwrap_or_default();
    extra.push(&toolchain);
    extra.push(&rustflags);
    let frame = keys::frame_digest(&texts, &extra);
    let body_digests = keys::body_digests(&texts);
    let function_of: HashMap<u32, &str> = catalog
        .mutants
        .iter()
        .filter_map(|m| Some((*switches.get(&m.id)?, m.function.as_str())))
        .filter(|(_, f)| tracked.contains(f))
        .collect();
    catalog
        .mutants
        .iter()
        .map(|m| {
            let ids: Vec<&str> = selection
                .get(&m.id)
                .map(|s| s.node_ids.iter().map(String::as_str).collect())
                .unwrap_or_default();
            // What its tests reach without it, and what its own runs
            // reached ([`reach`]).
            let under_mutant = reached_before.get(&m.id).into_iter().flatten();
            let reached: BTreeSet<&str> = reached_switches
                .get(&m.id)
                .into_iter()
                .flatten()
                .filter_map(|n| function_of.get(n).copied())
                .chain(under_mutant.map(String::as_str).filter(|f| tracked.contains(f)))
                .collect();
            (m.id.clone(), keys::key(&m.digest, &frame, &ids, &reached, &body_digests))
        })
        .collect()
}

/// The tests with each binary's start-up (its quickest test's time) taken
/// out of their durations, and the longest start-up.
fn without_startup(mut tests: Vec<TestRun>) -> (Vec<TestRun>, u64) {
    let mut startup: HashMap<String, u64> = HashMap::new();
    for test in &tests {
        let quickest = startup.entry(test.binary.clone()).or_insert(u64::MAX);
        *quickest = (*quickest).min(test.duration_ms);
    }
    for test in &mut tests {
        let own = startup.get(&test.binary).copied().unwrap_or(0);
        test.duration_ms = test.duration_ms.saturating_sub(own).max(1);
    }
    (tests, startup.values().copied().max().unwrap_or(0))
}

/// Every analysed file with its mutations numbered, each crate root marked
/// (it gets the runtime module even without mutants).
fn planned_files(files: Vec<AnalysedSource>, switches: &HashMap<String, u32>) -> Vec<PlannedFile> {
    files
        .into_iter()
        .map(|file| PlannedFile {
            crate_root: is_crate_root(&file.rel),
            mutations: file
                .mutations
                .into_iter()
                .filter_map(|(id, mutation)| Some((*switches.get(&id)?, mutation)))
                .collect(),
            rel: file.rel,
            source: file.source,
        })
        .collect()
}

fn is_crate_root(rel: &str) -> bool {
    let path = PathBuf::from(rel);
    let parent = path.parent().and_then(Path::file_name).and_then(|n| n.to_str());
    let name = path.file_name().and_then(|n| n.to_str());
    matches!((parent, name), (Some("src"), Some("lib.rs" | "main.rs")) | (Some("bin"), Some(_)))
        || (path.ends_with("main.rs")
            && path.parent().and_then(Path::parent).and_then(Path::file_name)
                == Some("bin".as_ref()))
}

/// Runs every test of every binary alone with `NOOT_STATS_FILE`; a test
/// that fails gets `u32::MAX` among its hits.
fn stats_run(
    ports: &Ports,
    cwd: &Path,
    binaries: &[TestBinary],
    jobs: usize,
    stop: &AtomicBool,
) -> Result<Vec<TestRun>, RunError> {
    let mut all = Vec::new();
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
                all.push((binary, name.to_owned()));
            }
        }
    }
    let scratch = cwd.join(".noot/stats");
    std::fs::create_dir_all(&scratch)
        .map_err(|e| RunError::setup(format!("{}: {e}", scratch.display()), None))?;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::new());
    let total = all.len() as u64;
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some((binary, name)) = all.get(index) else { return };
                    if stop.load(Ordering::SeqCst) {
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
                        hits.insert(u32::MAX);
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
                }
            });
        }
    });
    ports.progress.finish();
    let mut tests = done.into_inner().unwrap_or_else(|e| e.into_inner());
    tests.sort_by(|a, b| {
        (a.target.as_str(), a.name.as_str()).cmp(&(b.target.as_str(), b.name.as_str()))
    });
    Ok(tests)
}
