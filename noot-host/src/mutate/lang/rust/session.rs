//! `noot run` in a Rust project ([`RustRun`]): the catalog when it opens;
//! then one build with every viable mutant ([`super::build`]), a stats run
//! that runs each test alone and records the switches it reaches
//! ([`super::stats`]), and each mutant against only those tests through
//! [`super::runner::LibtestRunner`]. Results, reports and supervision are
//! the shared session's.
//!
//! Results are keyed per function ([`super::keys`]): the mutant's
//! function, the bodies its tests and its own runs reach
//! ([`super::reach`]), and everything else of the project (the frame).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use noot_plugin_api::abi_stable::std_types::RVec;
use noot_plugin_api::{MutantStatus, RunnerBox, RunnerSession};

use super::build::{self, BuildError, Built, PlannedFile};
use super::cargo_config::CargoConfig;
use super::catalog::{AnalysedSource, RustCatalog};
use super::crates;
use super::keys::{KeyInputs, KeyMaker};
use super::optimise;
use super::reach;
use super::reach::Reach;
use super::recording_runner::RecordingRunner;
use super::runner::{LibtestRunner, test_arg};
use super::seed;
use super::stats::{self, FAILED, TestRun};
use crate::config::{Config, Location};
use crate::engine::abi_ports::host_ports;
use crate::engine::events::Event;
use crate::engine::ports::Ports;
use crate::engine::store::FileLock;
use crate::mutate::catalog::{Catalog, Mutant};
use crate::mutate::excludes::Excludes;
use crate::mutate::execute::{self, Limits};
use crate::mutate::lang::{
    Baseline, ChosenRunner, KeyAfterRun, LanguageRun, RunnerUse, runner_location,
};
use crate::mutate::project_writes::{self, Snapshot};
use crate::mutate::report::RunReport;
use crate::mutate::request::{CargoOptions, RunError, RunRequest};
use crate::mutate::results::Status;
use crate::mutate::session::{STATE_DIR, lock_project};
use crate::mutate::watch;
use crate::plugins::Registry;

/// × the baseline for a Rust mutant's CPU budget (see where it is used).
const RUST_CPU_MULTIPLIER: f64 = 6.0;

/// The runner's name in reports.
const RUNNER: &str = "libtest";

/// A Rust project's side of a run.
pub struct RustRun<'a> {
    config: &'a Config,
    ports: &'a Ports,
    request: &'a RunRequest,
    catalog: Catalog,
    /// Every analysed file, mutations numbered, in catalog order.
    planned: Vec<PlannedFile>,
    /// Each file's mutated functions: key and body range (for the keys).
    bodies: Vec<Vec<(String, Range<usize>)>>,
    /// Mutant id → switch number (from 1, in catalog order).
    switches: HashMap<String, u32>,
    /// Switch number → the mutant's function.
    function_of: HashMap<u32, String>,
    mutants_dir: PathBuf,
    state_dir: PathBuf,
    /// From [`LanguageRun::baseline`].
    built: Option<Built>,
    /// Test binary path → the folder its tests run in.
    dirs: HashMap<String, String>,
    /// Per test (`BINARY<TAB>TEST`), its time in the stats run, in ms.
    test_ms: HashMap<String, u64>,
    /// What the build and the stats run were, for the summary.
    reason: String,
    /// The built-in runner, made when it is first asked for.
    runner: Option<RunnerBox>,
    /// What each mutant's run reached in this session ([`reach::ThisRun`]).
    this_run: reach::ThisRun,
    /// A runner plugin named by `--runner` or `[mutate] runner`, made when
    /// the run opens (an unknown name fails before the build).
    plugin: Option<PluginRunner>,
    /// The project's files when the run opened, to report what its tests
    /// wrote into it.
    project_before: Snapshot,
    _lock: FileLock,
}

/// A build of the mutated copy and the stats run over its tests.
struct Measured {
    built: Built,
    stats: Stats,
    build_ms: u64,
}

/// A stats run.
struct Stats {
    /// The tests that count, each binary's start-up taken out.
    tests: Vec<TestRun>,
    /// Each test binary's start-up (its quickest test).
    startup_by_binary: HashMap<String, u64>,
    /// Each test's whole time (`TARGET`, `TEST`), start-up included.
    raw_ms: HashMap<(String, String), u64>,
    /// The longest start-up of a binary.
    startup_ms: u64,
    stats_ms: u64,
    /// Stopped once an optimised build was found worth trying: only some
    /// tests ran (failing ones not yet checked).
    cut: bool,
}

