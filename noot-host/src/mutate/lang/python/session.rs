//! `noot run` in a Python project ([`PythonRun`]): discovery, analysis
//! and the mutated tree when it opens; the stats run, a pytest session of
//! the whole suite that records which tests reach which functions (reused
//! while the tree, the interpreter and the pytest arguments are the
//! same); selection and keys from it; and the runner plugin, `auto`
//! choosing between a warm and a fresh one from a proof run.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use noot_plugin_api::abi_stable::std_types::{RString, RVec, Tuple2};
use noot_plugin_api::{RunnerBox, RunnerSession};

use super::keys::result_keys;
use super::project;
use super::runner_choice;
use super::selection::select_tests;
use super::stats::{self, Stats, StatsRun};
use super::tree;
use crate::config::Config;
use crate::engine::digest::Digest;
use crate::engine::events::Event;
use crate::engine::ports::Ports;
use crate::engine::store::Store;
use crate::mutate::catalog::Catalog;
use crate::mutate::excludes::Excludes;
use crate::mutate::execute::Limits;
use crate::mutate::lang::{Baseline, ChosenRunner, KeyAfterRun, LanguageRun, RunnerUse};
use crate::mutate::project_writes;
use crate::mutate::report::RunReport;
use crate::mutate::request::{RunError, RunRequest};
use crate::mutate::session::{STATE_DIR, lock_project};
use crate::mutate::watch;
use crate::plugins::Registry;

/// A Python project's side of a run.
pub struct PythonRun<'a> {
    config: &'a Config,
    registry: &'a Registry,
    ports: &'a Ports,
    request: &'a RunRequest,
    /// The runner: for `auto`, the warm one until the proof decides.
    /// Declared before `plan`, so on every way out of a run (errors and
    /// Ctrl-C included) its workers are shut down before the plan's lock
    /// on the project is let go.
    active: ActiveRunner,
    plan: Plan,
    auto: bool,
    /// The project's files before the run, to name what tests wrote.
    project_before: project_writes::Snapshot,
    /// From [`LanguageRun::baseline`].
    stats: Option<Stats>,
}

impl<'a> PythonRun<'a> {
    /// Checks the interpreter and the layout, analyses the sources and
    /// writes the mutated tree; then the runner, so an unknown name fails
    /// before the stats run.
    pub fn open(
        config: &'a Config,
        registry: &'a Registry,
        ports: &'a Ports,
        request: &'a RunRequest,
    ) -> Result<Self, RunError> {
        let plan = prepare(config, request, ports)?;
        let project_before = project_snapshot(&plan.root, &plan.mutants_dir);
        // `auto` starts warm and may fall back once the stats are known.
        let auto = plan.runner == runner_choice::AUTO;
        let first = if auto { runner_choice::WARM } else { plan.runner.as_str() };
        let active = ActiveRunner::new(registry, config, request, ports, &plan, first)?;
        Ok(Self {
            config,
            registry,
            ports,
            request,
            active,
            plan,
            auto,
            project_before,
            stats: None,
        })
    }
}

impl LanguageRun for PythonRun<'_> {
    fn catalog(&self) -> &Catalog {
        &self.plan.catalog
    }

    fn baseline(&mut self, stop: &AtomicBool) -> Result<Baseline, RunError> {
        let (config, ports, plan) = (self.config, self.ports, &self.plan);
        let force = self.request.force;
        let settings = &config.mutate;
        let mut pytest_args = settings.pytest_args.clone();
        pytest_args.extend(plan.test_paths.iter().cloned());
        // A runner with long-lived workers starts them while the stats run
        // works; when the stats are reused, it starts only if mutants need
        // it. Ctrl-C during the stats run stops it at once (its process
        // group and the workers starting beside it), not when the suite is
        // done.
        let active = &mut self.active;
        let stats = watch::until_done(
            stop,
            || ports.procs.kill_all(),
            || stats_for(config, ports, plan, &pytest_args, force, &mut || active.prepare()),
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
        let selection = select_tests(&plan.catalog.mutants, &stats);
        let keys = result_keys(&plan.root, &plan.catalog, &stats, &selection);
        self.stats = Some(stats);
        Ok(Baseline { selection, keys, limits, key_after_run: KeyAfterRun::default() })
    }

    fn runner(
        &mut self,
        baseline: &Baseline,
        usage: RunnerUse,
        stop: &AtomicBool,
    ) -> Result<ChosenRunner<'_>, RunError> {
        let ports = self.ports;
        let mut name = self.active.name.clone();
        let mut reason = String::new();
        if let (true, Some(stats)) = (self.auto, self.stats.as_ref()) {
            // `auto`: the decision made against these stats, or a proof
            // when mutants are to run; with nothing to run and nothing
            // decided, the report says `auto`.
            let state_dir = &self.plan.state_dir;
            let mut decided = if self.request.force {
                None
            } else {
                runner_choice::remembered(ports.fs.as_ref(), state_dir, stats)
            };
            if decided.is_none() && usage == RunnerUse::Run {
                self.active.prepare()?;
                let active = &self.active;
                ports.progress.progress(0, 1, "auto runner: the suite in forked children");
                let proved = watch::until_done(
                    stop,
                    || {
                        active.runner.cancel();
                        ports.procs.kill_all();
                    },
                    || runner_choice::prove(&active.runner, stats, &baseline.limits, stop),
                );
                ports.progress.finish();
                // An interrupted proof decides nothing (and starts no other
                // runner): the run stops before its first mutant.
                if !stop.load(Ordering::SeqCst) {
                    runner_choice::remember(ports.fs.as_ref(), state_dir, &proved);
                    decided = Some(proved);
                }
            }
            match decided {
                Some(decided) => {
                    if decided.runner != self.active.name {
                        self.active = ActiveRunner::new(
                            self.registry,
                            self.config,
                            self.request,
                            ports,
                            &self.plan,
                            &decided.runner,
                        )?;
                    }
                    name = decided.runner;
                    reason = format!("auto: {}", decided.reason);
                }
                None => {
                    name = runner_choice::AUTO.to_owned();
                    if usage != RunnerUse::Run {
                        reason = "not decided: no mutant had to run (every result was reused or settled without one)".to_owned();
                    }
                }
            }
        }
        if usage != RunnerUse::Idle {
            self.active.prepare()?;
        }
        Ok(ChosenRunner { runner: &self.active.runner, name, reason })
    }

    fn finish(&mut self, report: &mut RunReport, _current: &BTreeSet<&str>) {
        self.active.shutdown();
        let settings = &self.config.mutate;
        report.summary.interpreter = format!("{} ({})", settings.python, settings.python_origin);
        let after = project_snapshot(&self.plan.root, &self.plan.mutants_dir);
        project_writes::report(&self.project_before, &after, report, self.ports.events.as_ref());
    }
}

