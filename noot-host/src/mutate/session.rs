//! One `noot run`: discover → analyse → write the mutated tree → stats run
//! (or reuse) → select tests per mutant → reuse results whose inputs did
//! not change → run the rest through the runner plugin, longest first,
//! persisting each result as it arrives → report.
//!
//! The parent is the only writer of results. Ctrl-C sets the stop flag:
//! nothing new starts, the runner kills its processes, results of mutants
//! that were in flight are dropped (they run again next time), and the
//! results so far are saved.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use noot_plugin_api::abi_stable::std_types::{RString, RVec, Tuple2};
use noot_plugin_api::{MutantJob, MutantStatus, PluginError, RunnerBox, RunnerSession};

use super::catalog::{self, Catalog, Mutant};
use super::project::{self, Excludes};
use super::report::{self, RunReport, SessionFile};
use super::results::{MutantResult, ResultStore, ResultsFile, Status};
use super::stats::{self, Stats, StatsRun};
use super::tree;
use crate::config::{Config, Location};
use crate::engine::digest::{DepGraph, Digest};
use crate::engine::events::Event;
use crate::engine::ports::Ports;
use crate::engine::scheduler::{self, JobGraph};
use crate::engine::store::{Store, StoreError};
use crate::plugins::{Registry, RegistryError};

/// Where noot keeps mutation state, relative to the project root.
pub const STATE_DIR: &str = ".noot/mutate";
/// Output kept per mutant (survived, timeout, error).
const OUTPUT_CAP: u64 = 64 * 1024;

/// What the command line asks for.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// Re-test every mutant, reusing nothing.
    pub force: bool,
    /// `--runner`, over `[mutate] runner`.
    pub runner: Option<String>,
    /// Parallel mutants.
    pub jobs: usize,
    /// Only mutants whose id matches one of these globs.
    pub filters: Vec<String>,
    /// Emit each mutant's reproduction command.
    pub debug: bool,
}

/// Why a session could not run (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Configuration or project layout.
    #[error("{message}")]
    Setup {
        /// Where, if known.
        location: Option<Location>,
        /// What.
        message: String,
        /// What to do.
        help: Option<String>,
    },
    /// The stats run (the baseline).
    #[error(transparent)]
    Stats(#[from] stats::StatsError),
    /// State on disk.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The runner plugin.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl RunError {
    fn setup(message: impl Into<String>, help: Option<&str>) -> Self {
        Self::Setup { location: None, message: message.into(), help: help.map(String::from) }
    }
}

/// Everything a session works with, resolved.
struct Plan {
    root: PathBuf,
    mutants_dir: PathBuf,
    state_dir: PathBuf,
    runner: String,
    catalog: Catalog,
    env: Vec<(String, String)>,
    test_paths: Vec<String>,
    /// Digest of every file copied into the mutated tree.
    tree_digest: String,
}