/// A runner plugin driving a Rust run, prepared once it is used.
struct PluginRunner {
    runner: RunnerBox,
    name: String,
    /// Its `[mutate.runner_options.NAME]` table, as JSON.
    options: String,
    prepared: bool,
}

impl Drop for PluginRunner {
    fn drop(&mut self) {
        let _ = self.runner.shutdown();
    }
}

/// A runner plugin must pass the tests without any mutant before its
/// verdicts count: one that runs them in the wrong folder, without the
/// variables they read, or not at all, would call every mutant killed.
/// The check runs the largest selection once, with no mutant.
fn check_without_mutant(
    plugin: &PluginRunner,
    baseline: &Baseline,
    location: Option<Location>,
) -> Result<(), RunError> {
    let Some((_, selected)) = baseline
        .selection
        .iter()
        .filter(|(_, s)| !s.tests.is_empty())
        .max_by(|a, b| a.1.tests.len().cmp(&b.1.tests.len()).then(b.0.cmp(a.0)))
    else {
        return Ok(());
    };
    let job = execute::without_mutant(&baseline.limits.job(0, "", selected));
    let verdict = plugin.runner.run_mutant(&job).into_result().map_err(|e| RunError::Setup {
        location: location.clone(),
        message: format!("runner `{}` failed without any mutant: {e}", plugin.name),
        help: None,
    })?;
    if verdict.status == MutantStatus::Survived {
        return Ok(());
    }
    Err(RunError::Setup {
        location,
        message: format!(
            "runner `{}` does not pass the tests without any mutant ({:?}: {}), so its verdicts would mean nothing",
            plugin.name, verdict.status, verdict.detail
        ),
        help: Some(
            "a Rust job's tests are BINARY<TAB>TEST, each run as `BINARY --exact TEST` in the folder of the job's `dirs` hint with CARGO_MANIFEST_DIR set to it; try the built-in runner (leave `runner` out) to compare".into(),
        ),
    })
}

/// Refuses a runner that cannot run a crate's tests: Python's, which
/// start pytest.
pub fn refuse_python_runner(config: &Config, request: &RunRequest) -> Result<(), RunError> {
    let name = request.runner.as_deref().unwrap_or(&config.mutate.runner);
    if !["subprocess", "inprocess"].contains(&name) {
        return Ok(());
    }
    Err(RunError::Setup {
        location: runner_location(config, request),
        message: format!("runner `{name}` runs pytest, and this is a Rust project"),
        help: Some(format!(
            "leave the runner out (Rust runs use `{RUNNER}`), or name a runner plugin that runs Rust test binaries"
        )),
    })
}

/// The runner plugin `--runner` or `[mutate] runner` names, if any (the
/// built-in `libtest` for `auto` and `libtest`), recording what each
/// mutant's run reaches into `reach`.
fn plugin_runner(
    config: &Config,
    registry: &Registry,
    ports: &Ports,
    request: &RunRequest,
    reach: Reach,
) -> Result<Option<PluginRunner>, RunError> {
    let settings = &config.mutate;
    let name = request.runner.clone().unwrap_or_else(|| settings.runner.clone());
    if name == "auto" || name == RUNNER {
        return Ok(None);
    }
    let (runner, options) = crate::mutate::lang::plugin_runner(
        registry,
        config,
        request,
        ports,
        &name,
        &["auto", RUNNER],
    )?;
    let runner = noot_plugin_api::runner_box(RecordingRunner { inner: runner, reach });
    Ok(Some(PluginRunner { runner, name, options, prepared: false }))
}

/// Where and how a run records what each mutant's own run reaches.
fn reach_recording(
    state_dir: &Path,
    mutants_dir: &Path,
    function_of: &HashMap<u32, String>,
    this_run: &reach::ThisRun,
) -> Reach {
    Reach {
        journal: state_dir.join(reach::FILE),
        scratch: mutants_dir.join(".noot/stats"),
        function_of: function_of.clone(),
        this_run: std::sync::Arc::clone(this_run),
    }
}