/// The project's files as the tests may change them: its sources and
/// data, not virtual environments or mutated trees.
fn project_snapshot(
    root: &std::path::Path,
    mutants_dir: &std::path::Path,
) -> project_writes::Snapshot {
    project_writes::Snapshot::of(root, project::files(root, mutants_dir))
}

/// The mutants of a Python project, with the mutated tree written, for
/// `noot run --list`.
pub fn list(config: &Config, request: &RunRequest, ports: &Ports) -> Result<Catalog, RunError> {
    Ok(prepare(config, request, ports)?.catalog)
}

/// Refuses what only a Rust run reads: `[mutate]` keys, cargo's flags
/// and the `libtest` runner.
pub fn refuse_foreign(config: &Config, request: &RunRequest) -> Result<(), RunError> {
    refuse_cargo_options(request)?;
    refuse_rust_keys(config)?;
    if request.runner.as_deref().unwrap_or(&config.mutate.runner) == "libtest" {
        return Err(RunError::Setup {
            location: crate::mutate::lang::runner_location(config, request),
            message: "runner `libtest` runs Rust test binaries, and this is a Python project"
                .into(),
            help: Some("leave the runner out (auto), or use subprocess or inprocess".into()),
        });
    }
    Ok(())
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

/// `[mutate]` keys that only mean something for Rust projects.
const RUST_ONLY_KEYS: &[&str] = &["exclude_tests", "optimise"];

/// Refuses a `[mutate]` key set for Rust in a Python project, at its line.
fn refuse_rust_keys(config: &Config) -> Result<(), RunError> {
    let settings = &config.mutate;
    match settings.locations.iter().find(|(key, _)| RUST_ONLY_KEYS.contains(&key.as_str())) {
        Some((key, location)) => Err(RunError::Setup {
            location: Some(location.clone()),
            message: format!("[mutate] {key} is for Rust projects, and this is a Python project"),
            help: Some(
                "remove it; pytest leaves tests out with pytest_args = [\"-k\", \"not slow\"] or [\"--deselect\", \"NODEID\"]"
                    .into(),
            ),
        }),
        None => Ok(()),
    }
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
    super::interpreter::check(
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
            location: e.location(&settings.locations),
            help: Some(e.help()),
            message: e.to_string(),
        })?
        .paths;
    std::fs::create_dir_all(&state_dir)
        .map_err(|e| RunError::setup(format!("{}: {e}", state_dir.display()), None))?;
    // Held for the whole session: from here on noot writes.
    let lock = lock_project(&root)?;
    let catalog = super::catalog::build(&root, &project.sources, &excludes, request.jobs);
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

/// The runners a Python run offers without plugins.
const BUILT_IN_RUNNERS: &[&str] = &["auto", "subprocess", "inprocess"];

/// The runner plugin in use, with the session it is (or will be)
/// prepared with; shut down on every way out of a run, errors included.
struct ActiveRunner {
    runner: RunnerBox,
    name: String,
    session: RunnerSession,
    prepared: bool,
    shut_down: bool,
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
        let (runner, options) =
            super::super::plugin_runner(registry, config, request, ports, name, BUILT_IN_RUNNERS)?;
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
        Ok(Self { runner, name: name.to_owned(), session, prepared: false, shut_down: false })
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

impl ActiveRunner {
    /// Stops the runner's workers, once.
    fn shutdown(&mut self) {
        if !self.shut_down {
            self.shut_down = true;
            let _ = self.runner.shutdown();
        }
    }
}

impl Drop for ActiveRunner {
    fn drop(&mut self) {
        self.shutdown();
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