/// Runs a session. `stop` is the Ctrl-C flag.
pub fn run(
    config: &Config,
    registry: &Registry,
    ports: &Ports,
    request: &RunRequest,
    stop: &AtomicBool,
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    ports.events.emit(&Event::SessionStarted { command: "run".into() });
    let plan = prepare(config, request, ports)?;
    let settings = &config.mutate;

    // The runner first: an unknown name should fail before the stats run.
    let runner_options = settings
        .runner_options
        .get(&plan.runner)
        .map_or_else(|| "{}".to_owned(), |v| v.to_string());
    let runner = registry.new_runner(&plan.runner, &runner_options, ports).map_err(|e| match e {
        RegistryError::Unknown { .. } => RunError::Setup {
            location: if request.runner.is_some() {
                Some(Location::Cli("--runner".into()))
            } else {
                settings.locations.get("runner").cloned()
            },
            message: format!("unknown runner `{}`", plan.runner),
            help: Some(format!(
                "built-in runners: subprocess, inprocess; see `noot plugins list` for the rest{}",
                crate::config::error::closest(&plan.runner, &["subprocess", "inprocess"])
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default()
            )),
        },
        // The runner refused its options: point at the table it was given.
        RegistryError::Construct { error: PluginError::InvalidConfig(message), name, .. } => {
            RunError::Setup {
                location: settings.locations.get(&format!("runner_options.{name}")).cloned(),
                message: format!("runner `{name}`: {message}"),
                help: Some(format!(
                    "fix the [mutate.runner_options.{name}] table; the runner's documentation lists its keys"
                )),
            }
        }
        other => RunError::Registry(other),
    })?;

    // Whatever happens from here, the runner's processes go with the run.
    let _shutdown = ShutdownOnDrop(&runner);
    let runner_session = RunnerSession {
        project_dir: plan.root.display().to_string().into(),
        mutants_dir: plan.mutants_dir.display().to_string().into(),
        test_command: RVec::from(vec![
            RString::from(settings.python.as_str()),
            "-m".into(),
            "pytest".into(),
        ]),
        test_args: base_test_args(settings).into_iter().map(RString::from).collect(),
        suite_args: plan.test_paths.iter().map(|p| RString::from(p.as_str())).collect(),
        env: plan
            .env
            .iter()
            .map(|(k, v)| Tuple2(RString::from(k.as_str()), RString::from(v.as_str())))
            .collect(),
        slots: u32::try_from(request.jobs.max(1)).unwrap_or(1),
        scratch_dir: plan.mutants_dir.join(tree::SCRATCH_DIR).display().to_string().into(),
        options_json: runner_options.into(),
    };
    // A runner with long-lived workers starts them while the stats run
    // works; when the stats are reused, it starts only if mutants need it.
    let mut prepared = false;
    let mut pytest_args = settings.pytest_args.clone();
    pytest_args.extend(plan.test_paths.iter().cloned());
    let stats = stats_for(config, ports, &plan, &pytest_args, request.force, &mut || {
        prepare_runner(&runner, &runner_session, &plan.runner)?;
        prepared = true;
        Ok(())
    })?;

    // Selection, and the key each result is stored under.
    let selection = select_tests(&plan.catalog.mutants, &stats);
    let keys = result_keys(&plan, &stats, &selection);

    let store = ResultStore::new(ports.fs.as_ref(), &plan.state_dir);
    let previous = store.load()?;
    let filters = compile_filters(&request.filters)?;
    let wanted: Vec<&Mutant> = plan
        .catalog
        .mutants
        .iter()
        .filter(|m| filters.is_empty() || filters.iter().any(|f| f.is_match(&m.id)))
        .collect();

    let mut results: BTreeMap<String, MutantResult> = BTreeMap::new();
    let mut reused = BTreeSet::new();
    let mut to_run: Vec<&Mutant> = Vec::new();
    for mutant in &wanted {
        let key = keys.get(&mutant.id).cloned().unwrap_or_default();
        let selected = selection.get(&mutant.id);
        if let Some(old) = previous.results.get(&mutant.id) {
            if !request.force && old.key == key && old.status != Status::Error {
                results.insert(mutant.id.clone(), old.clone());
                reused.insert(mutant.id.clone());
                continue;
            }
        }
        match selected {
            Some(s) if !s.tests.is_empty() => to_run.push(mutant),
            _ => {
                let result = MutantResult {
                    id: mutant.id.clone(),
                    key,
                    status: Status::NoTests,
                    duration_ms: 0,
                    tests: Vec::new(),
                    exit_code: None,
                    detail: "no test reaches this function".into(),
                    output: String::new(),
                };
                store.append(&result)?;
                results.insert(mutant.id.clone(), result);
            }
        }
    }

    // The session file says what the last run was about.
    let session_file = SessionFile {
        runner: plan.runner.clone(),
        root: plan.root.display().to_string(),
        mutants: plan.catalog.mutants.clone(),
        skipped_functions: plan.catalog.skipped.clone(),
    };
    Store::new(ports.fs.as_ref()).save(&plan.state_dir.join("session.json"), &session_file)?;

    let overhead_ms = startup_overhead_ms(&stats);
    if !prepared && !to_run.is_empty() {
        prepare_runner(&runner, &runner_session, &plan.runner)?;
    }

    let tested = run_mutants(
        &runner,
        ports,
        request,
        stop,
        &to_run,
        &selection,
        &keys,
        &store,
        (settings.timeout_multiplier, settings.timeout_floor_secs, overhead_ms),
    );
    drop(_shutdown);
    let tested = tested?;
    let tested_count = tested.len();
    results.extend(tested);

    // Compact: the snapshot keeps every current mutant's latest result.
    let current: BTreeSet<&str> = plan.catalog.mutants.iter().map(|m| m.id.as_str()).collect();
    let mut snapshot = ResultsFile::default();
    for (id, result) in previous.results.into_iter().chain(results.clone()) {
        if current.contains(id.as_str()) {
            snapshot.results.insert(id, result);
        }
    }
    store.compact(&snapshot)?;

    let wanted_mutants: Vec<Mutant> = wanted.into_iter().cloned().collect();
    let mut report = report::build(
        &plan.runner,
        &wanted_mutants,
        &results,
        &reused,
        plan.catalog.skipped.clone(),
    );
    report.summary.tested = tested_count;
    report.summary.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report.summary.interrupted = stop.load(Ordering::SeqCst);
    ports.events.emit(&Event::SessionFinished {
        command: "run".into(),
        elapsed_ms: report.summary.duration_ms,
    });
    Ok(report)
}

