//! `runner = "auto"`, the default: warm workers when the suite proves it
//! can run in them, fresh processes otherwise.
//!
//! A warm worker imports the project and collects the suite once, then
//! forks a child per mutant. That is only as safe as fresh processes if
//! the suite passes in such children: a suite that relies on a thread, a
//! connection or a pid set up at import does not. The proof runs the
//! whole suite without a mutant, split in two halves run in two children
//! forked one after the other from the worker (the second shows that the
//! first left the worker fit to fork again); if both pass, mutants run
//! warm, else every mutant gets a fresh process and the summary says why. The decision is kept beside
//! the stats and made again whenever they are.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use noot_plugin_api::abi_stable::std_types::RString;
use noot_plugin_api::{MutantJob, MutantStatus, RunnerBox};
use serde::{Deserialize, Serialize};

use super::stats::Stats;
use crate::engine::ports::Fs;
use crate::engine::store::{Store, Versioned};
use crate::mutate::execute::Limits;

/// The name that asks for the choice.
pub const AUTO: &str = "auto";
/// What `auto` tries first.
pub const WARM: &str = "inprocess";
/// What `auto` falls back to.
pub const FRESH: &str = "subprocess";
/// Where the decision is kept, in the state folder.
pub const FILE: &str = "runner-choice.json";

/// Which runner `auto` picked, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// The stats inputs the proof ran against.
    pub inputs: String,
    /// `inprocess` or `subprocess`.
    pub runner: String,
    /// One sentence for the summary.
    pub reason: String,
}

impl Versioned for Choice {
    const WHAT: &'static str = "runner choice";
    const SCHEMA_VERSION: u32 = 1;
}

/// The last decision, if it was made against these stats.
pub fn remembered(fs: &dyn Fs, state_dir: &Path, stats: &Stats) -> Option<Choice> {
    recorded(fs, state_dir).filter(|choice| choice.inputs == stats.inputs)
}

/// The last decision, whatever stats it was made against.
pub fn recorded(fs: &dyn Fs, state_dir: &Path) -> Option<Choice> {
    Store::new(fs).load(&state_dir.join(FILE)).ok().flatten()
}

/// Keeps a decision for the next run.
pub fn remember(fs: &dyn Fs, state_dir: &Path, choice: &Choice) {
    // Losing it only costs the next run a proof.
    let _ = Store::new(fs).save(&state_dir.join(FILE), choice);
}

/// Runs the proof on a prepared warm runner and says what to use.
pub fn prove(runner: &RunnerBox, stats: &Stats, limits: &Limits, stop: &AtomicBool) -> Choice {
    let mut tests: Vec<(&String, &str)> =
        stats.tests.iter().map(|(id, t)| (id, t.arg.as_str())).collect();
    tests.sort();
    let half = tests.len().div_ceil(2);
    let suite_ms: f64 = stats.tests.values().map(|t| t.duration_s * 1000.0).sum();
    let baseline_ms = suite_ms.ceil() as u64;
    let started = std::time::Instant::now();
    for (part, chunk) in [tests[..half].to_vec(), tests[half..].to_vec()].iter().enumerate() {
        if chunk.is_empty() {
            continue;
        }
        let job = MutantJob {
            slot: 0,
            mutant_id: RString::new(),
            tests: chunk.iter().map(|(_, arg)| RString::from(*arg)).collect(),
            deadline_ms: limits.deadline_ms(baseline_ms),
            startup_ms: limits.startup_ms,
            cpu_limit_ms: limits.generous_cpu_ms(baseline_ms),
            output_cap_bytes: 16 * 1024,
            fresh_process: false,
            call_time_tests: 0,
            hints_json: "{}".into(),
        };
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let failure = match runner.run_mutant(&job).into_result() {
            Ok(verdict) if verdict.status == MutantStatus::Survived => continue,
            Ok(verdict) => verdict.detail.into_string(),
            Err(e) => e.to_string(),
        };
        return Choice {
            inputs: stats.inputs.clone(),
            runner: FRESH.into(),
            reason: format!(
                "the suite does not pass in a child forked from a warm worker (part {} of 2: {failure}), \
                 so every mutant gets a fresh process",
                part + 1
            ),
        };
    }
    Choice {
        inputs: stats.inputs.clone(),
        runner: WARM.into(),
        reason: format!(
            "the whole suite passed in children forked from a warm worker ({} ms), so mutants run warm",
            started.elapsed().as_millis()
        ),
    }
}