impl<'a> RustRun<'a> {
    /// Analyses the crates, makes the runner plugin if one is named, and
    /// takes the project's lock (Python's keys and runners were refused
    /// by [`crate::mutate::lang::refuse_foreign`]).
    pub fn open(
        config: &'a Config,
        registry: &'a Registry,
        ports: &'a Ports,
        request: &'a RunRequest,
    ) -> Result<Self, RunError> {
        let RustCatalog { catalog, files } = catalog(config, ports, &request.cargo)?;
        let root = &config.root;
        let state_dir = root.join(STATE_DIR);
        std::fs::create_dir_all(&state_dir)
            .map_err(|e| RunError::setup(format!("{}: {e}", state_dir.display()), None))?;
        let lock = lock_project(root)?;
        let switches: HashMap<String, u32> =
            catalog.mutants.iter().zip(1u32..).map(|(m, n)| (m.id.clone(), n)).collect();
        let function_of: HashMap<u32, String> = catalog
            .mutants
            .iter()
            .filter_map(|m| Some((*switches.get(&m.id)?, m.function.clone())))
            .collect();
        let bodies = files.iter().map(|f| f.bodies.clone()).collect();
        let planned = planned_files(files, &switches);
        let mutants_dir = root.join(&config.mutate.mutants_dir);
        let this_run = reach::ThisRun::default();
        let reach = reach_recording(&state_dir, &mutants_dir, &function_of, &this_run);
        let plugin = plugin_runner(config, registry, ports, request, reach)?;
        let project_before = project_snapshot(root, &mutants_dir);
        Ok(Self {
            config,
            ports,
            request,
            catalog,
            planned,
            bodies,
            switches,
            function_of,
            mutants_dir,
            state_dir,
            built: None,
            dirs: HashMap::new(),
            test_ms: HashMap::new(),
            reason: String::new(),
            runner: None,
            this_run,
            plugin,
            project_before,
            _lock: lock,
        })
    }

    /// Per test binary the folder its tests run in, and each mutant's
    /// tests, from a build and its stats run.
    fn select(&self, measured: &Measured) -> (HashMap<String, String>, stats::Selection) {
        let dirs: HashMap<String, String> = measured
            .built
            .binaries
            .iter()
            .map(|b| {
                let dir = stats::package_dir(b, &self.mutants_dir);
                (b.path.display().to_string(), dir.display().to_string())
            })
            .collect();
        let mutant_of: HashMap<u32, &str> =
            self.switches.iter().map(|(id, n)| (*n, id.as_str())).collect();
        let selection = stats::select(&measured.stats.tests, &mutant_of, &dirs);
        (dirs, selection)
    }

    /// What the mutants' tests take, summed over the mutants: each
    /// selection's tests as the stats run measured them, and its binaries'
    /// start-up (a binary with one test has all its time counted as that).
    /// A mutant its first test kills runs nothing more, so this is what
    /// they take at most.
    fn selected_ms(&self, measured: &Measured) -> u64 {
        self.selected_bounds(measured).1
    }

    /// What the mutants' tests take at least (each mutant's first, quickest
    /// test and its binary's start-up: every mutant killed at once) and at
    /// most ([`Self::selected_ms`]).
    fn selected_bounds(&self, measured: &Measured) -> (u64, u64) {
        let (_, selection) = self.select(measured);
        let startup = |binary: &str| measured.stats.startup_by_binary.get(binary).copied();
        let own: HashMap<String, u64> = measured
            .stats
            .tests
            .iter()
            .map(|t| (test_arg(&t.binary, &t.name), t.duration_ms))
            .collect();
        selection.selected.values().fold((0u64, 0u64), |(least, most), s| {
            let binaries: BTreeSet<&str> =
                s.tests.iter().filter_map(|t| t.split_once('\t')).map(|(b, _)| b).collect();
            let all_startups: u64 = binaries.iter().filter_map(|b| startup(b)).sum();
            let first = s.tests.first().map_or(0, |t| {
                let binary = t.split_once('\t').map_or("", |(b, _)| b);
                own.get(t).copied().unwrap_or(0).saturating_add(startup(binary).unwrap_or(0))
            });
            (least.saturating_add(first), most.saturating_add(s.baseline_ms + all_startups))
        })
    }

    /// Whether an optimised build is worth trying for what `measured`
    /// selects: the midpoint of what the mutants' tests take at least and
    /// at most (the most alone counts every test of a mutant its first
    /// test kills: semver's 23.9 s of it were 4.5 s of mutants' time, and
    /// optimising its crate costs 12 s of build).
    fn optimising_worth_trying(&self, measured: &Measured, last_round_ms: u64) -> bool {
        let (least, most) = self.selected_bounds(measured);
        optimise::worth_trying(least.saturating_add(most) / 2, last_round_ms)
    }