/// What `noot run --list` returns: the mutants, generated and written,
/// with nothing run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ListReport {
    /// [`report::REPORT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Source files analysed.
    pub files: usize,
    /// Lines in them.
    pub lines: usize,
    /// Time to discover, parse, generate and write the mutated tree.
    pub elapsed_ms: u64,
    /// Every mutant.
    pub mutants: Vec<Mutant>,
    /// Functions not mutated and why.
    pub skipped_functions: Vec<super::catalog::SkippedFunction>,
}

/// Generates every mutant and writes the mutated tree, running nothing.
pub fn list(config: &Config, request: &RunRequest, ports: &Ports) -> Result<ListReport, RunError> {
    let started = Instant::now();
    let plan = prepare(config, request, ports)?;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let lines = plan.catalog.modules.iter().map(|m| m.lines).sum();
    let filters = compile_filters(&request.filters)?;
    let mutants = plan
        .catalog
        .mutants
        .into_iter()
        .filter(|m| filters.is_empty() || filters.iter().any(|f| f.is_match(&m.id)))
        .collect();
    Ok(ListReport {
        schema_version: report::REPORT_SCHEMA_VERSION,
        files: plan.catalog.modules.len(),
        lines,
        elapsed_ms,
        mutants,
        skipped_functions: plan.catalog.skipped,
    })
}

