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
    /// The tests selected for it, fastest first (for a function that also
    /// runs at import time: those that call it, and `whole_suite`).
    pub tests_run: Vec<String>,
    /// The whole suite ran behind `tests_run`, in a fresh import.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whole_suite: bool,
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
    /// Why `auto` picked the runner it did (empty when it was named).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub runner_reason: String,
    /// The interpreter the tests ran with, and where it came from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interpreter: String,
}

/// One source file's counts and score.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileScore {
    /// File, relative to the project root.
    pub file: String,
    /// Its mutants.
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
    /// As [`Summary::score`], for this file's mutants.
    pub score: Option<f64>,
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
    /// Counts and score per source file, worst score first (over every
    /// mutant of the run, also when `noot results --status` lists fewer).
    #[serde(default)]
    pub files: Vec<FileScore>,
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

/// Counts and score per file, worst first: lowest score, then most
/// undetected mutants, then by name; files with nothing to score last.
pub fn file_scores(mutants: &[MutantReport]) -> Vec<FileScore> {
    let mut by_file: BTreeMap<&str, Summary> = BTreeMap::new();
    for mutant in mutants {
        let counts = by_file.entry(&mutant.file).or_default();
        counts.total += 1;
        match mutant.status {
            Status::Killed => counts.killed += 1,
            Status::Survived => counts.survived += 1,
            Status::NoTests => counts.no_tests += 1,
            Status::Timeout => counts.timeout += 1,
            Status::Error => counts.error += 1,
            Status::Skipped => counts.skipped += 1,
        }
    }
    let mut files: Vec<FileScore> = by_file
        .into_iter()
        .map(|(file, counts)| FileScore {
            file: file.to_owned(),
            total: counts.total,
            killed: counts.killed,
            survived: counts.survived,
            no_tests: counts.no_tests,
            timeout: counts.timeout,
            error: counts.error,
            skipped: counts.skipped,
            score: score(&counts),
        })
        .collect();
    files.sort_by(|a, b| {
        let rank = |f: &FileScore| f.score.unwrap_or(f64::INFINITY);
        rank(a)
            .total_cmp(&rank(b))
            .then((b.survived + b.no_tests).cmp(&(a.survived + a.no_tests)))
            .then(a.file.cmp(&b.file))
    });
    files
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
            whole_suite: result.is_some_and(|r| r.whole_suite),
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
        files: file_scores(&rows),
        mutants: rows,
        skipped_functions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(file: &str, status: Status) -> MutantReport {
        MutantReport {
            id: format!("{file}__noot"),
            file: file.into(),
            line: 1,
            column: 1,
            function: "f".into(),
            operator: "op".into(),
            original: "a".into(),
            replacement: "b".into(),
            status,
            duration_ms: 0,
            tests_run: Vec::new(),
            whole_suite: false,
            detail: String::new(),
            reused: false,
        }
    }

    #[test]
    fn file_scores_come_worst_first_and_unscored_files_last() {
        use Status::*;
        let rows = [
            row("a.py", Killed),
            row("a.py", Survived),
            row("b.py", Error),
            row("c.py", Timeout),
            row("c.py", NoTests),
            row("c.py", Survived),
            row("d.py", Killed),
            row("d.py", NoTests),
        ];
        let files = file_scores(&rows);
        let order: Vec<(&str, Option<f64>)> =
            files.iter().map(|f| (f.file.as_str(), f.score)).collect();
        // c.py and a.py and d.py score below b.py, which has nothing to score;
        // a.py and d.py tie at 50 %, then by name.
        assert_eq!(
            order,
            [
                ("c.py", Some(100.0 / 3.0)),
                ("a.py", Some(50.0)),
                ("d.py", Some(50.0)),
                ("b.py", None)
            ]
        );
        assert_eq!((files[0].total, files[0].timeout, files[0].no_tests), (3, 1, 1));
    }
}