    /// On a project's first run, `.noot/target/` starts from the
    /// dependencies the user's own build left ([`seed`]); what was
    /// copied, if anything. A failure to copy costs only time: a warning.
    fn seed_target(&self, packages: &[String], rustc_version: &str) -> Option<(seed::Seeded, u64)> {
        let (ports, root) = (self.ports, &self.config.root);
        let started = ports.clock.monotonic_ms();
        let target_dir = root.join(".noot/target");
        // Checked here too, before `cargo metadata` runs for nothing.
        if target_dir.join("debug").exists() {
            return None;
        }
        let user_target = seed::user_target_dir(root)?;
        let warn = |message: String| ports.events.emit(&Event::Warning { message });
        let locked = seed::locked_packages(&root.join("Cargo.lock"));
        match seed::seed(&user_target, &target_dir, rustc_version, &locked, packages) {
            Ok(Ok(seeded)) => {
                seeded.map(|s| (s, ports.clock.monotonic_ms().saturating_sub(started)))
            }
            Ok(Err(skipped)) => {
                warn(skipped.to_string());
                None
            }
            Err(e) => {
                warn(format!(
                    "copying the dependencies of {} failed ({e}): noot builds them itself",
                    user_target.display()
                ));
                None
            }
        }
    }

    /// One build with every viable mutant behind its switch (`optimised`
    /// packages at [`optimise`]'s level, `known_unviable` switched off from
    /// the start), then the stats run.
    fn build_and_measure(
        &self,
        stop: &AtomicBool,
        optimised: &[String],
        known_unviable: &BTreeMap<u32, String>,
        cut_when_worth: bool,
        (feature_args, cargo_config): (&[String], &CargoConfig),
    ) -> Result<Measured, RunError> {
        let (ports, root) = (self.ports, &self.config.root);
        // One build with every mutant behind its switch.
        ports.progress.progress(0, 1, "building the mutated crate once");
        let build_started = ports.clock.monotonic_ms();
        let target_dir = root.join(".noot/target");
        // This very program caps the lints, as cargo's rustc wrapper.
        let noot_program = std::env::current_exe().ok();
        // Ctrl-C stops cargo's process group at once.
        let built = watch::until_done(
            stop,
            || ports.procs.kill_all(),
            || {
                build::build(
                    ports.procs.as_ref(),
                    stop,
                    root,
                    &self.mutants_dir,
                    &self.planned,
                    &build::Cargo {
                        target_dir: &target_dir,
                        feature_args,
                        config: cargo_config,
                        cap_lints_by: noot_program.as_deref(),
                        optimised,
                    },
                    known_unviable,
                )
            },
        );
        ports.progress.finish();
        let built = match built {
            Err(BuildError::Interrupted) => return Err(RunError::Interrupted),
            Err(_) if stop.load(Ordering::SeqCst) => return Err(RunError::Interrupted),
            other => other.map_err(|e| RunError::Setup {
                location: None,
                message: e.to_string(),
                help: Some(
                    "`cargo test --no-run` must build the project without noot first".into(),
                ),
            })?,
        };
        let build_ms = ports.clock.monotonic_ms().saturating_sub(build_started);

        // The stats run may stop as soon as its tests show an optimised
        // build is worth trying: what each finished test took, times the
        // mutants it reaches, is a floor of what the mutants' tests take at
        // most, and half of that one of the midpoint the decision weighs.
        let last_round_ms = built.round_ms.last().copied().unwrap_or(0);
        let worth = move |finished: &[TestRun]| {
            let floor: u64 =
                finished.iter().map(|t| t.duration_ms.saturating_mul(t.hits.len() as u64)).sum();
            optimise::worth_trying(floor / 2, last_round_ms)
        };
        let enough: stats::Enough<'_> =
            if cut_when_worth && built.compiled { Some(&worth) } else { None };
        let stats = self.measure(stop, &built, enough)?;
        Ok(Measured { built, stats, build_ms })
    }