/// Discovery, analysis and the mutated tree.
fn prepare(config: &Config, request: &RunRequest, ports: &Ports) -> Result<Plan, RunError> {
    let settings = &config.mutate;
    let root = config.root.clone();
    let mutants_dir = root.join(&settings.mutants_dir);
    let state_dir = root.join(STATE_DIR);
    std::fs::create_dir_all(&state_dir)
        .map_err(|e| RunError::setup(format!("{}: {e}", state_dir.display()), None))?;
    let excludes = Excludes::new(&settings.exclude).map_err(|e| RunError::Setup {
        location: settings.locations.get("exclude").cloned(),
        message: e.to_string(),
        help: None,
    })?;
    let project = project::discover(&root, &settings.paths, &mutants_dir, &excludes).map_err(|e| match e {
        project::DiscoverError::NothingFound(_) => RunError::Setup {
            location: settings.locations.get("paths").cloned(),
            message: e.to_string(),
            help: Some("put the package in src/PKG or PKG/ (a folder with __init__.py), or set [mutate] paths = [\"your/package\"] in noot.toml".into()),
        },
        other => RunError::Setup {
            location: settings.locations.get("paths").cloned(),
            message: other.to_string(),
            help: Some("paths in [mutate] are relative to the folder of the config file".into()),
        },
    })?;
    let catalog = catalog::build(&root, &project.sources, &excludes, request.jobs);
    for (file, message) in &catalog.unparsable {
        ports.events.emit(&Event::Warning { message: format!("{file}: {message}; not mutated") });
    }
    let written = tree::write(&root, &mutants_dir, &project.files, &catalog.modules)
        .map_err(|e| RunError::setup(format!("cannot write the mutated tree: {e}"), None))?;

    let mut python_path: Vec<String> =
        vec![mutants_dir.join(tree::SUPPORT_DIR).display().to_string()];
    for import_root in &project.import_roots {
        python_path.push(mutants_dir.join(import_root).display().to_string());
    }
    if let Some(existing) = ports.env.var("PYTHONPATH").filter(|p| !p.is_empty()) {
        python_path.push(existing);
    }
    let env = vec![
        ("PYTHONPATH".to_owned(), python_path.join(":")),
        // Bytecode caches in the tree are kept (noot drops a module's cache
        // when it rewrites the module): an empty value switches off a
        // PYTHONDONTWRITEBYTECODE the user's shell may set.
        ("PYTHONDONTWRITEBYTECODE".to_owned(), String::new()),
        // pytest cuts its "FAILED test - reason" lines to the terminal's
        // width; a fixed, wide one keeps the reason whole and the same on
        // every machine.
        ("COLUMNS".to_owned(), "400".to_owned()),
    ];
    let test_paths = if settings.tests.is_empty() {
        project::default_tests(&root)
    } else {
        settings.tests.clone()
    };
    let runner = request.runner.clone().unwrap_or_else(|| settings.runner.clone());
    Ok(Plan {
        root,
        mutants_dir,
        state_dir,
        runner,
        catalog,
        env,
        test_paths,
        tree_digest: written.digest,
    })
}

/// Hands the runner its session (for `inprocess`, this starts the workers).
fn prepare_runner(runner: &RunnerBox, session: &RunnerSession, name: &str) -> Result<(), RunError> {
    runner
        .prepare(session)
        .into_result()
        .map_err(|e| RunError::setup(format!("runner `{name}` could not start: {e}"), None))
}

/// Shuts the runner down on every way out of a run, errors included.
struct ShutdownOnDrop<'a>(&'a RunnerBox);

impl Drop for ShutdownOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.shutdown();
    }
}

/// Stats from the last session if nothing they depend on changed, else a
/// fresh stats run; `before_run` is called only when the suite really runs.
fn stats_for(
    config: &Config,
    ports: &Ports,
    plan: &Plan,
    pytest_args: &[String],
    force: bool,
    before_run: &mut dyn FnMut() -> Result<(), RunError>,
) -> Result<Stats, RunError> {
    let inputs = Digest::of(
        format!("{}\0{}\0{}", plan.tree_digest, config.mutate.python, pytest_args.join("\0"))
            .as_bytes(),
    )
    .to_string();
    let path = plan.state_dir.join("stats.json");
    let store = Store::new(ports.fs.as_ref());
    if !force {
        if let Ok(Some(stats)) = store.load::<Stats>(&path) {
            if stats.inputs == inputs {
                return Ok(stats);
            }
        }
    }
    before_run()?;
    let report_path = plan.state_dir.join("stats-raw.json");
    let run = StatsRun {
        python: &config.mutate.python,
        mutants_dir: &plan.mutants_dir,
        root: &plan.root,
        args: pytest_args.to_vec(),
        env: plan.env.clone(),
        report_path: &report_path,
        inputs,
        mutated_modules: plan
            .catalog
            .modules
            .iter()
            .filter(|m| m.mutated.is_some())
            .map(|m| m.source.module.clone())
            .collect(),
    };
    ports.progress.progress(0, 1, "stats run: the whole suite once");
    let stats = stats::run(ports.procs.as_ref(), &run);
    ports.progress.finish();
    let stats = stats?;
    store.save(&path, &stats)?;
    Ok(stats)
}

/// The tests chosen for one mutant.
#[derive(Debug, Clone, Default)]
struct Selected {
    /// pytest arguments, fastest first.
    tests: Vec<String>,
    /// Their node ids, same order.
    node_ids: Vec<String>,
    /// Sum of their baseline durations, in ms.
    baseline_ms: u64,
    /// Reached at import time: needs a fresh process.
    fresh: bool,
    /// How many leading tests call the function while they run.
    call_time_tests: u32,
}

