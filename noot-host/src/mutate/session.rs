//! One `noot run`: discover → analyse → write the mutated tree → stats run
//! (or reuse) → select tests per mutant → reuse results whose inputs did
//! not change → run the rest through the runner plugin, longest first,
//! persisting each result as it arrives → report.
//!
//! The parent is the only writer of results. Ctrl-C sets the stop flag:
//! nothing new starts, the runner kills its processes, results of mutants
//! that were in flight are dropped (they run again next time), and the
//! results so far are saved.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use noot_plugin_api::abi_stable::std_types::{RString, RVec, Tuple2};
use noot_plugin_api::{PluginError, RunnerBox, RunnerSession};

use super::catalog::{self, Catalog, Mutant};
use super::execute::{self, ExecuteError, Execution, Limits};
use super::keys::result_keys;
use super::language::{self, Language};
use super::project::{self, Excludes};
use super::project_writes;
use super::report::{self, RunReport, SessionFile};
use super::results::{MutantResult, ResultStore, ResultsFile, Status};
use super::runner_choice;
use super::selection::select_tests;
use super::stats::{self, Stats, StatsRun};
use super::tree;
use super::watch;
use crate::config::{Config, Location};
use crate::engine::digest::Digest;
use crate::engine::events::Event;
use crate::engine::ports::Ports;
use crate::engine::store::{Store, StoreError};
use crate::plugins::{Registry, RegistryError};

/// Where noot keeps mutation state, relative to the project root.
pub const STATE_DIR: &str = ".noot/mutate";

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
    /// Rust only: which members to mutate and the features to build with.
    pub cargo: CargoOptions,
}

/// `--package`, `--features`, `--all-features`, `--no-default-features`:
/// what a Rust run mutates and builds (a Python project refuses them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CargoOptions {
    /// Mutate only these workspace members (every member's tests still
    /// run against them).
    pub packages: Vec<String>,
    /// Features to build with.
    pub features: Vec<String>,
    /// `--all-features`.
    pub all_features: bool,
    /// `--no-default-features`.
    pub no_default_features: bool,
}

impl CargoOptions {
    /// Whether any was given.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The feature flags as cargo takes them.
    pub fn feature_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if !self.features.is_empty() {
            args.push("--features".to_owned());
            args.push(self.features.join(","));
        }
        if self.all_features {
            args.push("--all-features".to_owned());
        }
        if self.no_default_features {
            args.push("--no-default-features".to_owned());
        }
        args
    }
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
    /// Ctrl-C or SIGTERM before any mutant ran (during the stats run).
    #[error("interrupted during the stats run; nothing was tested yet")]
    Interrupted,
}

impl From<ExecuteError> for RunError {
    fn from(error: ExecuteError) -> Self {
        match error {
            ExecuteError::Store(e) => Self::Store(e),
            ExecuteError::Schedule(message) => Self::setup(message, None),
        }
    }
}

/// Compacts the results journal: the snapshot keeps every current
/// mutant's latest result, from earlier runs or this one.
pub(crate) fn compact(
    store: &ResultStore<'_>,
    previous: ResultsFile,
    results: &BTreeMap<String, MutantResult>,
    mutants: &[Mutant],
) -> Result<(), RunError> {
    let current: BTreeSet<&str> = mutants.iter().map(|m| m.id.as_str()).collect();
    let mut snapshot = ResultsFile::default();
    for (id, result) in previous.results.into_iter().chain(results.clone()) {
        if current.contains(id.as_str()) {
            snapshot.results.insert(id, result);
        }
    }
    Ok(store.compact(&snapshot)?)
}

