//! What a mutation session hands back: the versioned JSON document of
//! `noot run --format json` and `noot results`, and the numbers the human
//! summary prints.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::catalog::{Mutant, SkippedFunction};
use super::results::{MutantResult, Status};
use crate::engine::store::Versioned;

/// The schema version of [`RunReport`].
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// One mutant in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MutantReport {
    /// `module.Qualname__noot_N`.
    pub id: String,
    /// File, relative to the project root.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The function's key.
    pub function: String,
    /// The operator.
    pub operator: String,
    /// The text replaced.
    pub original: String,
    /// Its replacement.
    pub replacement: String,
    /// The outcome.
    pub status: Status,
    /// Wall-clock time of its test run (0 when not run).
    pub duration_ms: u64,
    /// The tests selected for it, fastest first.
    pub tests_run: Vec<String>,
    /// One line about the outcome.
    pub detail: String,
    /// Whether the result came from an earlier session (nothing it depends on changed).
    pub reused: bool,
}

/// Counts and score.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Mutants in the report.
    pub total: usize,
    /// Per status.
    pub killed: usize,
    /// Per status.
    pub survived: usize,
    /// Per status.
    pub no_tests: usize,
    /// Per status.
    pub timeout: usize,
    /// Per status.
    pub error: usize,
    /// Per status.
    pub skipped: usize,
    /// (killed + timeout) / (killed + timeout + survived + no_tests), 0–100;
    /// `null` when nothing counts.
    pub score: Option<f64>,
    /// Results reused from earlier sessions.
    pub reused: usize,
    /// Mutants tested in this session.
    pub tested: usize,
    /// Wall-clock time of the session.
    pub duration_ms: u64,
    /// Ctrl-C stopped the session early.
    pub interrupted: bool,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// [`REPORT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The runner plugin.
    pub runner: String,
    /// Counts and score.
    pub summary: Summary,
    /// Every mutant, by file and position.
    pub mutants: Vec<MutantReport>,
    /// Functions not mutated and why.
    pub skipped_functions: Vec<SkippedFunction>,
}

/// The catalog of the last session, for `noot results`, `show` and `report`
/// (`.noot/mutate/session.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionFile {
    /// The runner used.
    pub runner: String,
    /// The project root.
    pub root: String,
    /// Every mutant.
    pub mutants: Vec<Mutant>,
    /// Functions not mutated.
    pub skipped_functions: Vec<SkippedFunction>,
}

impl Versioned for SessionFile {
    const WHAT: &'static str = "mutation session";
    const SCHEMA_VERSION: u32 = 1;
}

/// The score of a summary's counts.
pub fn score(summary: &Summary) -> Option<f64> {
    let detected = summary.killed + summary.timeout;
    let counted = detected + summary.survived + summary.no_tests;
    (counted > 0).then(|| (detected as f64) * 100.0 / (counted as f64))
}

/// Joins mutants with their results into a report.
pub fn build(
    runner: &str,
    mutants: &[Mutant],
    results: &BTreeMap<String, MutantResult>,
    reused: &std::collections::BTreeSet<String>,
    skipped_functions: Vec<SkippedFunction>,
) -> RunReport {
    let mut summary = Summary::default();
    let mut rows = Vec::with_capacity(mutants.len());
    for mutant in mutants {
        let result = results.get(&mutant.id);
        let status = result.map_or(Status::Skipped, |r| r.status);
        match status {
            Status::Killed => summary.killed += 1,
            Status::Survived => summary.survived += 1,
            Status::NoTests => summary.no_tests += 1,
            Status::Timeout => summary.timeout += 1,
            Status::Error => summary.error += 1,
            Status::Skipped => summary.skipped += 1,
        }
        let was_reused = reused.contains(&mutant.id);
        summary.reused += usize::from(was_reused);
        rows.push(MutantReport {
            id: mutant.id.clone(),
            file: mutant.file.clone(),
            line: mutant.line,
            column: mutant.column,
            function: mutant.function.clone(),
            operator: mutant.operator.clone(),
            original: mutant.original.clone(),
            replacement: mutant.replacement.clone(),
            status,
            duration_ms: result.map_or(0, |r| r.duration_ms),
            tests_run: result.map(|r| r.tests.clone()).unwrap_or_default(),
            detail: result.map_or_else(|| "not run".to_owned(), |r| r.detail.clone()),
            reused: was_reused,
        });
    }
    summary.total = rows.len();
    summary.score = score(&summary);
    RunReport {
        schema_version: REPORT_SCHEMA_VERSION,
        runner: runner.to_owned(),
        summary,
        mutants: rows,
        skipped_functions,
    }
}