fn select_tests(mutants: &[Mutant], stats: &Stats) -> HashMap<String, Selected> {
    let mut by_function: HashMap<&str, Vec<(&String, &stats::TestStats)>> = HashMap::new();
    for (node_id, test) in &stats.tests {
        for hit in &test.hits {
            by_function.entry(hit.as_str()).or_default().push((node_id, test));
        }
    }
    let import_time: BTreeSet<&str> = stats.collection_hits.iter().map(String::as_str).collect();
    let everything: Vec<(&String, &stats::TestStats)> = stats.tests.iter().collect();
    let mut cache: HashMap<&str, Selected> = HashMap::new();
    let mut selection = HashMap::new();
    for mutant in mutants {
        let function = mutant.function.as_str();
        let selected = cache
            .entry(function)
            .or_insert_with(|| {
                let fastest_first =
                    |a: &(&String, &stats::TestStats), b: &(&String, &stats::TestStats)| {
                        a.1.duration_s.total_cmp(&b.1.duration_s).then(a.0.cmp(b.0))
                    };
                let mut tests = by_function.get(function).cloned().unwrap_or_default();
                tests.sort_by(fastest_first);
                let call_time_tests = tests.len();
                // A fresh process runs the whole suite, the tests that call
                // the function first: they are the likeliest to fail, and
                // `-x` then spares the rest.
                let fresh = import_time.contains(function);
                if fresh {
                    let callers: BTreeSet<&String> = tests.iter().map(|(id, _)| *id).collect();
                    let mut rest: Vec<_> = everything
                        .iter()
                        .filter(|(id, _)| !callers.contains(id))
                        .copied()
                        .collect();
                    rest.sort_by(fastest_first);
                    tests.extend(rest);
                }
                let baseline_s: f64 = tests.iter().map(|(_, t)| t.duration_s).sum();
                Selected {
                    tests: tests.iter().map(|(_, t)| t.arg.clone()).collect(),
                    node_ids: tests.iter().map(|(id, _)| (*id).clone()).collect(),
                    baseline_ms: (baseline_s * 1000.0).ceil() as u64,
                    fresh,
                    call_time_tests: u32::try_from(call_time_tests).unwrap_or(u32::MAX),
                }
            })
            .clone();
        selection.insert(mutant.id.clone(), selected);
    }
    selection
}

/// A result's key: the mutant's own digest (function text + mutation), the
/// closure digest of its module over the import graph, and the digest of
/// the selected tests' files and of the test configuration.
fn result_keys(
    plan: &Plan,
    stats: &Stats,
    selection: &HashMap<String, Selected>,
) -> HashMap<String, String> {
    let mut graph = DepGraph::new();
    let known: BTreeSet<&str> =
        plan.catalog.modules.iter().map(|m| m.source.module.as_str()).collect();
    let mut module_of_file: HashMap<&str, &str> = HashMap::new();
    for module in &plan.catalog.modules {
        graph.add_unit(module.source.module.clone(), module.digest);
        module_of_file.insert(module.source.rel.as_str(), module.source.module.as_str());
    }
    for module in &plan.catalog.modules {
        for import in &module.imports {
            // `import a.b.c` depends on a, a.b and a.b.c (their __init__s run).
            let parts: Vec<&str> = import.split('.').collect();
            for end in 1..=parts.len() {
                let prefix = parts[..end].join(".");
                if known.contains(prefix.as_str()) && prefix != module.source.module {
                    graph.add_dependency(module.source.module.clone(), prefix);
                }
            }
        }
    }
    let closure = graph.closure_digests();

    let mut file_digests: HashMap<String, String> = HashMap::new();
    let mut file_digest = |rel: &str| -> String {
        file_digests
            .entry(rel.to_owned())
            .or_insert_with(|| {
                std::fs::read(plan.root.join(rel))
                    .map(|b| Digest::of(&b).to_string())
                    .unwrap_or_default()
            })
            .clone()
    };
    // Test configuration: conftest files and the ini files pytest reads.
    let mut config_hasher = String::new();
    for rel in walk_config_files(&plan.root) {
        config_hasher.push_str(&rel);
        config_hasher.push_str(&file_digest(&rel));
    }
    let mut keys = HashMap::new();
    let test_files: HashMap<&str, &str> =
        stats.tests.iter().map(|(id, t)| (id.as_str(), t.file.as_str())).collect();
    for mutant in &plan.catalog.mutants {
        let module = mutant.file.as_str();
        let module_digest = module_of_file
            .get(module)
            .and_then(|name| closure.get(*name))
            .map(ToString::to_string)
            .unwrap_or_default();
        let mut tests_text = config_hasher.clone();
        if let Some(selected) = selection.get(&mutant.id) {
            for node_id in &selected.node_ids {
                tests_text.push_str(node_id);
                if let Some(file) = test_files.get(node_id.as_str()) {
                    tests_text.push_str(&file_digest(file));
                }
            }
        }
        let key =
            Digest::of(format!("{}\0{module_digest}\0{tests_text}", mutant.digest).as_bytes());
        keys.insert(mutant.id.clone(), key.to_string());
    }
    keys
}