    /// The stats run over `built`'s tests: each test alone, the switches
    /// it reaches (cut short once `enough` says so).
    fn measure(
        &self,
        stop: &AtomicBool,
        built: &Built,
        enough: stats::Enough<'_>,
    ) -> Result<Stats, RunError> {
        let ports = self.ports;
        let stats_started = ports.clock.monotonic_ms();
        let exclude_at = self
            .config
            .mutate
            .locations
            .get("exclude_tests")
            .map(|l| format!("{l}: "))
            .unwrap_or_default();
        let excluded: Vec<(String, globset::GlobMatcher)> = self
            .config
            .mutate
            .exclude_tests
            .iter()
            .filter_map(|p| Some((p.clone(), globset::Glob::new(p).ok()?.compile_matcher())))
            .collect();
        // Ctrl-C stops the tests running for the stats at once (each runs
        // in a process group of its own, which the terminal's signal does
        // not reach).
        let (tests, cut) = watch::until_done(
            stop,
            || ports.procs.kill_all(),
            || {
                stats::run(
                    ports,
                    &self.mutants_dir,
                    &built.binaries,
                    (&excluded, &exclude_at),
                    self.request.jobs,
                    stop,
                    enough,
                )
            },
        )?;
        let stats_ms = ports.clock.monotonic_ms().saturating_sub(stats_started);
        if stop.load(Ordering::SeqCst) {
            return Err(RunError::Interrupted);
        }
        // Each test ran in a process of its own: what the quickest test of
        // a binary took is that binary's start-up, not the tests' time.
        let startup_by_binary = stats::startups(&tests);
        let raw_ms =
            tests.iter().map(|t| ((t.target.clone(), t.name.clone()), t.duration_ms)).collect();
        let (tests, startup_ms) = stats::without_startup(tests);
        let tests = if cut { tests } else { self.usable_tests(built, tests)? };
        Ok(Stats { tests, startup_by_binary, raw_ms, startup_ms, stats_ms, cut })
    }

    /// The tests of the stats run that count: failing doc examples are
    /// dropped with a warning (their wrapping is rustdoc's, not their
    /// harness's), any other failing test stops the run.
    fn usable_tests(
        &self,
        built: &Built,
        mut tests: Vec<TestRun>,
    ) -> Result<Vec<TestRun>, RunError> {
        // Examples in a file this build does not compile (on an item
        // behind a feature) are not run by rustdoc either: left out
        // without a word.
        let built_file = |example: &str| {
            built.compiles(example.rsplit_once(':').map_or(example, |(file, _)| file))
        };
        let unbuilt = built.doc_dropped.iter().filter(|(e, _)| !built_file(e)).count();
        let mut dropped: Vec<(String, String)> =
            built.doc_dropped.iter().filter(|(e, _)| built_file(e)).cloned().collect();
        tests.retain(|t| {
            let failed_example = t.target == build::DOC_TARGET && t.hits.contains(&FAILED);
            if failed_example {
                dropped.push((t.name.clone(), "fails as a test without any mutant".into()));
            }
            !failed_example
        });
        if let Some((example, why)) = dropped.first() {
            self.ports.events.emit(&Event::Warning {
                message: format!(
                    "{} of {} doc examples are not used (they do not build or pass as tests of the mutated copy, or noot does not read where they are; a mutant only they catch is reported survived, where `cargo test --doc` would catch it); the first, {example}: {why}",
                    dropped.len(),
                    built.doc_examples + built.doc_dropped.len() - unbuilt,
                ),
            });
        }
        if let Some(test) = tests.iter().find(|t| t.hits.contains(&FAILED)) {
            return Err(RunError::Setup {
                location: None,
                message: format!("{}::{} fails without any mutant", test.target, test.name),
                help: Some(
                    "noot needs a passing test suite: fix or #[ignore] that test, then run again"
                        .into(),
                ),
            });
        }
        Ok(tests)
    }
}