impl RunError {
    pub(crate) fn setup(message: impl Into<String>, help: Option<&str>) -> Self {
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
    /// This session's hold on the project's `.noot/` folder.
    _lock: crate::engine::store::FileLock,
}

/// `--package` and the feature flags in a Python project: exit 2.
fn refuse_cargo_options(request: &RunRequest) -> Result<(), RunError> {
    if request.cargo.is_empty() {
        return Ok(());
    }
    Err(RunError::Setup {
        location: None,
        message: "--package, --features, --all-features and --no-default-features are for Rust crates, and this is a Python project".into(),
        help: Some("leave them out, or set `[mutate] language = \"rust\"` if this is a crate".into()),
    })
}

/// Runs a session. `stop` is the Ctrl-C flag.
pub fn run(
    config: &Config,
    registry: &Registry,
    ports: &Ports,
    request: &RunRequest,
    stop: &AtomicBool,
) -> Result<RunReport, RunError> {
    if language::detect(&config.root, &config.mutate) == Language::Rust {
        return super::rust::session::run(config, ports, request, stop);
    }
    refuse_cargo_options(request)?;
    let started = Instant::now();
    ports.events.emit(&Event::SessionStarted { command: "run".into() });
    let plan = prepare(config, request, ports)?;
    let settings = &config.mutate;
    let project_before = project_writes::Snapshot::take(&plan.root, &plan.mutants_dir);

    // The runner first: an unknown name should fail before the stats run.
    // `auto` starts warm and may fall back once the stats are known.
    let auto = plan.runner == runner_choice::AUTO;
    let first = if auto { runner_choice::WARM } else { plan.runner.as_str() };
    let mut active = ActiveRunner::new(registry, config, request, ports, &plan, first)?;
    // A runner with long-lived workers starts them while the stats run
    // works; when the stats are reused, it starts only if mutants need it.
    let mut pytest_args = settings.pytest_args.clone();
    pytest_args.extend(plan.test_paths.iter().cloned());
    // Ctrl-C during the stats run stops it at once (its process group and
    // the workers starting beside it), not when the suite is done.
    let stats = watch::until_done(
        stop,
        || ports.procs.kill_all(),
        || stats_for(config, ports, &plan, &pytest_args, request.force, &mut || active.prepare()),
    );
    if stop.load(Ordering::SeqCst) {
        // Workers still starting beside the stats run go too, now, rather
        // than when their start ends.
        active.runner.cancel();
        return Err(RunError::Interrupted);
    }
    let stats = stats?;
    let limits = Limits {
        multiplier: settings.timeout_multiplier,
        cpu_multiplier: settings.timeout_multiplier,
        floor_secs: settings.timeout_floor_secs,
        startup_ms: startup_overhead_ms(&stats),
    };

    // Selection, and the key each result is stored under.
    let selection = select_tests(&plan.catalog.mutants, &stats);
    let keys = result_keys(&plan.root, &plan.catalog, &stats, &selection);

    let store = ResultStore::new(ports.fs.as_ref(), &plan.state_dir);
    let previous = store.load()?;
    let filters = compile_filters(&request.filters)?;
    let wanted: Vec<&Mutant> = plan
        .catalog
        .mutants
        .iter()
        .filter(|m| filters.is_empty() || filters.iter().any(|f| f.is_match(&m.id)))
        .collect();
    if wanted.is_empty() && !request.filters.is_empty() {
        // A gate such as `noot run FILTER --fail-under 90` must not pass
        // on zero mutants because of a typo.
        return Err(no_match(&request.filters, &plan.catalog));
    }

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
                    whole_suite: false,
                    exit_code: None,
                    detail: "no test reaches this function".into(),
                    output: String::new(),
                };
                store.append(&result)?;
                results.insert(mutant.id.clone(), result);
            }
        }
    }

    // `auto`: the decision made against these stats, or a proof when
    // mutants are to run; with nothing to run and nothing decided, the
    // report says `auto`.
    let mut runner_name = active.name.clone();
    let mut runner_reason = String::new();
    if auto {
        let mut decided = if request.force {
            None
        } else {
            runner_choice::remembered(ports.fs.as_ref(), &plan.state_dir, &stats)
        };
        if decided.is_none() && !to_run.is_empty() {
            active.prepare()?;
            ports.progress.progress(0, 1, "auto runner: the suite in forked children");
            let proved = watch::until_done(
                stop,
                || {
                    active.runner.cancel();
                    ports.procs.kill_all();
                },
                || runner_choice::prove(&active.runner, &stats, &limits, stop),
            );
            ports.progress.finish();
            // An interrupted proof decides nothing (and starts no other
            // runner): the run stops before its first mutant.
            if !stop.load(Ordering::SeqCst) {
                runner_choice::remember(ports.fs.as_ref(), &plan.state_dir, &proved);
                decided = Some(proved);
            }
        }
        match decided {
            Some(decided) => {
                if decided.runner != active.name {
                    active = ActiveRunner::new(
                        registry,
                        config,
                        request,
                        ports,
                        &plan,
                        &decided.runner,
                    )?;
                }
                runner_name = decided.runner;
                runner_reason = format!("auto: {}", decided.reason);
            }
            None => runner_name = runner_choice::AUTO.to_owned(),
        }
    }
    if !to_run.is_empty() || (request.debug && !reused.is_empty()) {
        active.prepare()?;
    }
    if request.debug {
        // A reused result still gets its repro: it is what --debug is for.
        for id in &reused {
            if let Some(selected) = selection.get(id) {
                let job = limits.job(0, id, selected);
                ports.events.emit(&Event::Note {
                    message: format!("debug: {id} (result reused): {}", active.runner.repro(&job)),
                });
            }
        }
    }

    // The session file says what the last run was about.
    let session_file = SessionFile {
        runner: runner_name.clone(),
        root: plan.root.display().to_string(),
        mutants: plan.catalog.mutants.clone(),
        skipped_functions: plan.catalog.skipped.clone(),
    };
    Store::new(ports.fs.as_ref()).save(&plan.state_dir.join("session.json"), &session_file)?;

    let execution = Execution {
        runner: &active.runner,
        ports,
        stop,
        jobs: request.jobs,
        debug: request.debug,
        selection: &selection,
        keys: &keys,
        store: &store,
        limits,
    };
    let tested = execute::run_mutants(&execution, &to_run);
    drop(active);
    let tested = tested?;
    let tested_count = tested.len();
    results.extend(tested);

    compact(&store, previous, &results, &plan.catalog.mutants)?;

    let wanted_mutants: Vec<Mutant> = wanted.into_iter().cloned().collect();
    let mut report = report::build(
        &runner_name,
        &wanted_mutants,
        &results,
        &reused,
        plan.catalog.skipped.clone(),
    );
    report.summary.tested = tested_count;
    report.summary.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report.summary.interrupted = stop.load(Ordering::SeqCst);
    report.summary.runner_reason = runner_reason;
    report.summary.interpreter = format!("{} ({})", settings.python, settings.python_origin);
    report.summary.project_writes =
        project_before.changes(&project_writes::Snapshot::take(&plan.root, &plan.mutants_dir));
    if !report.summary.project_writes.is_empty() {
        ports.events.emit(&Event::Warning {
            message: format!(
                "files of your project changed while noot ran ({}): a test that writes into the \
                 project instead of its working directory or tmp_path (or your own edits); \
                 verdicts after such a write may depend on it",
                report.summary.project_writes.join(", ")
            ),
        });
    }
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
    let catalog = match language::detect(&config.root, &config.mutate) {
        Language::Python => {
            refuse_cargo_options(request)?;
            prepare(config, request, ports)?.catalog
        }
        Language::Rust => {
            super::rust::session::refuse_python_keys(config)?;
            super::rust::session::catalog(config, ports, &request.cargo)?.catalog
        }
    };
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let lines = catalog.modules.iter().map(|m| m.lines).sum();
    let filters = compile_filters(&request.filters)?;
    let mutants: Vec<Mutant> = catalog
        .mutants
        .iter()
        .filter(|m| filters.is_empty() || filters.iter().any(|f| f.is_match(&m.id)))
        .cloned()
        .collect();
    if mutants.is_empty() && !request.filters.is_empty() {
        return Err(no_match(&request.filters, &catalog));
    }
    Ok(ListReport {
        schema_version: report::REPORT_SCHEMA_VERSION,
        files: catalog.modules.len(),
        lines,
        elapsed_ms,
        mutants,
        skipped_functions: catalog.skipped,
    })
}

