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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

/// How many mutants ended how, and the score they make.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Mutants counted.
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
    /// Per status: mutants that do not build, left out of the score.
    pub unviable: usize,
    /// (killed + timeout) / (killed + timeout + survived + no_tests), 0–100;
    /// `null` when nothing counts.
    pub score: Option<f64>,
}

impl Counts {
    /// Counts `statuses`.
    pub fn of(statuses: impl IntoIterator<Item = Status>) -> Self {
        let mut counts = Self::default();
        for status in statuses {
            counts.total += 1;
            *match status {
                Status::Killed => &mut counts.killed,
                Status::Survived => &mut counts.survived,
                Status::NoTests => &mut counts.no_tests,
                Status::Timeout => &mut counts.timeout,
                Status::Error => &mut counts.error,
                Status::Skipped => &mut counts.skipped,
                Status::Unviable => &mut counts.unviable,
            } += 1;
        }
        let detected = counts.killed + counts.timeout;
        let counted = detected + counts.survived + counts.no_tests;
        counts.score = (counted > 0).then(|| (detected as f64) * 100.0 / (counted as f64));
        counts
    }
}

/// Counts and score of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Per status, and the score.
    #[serde(flatten)]
    pub counts: Counts,
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
    /// Files of the project (outside `.noot/`) that changed while the run
    /// ran: `changed PATH`, `new PATH`, `removed PATH`. Tests should write
    /// into their working directory or `tmp_path`; see `project_writes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub project_writes: Vec<String>,
}

/// One source file's counts and score.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileScore {
    /// File, relative to the project root.
    pub file: String,
    /// Per status, and the score of this file's mutants.
    #[serde(flatten)]
    pub counts: Counts,
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

/// Counts and score per file, worst first: lowest score, then most
/// undetected mutants, then by name; files with nothing to score last.
pub fn file_scores(mutants: &[MutantReport]) -> Vec<FileScore> {
    let mut by_file: BTreeMap<&str, Vec<Status>> = BTreeMap::new();
    for mutant in mutants {
        by_file.entry(&mutant.file).or_default().push(mutant.status);
    }
    let mut files: Vec<FileScore> = by_file
        .into_iter()
        .map(|(file, statuses)| FileScore { file: file.to_owned(), counts: Counts::of(statuses) })
        .collect();
    files.sort_by(|a, b| {
        let rank = |f: &FileScore| f.counts.score.unwrap_or(f64::INFINITY);
        let undetected = |f: &FileScore| f.counts.survived + f.counts.no_tests;
        rank(a)
            .total_cmp(&rank(b))
            .then(undetected(b).cmp(&undetected(a)))
            .then(a.file.cmp(&b.file))
    });
    files
}

impl RunReport {
    /// A report of `rows`: their counts and score, per file too.
    pub fn from_rows(runner: &str, rows: Vec<MutantReport>) -> Self {
        let summary = Summary {
            counts: Counts::of(rows.iter().map(|r| r.status)),
            reused: rows.iter().filter(|r| r.reused).count(),
            ..Summary::default()
        };
        Self {
            schema_version: REPORT_SCHEMA_VERSION,
            runner: runner.to_owned(),
            summary,
            files: file_scores(&rows),
            mutants: rows,
            skipped_functions: Vec::new(),
        }
    }
}

/// Joins mutants with their results into a report.
pub fn build(
    runner: &str,
    mutants: &[Mutant],
    results: &BTreeMap<String, MutantResult>,
    reused: &std::collections::BTreeSet<String>,
    skipped_functions: Vec<SkippedFunction>,
) -> RunReport {
    let rows = mutants
        .iter()
        .map(|mutant| {
            let result = results.get(&mutant.id);
            MutantReport {
                id: mutant.id.clone(),
                file: mutant.file.clone(),
                line: mutant.line,
                column: mutant.column,
                function: mutant.function.clone(),
                operator: mutant.operator.clone(),
                original: mutant.original.clone(),
                replacement: mutant.replacement.clone(),
                status: result.map_or(Status::Skipped, |r| r.status),
                duration_ms: result.map_or(0, |r| r.duration_ms),
                tests_run: result.map(|r| r.tests.clone()).unwrap_or_default(),
                whole_suite: result.is_some_and(|r| r.whole_suite),
                detail: result.map_or_else(|| "not run".to_owned(), |r| r.detail.clone()),
                reused: reused.contains(&mutant.id),
            }
        })
        .collect();
    RunReport { skipped_functions, ..RunReport::from_rows(runner, rows) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(file: &str, status: Status) -> MutantReport {
        MutantReport {
            id: format!("{file}__noot"),
            file: file.into(),
            status,
            ..MutantReport::default()
        }
    }

    /// A mutant that does not build says nothing about the tests: it is
    /// counted apart and left out of the score.
    #[test]
    fn unviable_mutants_are_counted_apart_from_the_score() {
        use Status::*;
        let counts = Counts::of([Killed, Unviable, Survived, Unviable]);
        assert_eq!((counts.total, counts.unviable, counts.killed), (4, 2, 1));
        assert_eq!(counts.score, Some(50.0));
        assert_eq!(Counts::of([Unviable]).score, None);
        assert_eq!(Unviable.name(), "unviable");
        assert_eq!("unviable".parse::<Status>().ok(), Some(Unviable));
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
            files.iter().map(|f| (f.file.as_str(), f.counts.score)).collect();
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
        let c = &files[0].counts;
        assert_eq!((c.total, c.timeout, c.no_tests), (3, 1, 1));
    }
}