fn walk_config_files(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for name in
        ["pytest.ini", ".pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini", "conftest.py"]
    {
        if root.join(name).is_file() {
            found.push(name.to_owned());
        }
    }
    for dir in ["tests", "test", "src"] {
        if root.join(dir).join("conftest.py").is_file() {
            found.push(format!("{dir}/conftest.py"));
        }
    }
    found
}

fn compile_filters(filters: &[String]) -> Result<Vec<globset::GlobMatcher>, RunError> {
    filters
        .iter()
        .map(|f| {
            let pattern = if f.contains(['*', '?', '[']) { f.clone() } else { format!("{f}*") };
            globset::Glob::new(&pattern).map(|g| g.compile_matcher()).map_err(|e| {
                RunError::setup(
                    format!("mutant filter `{f}`: {e}"),
                    Some("use a mutant id, a prefix, or a glob such as 'pkg.mod.*'"),
                )
            })
        })
        .collect()
}

/// `-x -q -p no:cacheprovider` and the user's pytest arguments.
fn base_test_args(settings: &crate::config::mutate::MutateSettings) -> Vec<String> {
    let mut args: Vec<String> =
        ["-x", "-q", "-p", "no:cacheprovider"].iter().map(|s| (*s).to_owned()).collect();
    args.extend(settings.pytest_args.iter().cloned());
    args
}

/// Interpreter and pytest start-up, as the stats run measured it.
fn startup_overhead_ms(stats: &Stats) -> u64 {
    let tests_ms: f64 = stats.tests.values().map(|t| t.duration_s * 1000.0).sum();
    let overhead = (stats.wall_ms as f64 - tests_ms).max(500.0);
    overhead.min(30_000.0) as u64
}