/// One run at a time per project: two would share the mutated tree, the
/// runners' scratch files and the results, and mix their verdicts.
pub(crate) fn lock_project(
    root: &std::path::Path,
) -> Result<crate::engine::store::FileLock, RunError> {
    let path = root.join(".noot").join("run.lock");
    match crate::engine::store::FileLock::try_acquire_for_pid(&path) {
        Ok(Ok(lock)) => Ok(lock),
        Ok(Err(pid)) => Err(RunError::Setup {
            location: None,
            message: format!(
                "another noot run{} is using {}",
                pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
                root.join(".noot").display()
            ),
            help: Some(
                "wait for it to finish, or stop it (Ctrl-C keeps its results); two runs at once would mix their verdicts"
                    .into(),
            ),
        }),
        Err(e) => Err(RunError::setup(
            format!("{}: {e}{}", path.display(), crate::engine::store::io_hint(&e)),
            None,
        )),
    }
}

/// Discovery, analysis and the mutated tree.
fn prepare(config: &Config, request: &RunRequest, ports: &Ports) -> Result<Plan, RunError> {
    let settings = &config.mutate;
    let root = config.root.clone();
    // A mutated tree holds a copy of the project's config: run from inside
    // it, noot would take it for a project and mutate the mutants.
    if project::is_mutated_tree(&root) {
        let project = root
            .ancestors()
            .find(|dir| dir.join(STATE_DIR).is_dir() && !project::is_mutated_tree(dir))
            .map_or_else(
                || "the project it was copied from".to_owned(),
                |p| p.display().to_string(),
            );
        return Err(RunError::setup(
            format!("{} is a mutated copy of a project, made for a mutation run", root.display()),
            Some(&format!("run noot in {project}")),
        ));
    }
    // First, before anything is written: without an interpreter that can
    // import pytest every later step is wasted, and the stats run's
    // failure would not say how to fix it.
    super::python::interpreter::check(
        ports.procs.as_ref(),
        &settings.python,
        &settings.python_origin,
        &root,
    )
    .map_err(|e| RunError::Setup { location: None, help: e.help(), message: e.to_string() })?;
    let mutants_dir = root.join(&settings.mutants_dir);
    let state_dir = root.join(STATE_DIR);
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
    // An older noot wrote its tree to mutants/; mutmut still does.
    for tree in project::foreign_mutated_trees(&root, &mutants_dir) {
        ports.events.emit(&Event::Warning {
            message: format!(
                "{tree}/ holds a mutated copy of the project (an older noot's, or mutmut's): noot leaves it out, but your own pytest may collect it; delete it if nothing uses it"
            ),
        });
    }
    // The tests too are checked before anything is written.
    let test_paths = project::tests_for(&root, &settings.tests, &mutants_dir)
        .map_err(|e| RunError::Setup {
            location: e.location_key().and_then(|key| settings.locations.get(&key).cloned()),
            help: Some(e.help()),
            message: e.to_string(),
        })?
        .paths;
    std::fs::create_dir_all(&state_dir)
        .map_err(|e| RunError::setup(format!("{}: {e}", state_dir.display()), None))?;
    // Held for the whole session: from here on noot writes.
    let lock = lock_project(&root)?;
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
        _lock: lock,
    })
}