impl LanguageRun for RustRun<'_> {
    fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    fn baseline(&mut self, stop: &AtomicBool) -> Result<Baseline, RunError> {
        let (ports, root) = (self.ports, &self.config.root);
        // Built as `cargo test` builds, or optimised ([`optimise`]): as an
        // earlier run decided, or as this one decides on its first build.
        let packages: Vec<String> = crates::crates(root)
            .map(|all| all.into_iter().map(|c| c.package).collect())
            .unwrap_or_default();
        let choice = self.config.mutate.optimise.as_str();
        let feature_args = self.request.cargo.feature_args();
        let cargo_config =
            CargoConfig::read(&self.mutants_dir, ports.env.vars(), toolchain_version(root));
        let setup = (&feature_args[..], &cargo_config);
        let seeded = self.seed_target(&packages, &cargo_config.rustc_version);
        let project_decides = choice == "never"
            || (choice == "auto"
                && optimise::set_by_project(&root.join("Cargo.toml"), &cargo_config));
        let remembered = optimise::remembered(&self.state_dir);
        let start_optimised = !packages.is_empty()
            && (choice == "always"
                || (!project_decides && remembered.as_ref().is_some_and(|d| d.optimised)));
        let none: &[String] = &[];
        let undecided = choice == "auto"
            && !project_decides
            && remembered.is_none()
            && !start_optimised
            && !packages.is_empty();
        let first = self.build_and_measure(
            stop,
            if start_optimised { &packages } else { none },
            &BTreeMap::new(),
            undecided,
            setup,
        )?;
        let last_round_ms = first.built.round_ms.last().copied().unwrap_or(0);
        let mut chosen = (first, start_optimised);
        let mut decided = None;
        // A round where cargo found everything fresh says nothing of what
        // a build costs: the decision waits for one that compiled.
        let mut cut_short = false;
        if undecided && chosen.0.built.compiled {
            cut_short = chosen.0.stats.cut;
            let worth =
                chosen.0.stats.cut || { self.optimising_worth_trying(&chosen.0, last_round_ms) };
            let first_ms = chosen.0.build_ms.saturating_add(chosen.0.stats.stats_ms);
            let decision = if worth {
                let known = chosen.0.built.unviable.clone();
                match self.build_and_measure(stop, &packages, &known, false, setup) {
                    Ok(second) => {
                        // Compared over the tests both stats runs ran.
                        let (before, after) = common_time(&chosen.0.stats, &second.stats);
                        let keep = optimise::paid(before, after);
                        if keep {
                            let unoptimised_ms = self.selected_ms(&chosen.0);
                            chosen = (second, true);
                            optimise::Decision::new(
                                true,
                                unoptimised_ms,
                                self.selected_ms(&chosen.0),
                            )
                        } else {
                            optimise::Decision::new(false, before, after)
                        }
                    }
                    Err(RunError::Interrupted) => return Err(RunError::Interrupted),
                    Err(e) => {
                        ports.events.emit(&Event::Warning {
                            message: format!(
                                "building the workspace's crates at opt-level 1 failed, so they are built as `cargo test` builds them: {e}"
                            ),
                        });
                        optimise::Decision::new(false, 0, 0)
                    }
                }
            } else {
                optimise::Decision::new(false, self.selected_ms(&chosen.0), 0)
            };
            // The unoptimised build stays: its stats run, if it was cut
            // short, runs again in full.
            if !decision.optimised && chosen.0.stats.cut {
                chosen.0.stats = self.measure(stop, &chosen.0.built, None)?;
            }
            if let Err(e) = optimise::remember(&self.state_dir, &decision) {
                ports.events.emit(&Event::Warning {
                    message: format!("{}: {e}", self.state_dir.join(optimise::FILE).display()),
                });
            }
            decided = Some((decision, first_ms));
        }
        let (measured, optimised) = chosen;
        let (dirs, selection) = self.select(&measured);
        self.dirs = dirs;
        let Measured { built, stats, build_ms } = measured;
        let Stats { tests, startup_ms, stats_ms, .. } = stats;
        self.test_ms =
            tests.iter().map(|t| (test_arg(&t.binary, &t.name), t.duration_ms)).collect();

        // The compiler and its flags decide what the code does too
        // (overflow checks, lints made errors, codegen): a new toolchain,
        // cargo config file or flag variable runs every mutant again.
        let mut settings = feature_args;
        settings.extend(cargo_config.key_lines(root));
        if optimised {
            settings.push(optimise::describe());
        }
        // A verdict is the runner's too: another runner judges afresh.
        if let Some(plugin) = &self.plugin {
            settings.push(format!("runner {}", plugin.name));
        }
        let reached_before = reach::load(&self.state_dir.join(reach::FILE));
        let maker = KeyMaker::new(&KeyInputs {
            mutants: &self.catalog.mutants,
            sources: self.planned.iter().map(|f| f.source.as_str()).collect(),
            paths: self.planned.iter().map(|f| f.rel.as_str()).collect(),
            bodies: &self.bodies,
            switches: &self.switches,
            function_of: &self.function_of,
            unviable: &built.unviable,
            project_files: &built.project_files,
            settings: &settings,
            reached_switches: &selection.reached_switches,
            reached_before: &reached_before,
            selection: &selection.selected,
        });
        let rounds: Vec<String> = built.round_ms.iter().map(|ms| seconds(*ms)).collect();
        self.reason = format!(
            "one build ({}, {} cargo round{}: {}; {} unviable), {} tests run alone for the stats ({})",
            seconds(build_ms),
            built.rounds,
            if built.rounds == 1 { "" } else { "s" },
            rounds.join(" + "),
            built.unviable.len(),
            tests.len(),
            seconds(stats_ms),
        );
        if !built.dev_deps_left_out.is_empty() {
            self.reason.push_str(&format!(
                "; not built: dev-dependencies no test, example or doc names ({})",
                built.dev_deps_left_out.join(", ")
            ));
        }
        if let Some((seeded, copy_ms)) = seeded {
            self.reason.push_str(&format!(
                "; dependencies as your own build left them in {} ({} MB copied into .noot/target/ in {})",
                seeded.from.display(),
                seeded.bytes >> 20,
                seconds(copy_ms)
            ));
        }
        match (&decided, optimised) {
            (Some((decision, first_ms)), true) => self.reason.push_str(&format!(
                "; {} (built again so: the mutants' tests take {}{} unoptimised and {} optimised, against a last build round of {}; the unoptimised build and stats run took {})",
                optimise::describe(),
                if cut_short { "at least " } else { "" },
                seconds(decision.unoptimised_ms),
                seconds(decision.optimised_ms),
                seconds(last_round_ms),
                seconds(*first_ms),
            )),
            (Some((decision, _)), false) if decision.optimised_ms > 0 => {
                self.reason.push_str(&format!(
                    "; built as `cargo test` builds: at opt-level 1 the mutants' tests took {} against {}, not half",
                    seconds(decision.optimised_ms),
                    seconds(decision.unoptimised_ms),
                ));
            }
            (_, true) if choice == "always" => self.reason.push_str(&format!(
                "; {} ([mutate] optimise = \"always\")",
                optimise::describe()
            )),
            (_, true) => self.reason.push_str(&format!(
                "; {} (as an earlier run decided; [mutate] optimise = \"never\" builds as `cargo test` does)",
                optimise::describe()
            )),
            _ => {}
        }
        self.built = Some(built);
        let settings = &self.config.mutate;
        // A compiled test's CPU time hardly varies between runs (no
        // imports, no JIT, no first-call costs): six times the selection's
        // baseline is plenty, where ten times a debug build's whole
        // selection made an infinite loop cost a minute. Not less: a CPU
        // timeout stands only when the mutant ran four times as long as its
        // tests without it, so twice the baseline sent every loop whose
        // tests take over an eighth of a second to a generous re-run (10 s
        // each on semver); six leaves room for the reference run being half
        // as slow again as the stats run.
        let limits = Limits {
            multiplier: settings.timeout_multiplier,
            cpu_multiplier: RUST_CPU_MULTIPLIER,
            floor_secs: settings.timeout_floor_secs,
            startup_ms,
        };
        let keys = maker.keys();
        // A mutant's run may reach more than its tests do without it: its
        // verdict is stored under the key that covers that, which is the
        // key the next run computes from the reach journal.
        let this_run = std::sync::Arc::clone(&self.this_run);
        let key_after_run = KeyAfterRun::new(move |id| {
            let reached = this_run.lock().unwrap_or_else(|e| e.into_inner());
            maker.key(id, reached.get(id)?.iter().map(String::as_str))
        });
        Ok(Baseline { selection: selection.selected, keys, limits, key_after_run })
    }

    fn verdict_without_running(&self, mutant: &Mutant) -> Option<(Status, String)> {
        let built = self.built.as_ref()?;
        let number = self.switches.get(&mutant.id).copied().unwrap_or(0);
        if let Some(why) = built.unviable.get(&number) {
            Some((Status::Unviable, format!("does not build: {why}")))
        } else if !built.compiles(&mutant.file) {
            Some((
                Status::Skipped,
                format!(
                    "not built: no target of this build compiles {} (a cfg, a feature or the platform leaves it out)",
                    mutant.file
                ),
            ))
        } else {
            None
        }
    }

    fn runner(
        &mut self,
        baseline: &Baseline,
        usage: RunnerUse,
        _stop: &AtomicBool,
    ) -> Result<ChosenRunner<'_>, RunError> {
        if let Some(plugin) = &mut self.plugin {
            if usage != RunnerUse::Idle && !plugin.prepared {
                let scratch = self.mutants_dir.join(".noot/runner");
                std::fs::create_dir_all(&scratch)
                    .map_err(|e| RunError::setup(format!("{}: {e}", scratch.display()), None))?;
                // No test command: a Rust job's tests are `BINARY<TAB>TEST`,
                // run as `BINARY --exact TEST` in the folder its `dirs`
                // hint names, with its `env` hint (`NOOT_MUTANT`) set.
                let session = RunnerSession {
                    project_dir: self.config.root.display().to_string().into(),
                    mutants_dir: self.mutants_dir.display().to_string().into(),
                    test_command: RVec::new(),
                    test_args: RVec::new(),
                    suite_args: RVec::new(),
                    env: RVec::new(),
                    slots: u32::try_from(self.request.jobs.max(1)).unwrap_or(1),
                    scratch_dir: scratch.display().to_string().into(),
                    options_json: plugin.options.as_str().into(),
                };
                let location = || runner_location(self.config, self.request);
                plugin.runner.prepare(&session).into_result().map_err(|e| RunError::Setup {
                    location: location(),
                    message: format!("runner `{}` could not start: {e}", plugin.name),
                    help: Some(format!(
                        "check its [mutate.runner_options.{}] table and its documentation",
                        plugin.name
                    )),
                })?;
                plugin.prepared = true;
                if usage == RunnerUse::Run {
                    check_without_mutant(plugin, baseline, location())?;
                }
            }
            let reason = self.reason.clone();
            return Ok(ChosenRunner { runner: &plugin.runner, name: plugin.name.clone(), reason });
        }
        if self.runner.is_none() {
            let recording = reach_recording(
                &self.state_dir,
                &self.mutants_dir,
                &self.function_of,
                &self.this_run,
            );
            self.runner = Some(noot_plugin_api::runner_box(
                LibtestRunner::new(
                    host_ports(self.ports),
                    self.switches.clone(),
                    self.dirs.clone(),
                    Some(recording),
                )
                .with_baselines(self.test_ms.clone()),
            ));
        }
        let runner = self.runner.as_ref().ok_or_else(|| RunError::setup("no runner", None))?;
        Ok(ChosenRunner { runner, name: RUNNER.into(), reason: self.reason.clone() })
    }

    fn finish(&mut self, report: &mut RunReport, current: &BTreeSet<&str>) {
        let after = project_snapshot(&self.config.root, &self.mutants_dir);
        project_writes::report(&self.project_before, &after, report, self.ports.events.as_ref());
        let journal = self.state_dir.join(reach::FILE);
        if let Err(e) = reach::compact(&journal, current) {
            self.ports
                .events
                .emit(&Event::Warning { message: format!("{}: {e}", journal.display()) });
        }
    }
}