#[allow(clippy::too_many_arguments)]
fn run_mutants(
    runner: &RunnerBox,
    ports: &Ports,
    request: &RunRequest,
    stop: &AtomicBool,
    to_run: &[&Mutant],
    selection: &HashMap<String, Selected>,
    keys: &HashMap<String, String>,
    store: &ResultStore<'_>,
    (multiplier, floor_secs, overhead_ms): (f64, f64, u64),
) -> Result<BTreeMap<String, MutantResult>, RunError> {
    let mut graph = JobGraph::new();
    for mutant in to_run {
        let cost = selection.get(&mutant.id).map_or(1, |s| s.baseline_ms.max(1));
        graph.add_job(cost);
    }
    let total = to_run.len() as u64;
    let done = AtomicUsize::new(0);
    let slots = Mutex::new(
        (0..u32::try_from(request.jobs.max(1)).unwrap_or(1)).rev().collect::<Vec<u32>>(),
    );
    let failures: Mutex<Option<StoreError>> = Mutex::new(None);
    let finished = AtomicBool::new(false);

    std::thread::scope(|scope| {
        // Ctrl-C watcher: stop the runner's processes at once.
        scope.spawn(|| {
            while !finished.load(Ordering::SeqCst) {
                if stop.load(Ordering::SeqCst) {
                    runner.cancel();
                    ports.procs.kill_all();
                    return;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        });
        ports.progress.progress(0, total, "");
        let outcome = scheduler::run(&graph, request.jobs.max(1), stop, |job| {
            let mutant = to_run[job];
            let selected = selection.get(&mutant.id).cloned().unwrap_or_default();
            let slot = slots.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or(0);
            let deadline_ms = deadline_ms(selected.baseline_ms, multiplier, floor_secs);
            let mutant_job = MutantJob {
                slot,
                mutant_id: mutant.id.as_str().into(),
                tests: selected.tests.iter().map(|t| RString::from(t.as_str())).collect(),
                deadline_ms,
                startup_ms: overhead_ms,
                cpu_limit_secs: (deadline_ms + overhead_ms).div_ceil(1000) * 2 + 1,
                output_cap_bytes: OUTPUT_CAP,
                fresh_process: selected.fresh,
                call_time_tests: selected.call_time_tests,
            };
            if request.debug {
                ports.events.emit(&Event::Note {
                    message: format!("debug: {}: {}", mutant.id, runner.repro(&mutant_job)),
                });
            }
            let verdict = runner.run_mutant(&mutant_job).into_result();
            slots.lock().unwrap_or_else(|e| e.into_inner()).push(slot);
            if stop.load(Ordering::SeqCst) {
                // Interrupted mid-flight: not a result; it runs again next time.
                return None;
            }
            let result = match verdict {
                Ok(v) => MutantResult {
                    id: mutant.id.clone(),
                    key: keys.get(&mutant.id).cloned().unwrap_or_default(),
                    status: status_of(v.status),
                    duration_ms: v.duration_ms,
                    tests: selected.node_ids.clone(),
                    exit_code: v.exit_code.into_option(),
                    detail: v.detail.into_string(),
                    output: v.output.into_string(),
                },
                Err(e) => MutantResult {
                    id: mutant.id.clone(),
                    key: keys.get(&mutant.id).cloned().unwrap_or_default(),
                    status: Status::Error,
                    duration_ms: 0,
                    tests: selected.node_ids.clone(),
                    exit_code: None,
                    detail: format!("runner error: {e}"),
                    output: String::new(),
                },
            };
            if let Err(e) = store.append(&result) {
                failures.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                stop.store(true, Ordering::SeqCst);
            }
            let finished_count = done.fetch_add(1, Ordering::SeqCst) as u64 + 1;
            ports.events.emit(&Event::MutantFinished {
                id: mutant.id.clone(),
                status: result.status.name().into(),
                duration_ms: result.duration_ms,
            });
            ports.progress.progress(
                finished_count,
                total,
                &format!("{} {}", result.status.name(), mutant.id),
            );
            Some(result)
        });
        finished.store(true, Ordering::SeqCst);
        ports.progress.finish();
        if let Some(e) = failures.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(RunError::Store(e));
        }
        let outcome = outcome.map_err(|e| RunError::setup(e.to_string(), None))?;
        Ok(outcome.into_iter().flatten().flatten().map(|r| (r.id.clone(), r)).collect())
    })
}

/// max(floor, multiplier × baseline): the budget of the tests themselves
/// (a runner that starts a fresh process adds the measured start-up).
fn deadline_ms(baseline_ms: u64, multiplier: f64, floor_secs: f64) -> u64 {
    (baseline_ms as f64 * multiplier).max(floor_secs * 1000.0).ceil() as u64
}

fn status_of(status: MutantStatus) -> Status {
    match status {
        MutantStatus::Killed => Status::Killed,
        MutantStatus::Survived => Status::Survived,
        MutantStatus::Timeout => Status::Timeout,
        MutantStatus::Error => Status::Error,
        MutantStatus::Skipped => Status::Skipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_take_the_floor_the_multiple_and_start_up() {
        assert_eq!(deadline_ms(100, 10.0, 5.0), 5_000);
        assert_eq!(deadline_ms(2_000, 10.0, 5.0), 20_000);
    }
}
