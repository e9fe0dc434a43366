//! One `noot run`, in any language: open the project's language
//! ([`lang::open`]: analysis and the mutated tree) → its stats run (or
//! reuse) for each mutant's tests and key → [`triage`]: reuse results
//! whose inputs did not change, decide what needs no run → the rest
//! through the runner plugin, longest first, each result persisted as it
//! arrives ([`execute`]) → compact and report.
//!
//! The parent is the only writer of results. Ctrl-C sets the stop flag:
//! nothing new starts, the runner kills its processes, results of mutants
//! that were in flight are dropped (they run again next time), and the
//! results so far are saved.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::catalog::Mutant;
use super::execute::{self, Execution};
use super::filters;
use super::lang::{self, LanguageRun, RunnerUse};
use super::report::{self, RunReport, SessionFile};
use super::results::{MutantResult, ResultStore, ResultsFile};
use super::triage::triage;
use crate::config::Config;
use crate::engine::events::Event;
use crate::engine::ports::Ports;
use crate::engine::store::Store;
use crate::plugins::Registry;

pub use super::request::{CargoOptions, RunError, RunRequest};

/// Where noot keeps mutation state, relative to the project root.
pub const STATE_DIR: &str = ".noot/mutate";

/// Runs a session. `stop` is the Ctrl-C flag.
pub fn run(
    config: &Config,
    registry: &Registry,
    ports: &Ports,
    request: &RunRequest,
    stop: &AtomicBool,
) -> Result<RunReport, RunError> {
    lang::refuse_foreign(config, request)?;
    let started = Instant::now();
    ports.events.emit(&Event::SessionStarted { command: "run".into() });
    let mut language = lang::open(config, registry, ports, request)?;
    let mut report = run_language(
        language.as_mut(),
        &config.root,
        &config.root.join(STATE_DIR),
        ports,
        request,
        stop,
    )?;
    report.summary.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    ports.events.emit(&Event::SessionFinished {
        command: "run".into(),
        elapsed_ms: report.summary.duration_ms,
    });
    Ok(report)
}

/// Everything after the language is open, the same for every language.
fn run_language(
    language: &mut dyn LanguageRun,
    root: &Path,
    state_dir: &Path,
    ports: &Ports,
    request: &RunRequest,
    stop: &AtomicBool,
) -> Result<RunReport, RunError> {
    // Owned: the language is borrowed again for its runner below.
    let mutants: Vec<Mutant> = language.catalog().mutants.clone();
    let skipped_functions = language.catalog().skipped.clone();
    // A filter that matches nothing fails before the stats run.
    let wanted = filters::wanted(&request.filters, &mutants)?;
    let baseline = language.baseline(stop)?;

    let store = ResultStore::new(ports.fs.as_ref(), state_dir);
    let previous = store.load()?;
    let sorted = triage(&wanted, &baseline, &previous, request.force, &|m| {
        language.verdict_without_running(m)
    });
    let reused = sorted.reused_ids();
    let mut results: BTreeMap<String, MutantResult> = sorted.reused;
    for result in sorted.decided {
        store.append(&result)?;
        results.insert(result.id.clone(), result);
    }
    let to_run = sorted.to_run;

    let usage = if !to_run.is_empty() {
        RunnerUse::Run
    } else if request.debug && !reused.is_empty() {
        RunnerUse::Describe
    } else {
        RunnerUse::Idle
    };
    let chosen = language.runner(&baseline, usage, stop)?;
    if request.debug {
        // A reused result still gets its repro: it is what --debug is for.
        for id in &reused {
            if let Some(selected) = baseline.selection.get(id) {
                let job = baseline.limits.job(0, id, selected);
                ports.events.emit(&Event::Note {
                    message: format!("debug: {id} (result reused): {}", chosen.runner.repro(&job)),
                });
            }
        }
    }

    // The session file says what the last run was about.
    let session_file = SessionFile {
        runner: chosen.name.clone(),
        root: root.display().to_string(),
        mutants: mutants.clone(),
        skipped_functions: skipped_functions.clone(),
    };
    Store::new(ports.fs.as_ref()).save(&state_dir.join("session.json"), &session_file)?;

    let execution = Execution {
        runner: chosen.runner,
        ports,
        stop,
        jobs: request.jobs,
        debug: request.debug,
        selection: &baseline.selection,
        keys: &baseline.keys,
        key_after_run: &baseline.key_after_run,
        store: &store,
        limits: baseline.limits,
    };
    let tested = execute::run_mutants(&execution, &to_run)?;
    let (runner_name, runner_reason) = (chosen.name, chosen.reason);
    let tested_count = tested.len();
    results.extend(tested);

    compact(&store, previous, &results, &mutants)?;
    let wanted: Vec<Mutant> = wanted.into_iter().cloned().collect();
    let mut report = report::build(&runner_name, &wanted, &results, &reused, skipped_functions);
    report.summary.tested = tested_count;
    report.summary.interrupted = stop.load(Ordering::SeqCst);
    report.summary.runner_reason = runner_reason;
    let current: BTreeSet<&str> = mutants.iter().map(|m| m.id.as_str()).collect();
    language.finish(&mut report, &current);
    Ok(report)
}

/// Compacts the results journal: the snapshot keeps every current
/// mutant's latest result, from earlier runs or this one.
fn compact(
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
    let catalog = lang::list(config, request, ports)?;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let lines = catalog.modules.iter().map(|m| m.lines).sum();
    let mutants: Vec<Mutant> =
        filters::wanted(&request.filters, &catalog.mutants)?.into_iter().cloned().collect();
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

#[cfg(test)]
mod tests;