/// The project's files as its tests may change them (not cargo's output,
/// noot's state or the mutated copy).
fn project_snapshot(root: &Path, copy: &Path) -> Snapshot {
    Snapshot::of(root, build::project_files(root, copy))
}

/// The mutants of a Rust project, for `noot run --list` (nothing is
/// built or written).
pub fn list(config: &Config, request: &RunRequest, ports: &Ports) -> Result<Catalog, RunError> {
    Ok(catalog(config, ports, &request.cargo)?.catalog)
}

/// `[mutate]` keys that only mean something for Python projects.
/// The `[mutate]` keys only a Python run reads.
pub const PYTHON_ONLY_KEYS: &[&str] = &["python", "pytest_args", "tests", "paths"];

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

/// The whole time (start-up included) of the tests both stats runs ran,
/// in each: what an optimised build is judged by.
fn common_time(before: &Stats, after: &Stats) -> (u64, u64) {
    before
        .raw_ms
        .iter()
        .filter_map(|(test, ms)| Some((*ms, *after.raw_ms.get(test)?)))
        .fold((0, 0), |(b, a), (x, y)| (b + x, a + y))
}

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// Every analysed file with its mutations numbered, each crate root marked
/// (it gets the runtime module even without mutants).
fn planned_files(files: Vec<AnalysedSource>, switches: &HashMap<String, u32>) -> Vec<PlannedFile> {
    files
        .into_iter()
        .map(|file| PlannedFile {
            crate_root: file.crate_root,
            package_dir: file.package_dir,
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