/// The runner plugin in use, with the session it is (or will be)
/// prepared with; shut down on every way out of a run, errors included.
struct ActiveRunner {
    runner: RunnerBox,
    name: String,
    session: RunnerSession,
    prepared: bool,
}

impl ActiveRunner {
    fn new(
        registry: &Registry,
        config: &Config,
        request: &RunRequest,
        ports: &Ports,
        plan: &Plan,
        name: &str,
    ) -> Result<Self, RunError> {
        let settings = &config.mutate;
        let options =
            settings.runner_options.get(name).map_or_else(|| "{}".to_owned(), |v| v.to_string());
        let runner = registry.new_runner(name, &options, ports).map_err(|e| match e {
            RegistryError::Unknown { .. } => RunError::Setup {
                location: if request.runner.is_some() {
                    Some(Location::Cli("--runner".into()))
                } else {
                    settings.locations.get("runner").cloned()
                },
                message: format!("unknown runner `{name}`"),
                help: Some(format!(
                    "built-in runners: auto, subprocess, inprocess; see `noot plugins list` for the rest{}",
                    crate::config::error::closest(name, &["auto", "subprocess", "inprocess"])
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
        let session = RunnerSession {
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
            options_json: options.into(),
        };
        Ok(Self { runner, name: name.to_owned(), session, prepared: false })
    }

    /// Hands the runner its session once (for `inprocess`, this starts
    /// the workers).
    fn prepare(&mut self) -> Result<(), RunError> {
        if !self.prepared {
            self.runner.prepare(&self.session).into_result().map_err(|e| {
                RunError::setup(format!("runner `{}` could not start: {e}", self.name), None)
            })?;
            self.prepared = true;
        }
        Ok(())
    }
}

impl Drop for ActiveRunner {
    fn drop(&mut self) {
        let _ = self.runner.shutdown();
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
        catalog: stats::CatalogCounts {
            mutants: plan.catalog.mutants.len(),
            functions: plan
                .catalog
                .mutants
                .iter()
                .map(|m| m.function.as_str())
                .collect::<BTreeSet<_>>()
                .len(),
            modules: plan.catalog.modules.len(),
            skipped_functions: plan.catalog.skipped.len(),
        },
    };
    ports.progress.progress(0, 1, "stats run: the whole suite once");
    let stats = stats::run(ports.procs.as_ref(), &run);
    ports.progress.finish();
    let stats = stats?;
    store.save(&path, &stats)?;
    Ok(stats)
}

/// A filter that matches no mutant, with the ids and functions closest
/// to what was typed.
pub(crate) fn no_match(filters: &[String], catalog: &Catalog) -> RunError {
    let mut names: Vec<&str> = catalog.mutants.iter().map(|m| m.function.as_str()).collect();
    names.dedup();
    names.extend(catalog.mutants.iter().map(|m| m.id.as_str()));
    let mut scored: Vec<(f64, &str)> = names
        .iter()
        .map(|name| {
            let best = filters
                .iter()
                .map(|f| strsim::jaro_winkler(f.trim_end_matches('*'), name))
                .fold(0.0, f64::max);
            (best, *name)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let closest: Vec<&str> = scored.iter().take(3).map(|(_, name)| *name).collect();
    let quoted: Vec<String> = filters.iter().map(|f| format!("`{f}`")).collect();
    RunError::Setup {
        location: Some(Location::Cli("MUTANT".into())),
        message: format!(
            "no mutant matches {} (of {} mutants)",
            quoted.join(" or "),
            catalog.mutants.len()
        ),
        help: Some(if closest.is_empty() {
            "this project has no mutants; see `noot run --list`".to_owned()
        } else {
            format!(
                "the closest: {}; a filter is an id, an id prefix (module or function) or a glob; `noot run --list` lists them all",
                closest.join(", ")
            )
        }),
    }
}

pub(crate) fn compile_filters(filters: &[String]) -> Result<Vec<globset::GlobMatcher>, RunError> {
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

/// Interpreter and pytest start-up, as the stats run measured it.
fn startup_overhead_ms(stats: &Stats) -> u64 {
    let tests_ms: f64 = stats.tests.values().map(|t| t.duration_s * 1000.0).sum();
    let overhead = (stats.wall_ms as f64 - tests_ms).max(500.0);
    overhead.min(30_000.0) as u64
}

/// `-x -q --tb=native -p no:cacheprovider` and the user's pytest
/// arguments (which may set `--tb` again).
///
/// Native tracebacks because pytest's own styles (long and short alike)
/// parse the whole source file of every frame, and a mutated module holds
/// every mutant's copy of its functions: on toolz a collection error under
/// a mutant took 0.72 s to report that way, 0.06 s natively.
fn base_test_args(settings: &crate::config::mutate::MutateSettings) -> Vec<String> {
    let mut args: Vec<String> = ["-x", "-q", "--tb=native", "-p", "no:cacheprovider"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.extend(settings.pytest_args.iter().cloned());
    args
}
