//! Which mutants run. A stored result is reused while its key is
//! unchanged (never with `--force`, and never an error or a skip: they
//! say nothing about the tests, and a skip may be made afresh for free).
//! A mutant the language judges without running (it does not compile, its
//! file is not built) and a mutant no test reaches get their verdict
//! here; the rest are to run.

use std::collections::{BTreeMap, BTreeSet};

use crate::mutate::catalog::Mutant;
use crate::mutate::lang::Baseline;
use crate::mutate::results::{MutantResult, ResultsFile, Status};

/// Every wanted mutant, sorted by what happens to it.
#[derive(Debug, Default)]
pub struct Triage<'m> {
    /// Results kept from an earlier run, by id.
    pub reused: BTreeMap<String, MutantResult>,
    /// Verdicts reached without running a test, to store.
    pub decided: Vec<MutantResult>,
    /// The mutants to run, in catalog order.
    pub to_run: Vec<&'m Mutant>,
}

impl Triage<'_> {
    /// The ids of the reused results.
    pub fn reused_ids(&self) -> BTreeSet<String> {
        self.reused.keys().cloned().collect()
    }
}

/// Sorts `wanted` against the stored results `previous`.
/// `without_running` is the language's verdict for a mutant that needs no
/// run ([`crate::mutate::lang::LanguageRun::verdict_without_running`]).
pub fn triage<'m>(
    wanted: &[&'m Mutant],
    baseline: &Baseline,
    previous: &ResultsFile,
    force: bool,
    without_running: &dyn Fn(&Mutant) -> Option<(Status, String)>,
) -> Triage<'m> {
    let mut triage = Triage::default();
    for mutant in wanted {
        let key = baseline.keys.get(&mutant.id).cloned().unwrap_or_default();
        if let Some(old) = previous.results.get(&mutant.id) {
            let settled = !matches!(old.status, Status::Error | Status::Skipped);
            if !force && settled && old.key == key {
                triage.reused.insert(mutant.id.clone(), old.clone());
                continue;
            }
        }
        let reached = baseline.selection.get(&mutant.id).is_some_and(|s| !s.tests.is_empty());
        let verdict = without_running(mutant).or_else(|| {
            (!reached).then(|| (Status::NoTests, "no test reaches this function".to_owned()))
        });
        match verdict {
            Some((status, detail)) => triage.decided.push(MutantResult {
                id: mutant.id.clone(),
                key,
                status,
                duration_ms: 0,
                tests: Vec::new(),
                whole_suite: false,
                exit_code: None,
                detail,
                output: String::new(),
            }),
            None => triage.to_run.push(mutant),
        }
    }
    triage
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::mutate::execute::Limits;
    use crate::mutate::selection::Selected;

    fn mutant(id: &str) -> Mutant {
        Mutant { id: id.into(), function: "m.f".into(), ..Mutant::default() }
    }

    fn stored(id: &str, key: &str, status: Status) -> (String, MutantResult) {
        let result = MutantResult {
            id: id.into(),
            key: key.into(),
            status,
            duration_ms: 9,
            tests: vec!["t.py::a".into()],
            whole_suite: false,
            exit_code: Some(1),
            detail: "stored".into(),
            output: String::new(),
        };
        (id.to_owned(), result)
    }

    fn baseline(reached: &[&str], keys: &[(&str, &str)]) -> Baseline {
        let selected = Selected { tests: vec!["t.py::a".into()], ..Selected::default() };
        Baseline {
            selection: reached.iter().map(|id| ((*id).to_owned(), selected.clone())).collect(),
            keys: keys.iter().map(|(id, key)| ((*id).to_owned(), (*key).to_owned())).collect(),
            limits: Limits {
                multiplier: 10.0,
                cpu_multiplier: 10.0,
                floor_secs: 5.0,
                startup_ms: 0,
            },
            key_after_run: crate::mutate::lang::KeyAfterRun::default(),
        }
    }

    fn ids(mutants: &[&Mutant]) -> Vec<String> {
        mutants.iter().map(|m| m.id.clone()).collect()
    }

    #[test]
    fn a_result_is_reused_only_under_the_same_key() {
        let (a, b) = (mutant("a"), mutant("b"));
        let previous = ResultsFile {
            results: [stored("a", "k1", Status::Killed), stored("b", "old", Status::Killed)]
                .into_iter()
                .collect(),
        };
        let base = baseline(&["a", "b"], &[("a", "k1"), ("b", "k2")]);
        let sorted = triage(&[&a, &b], &base, &previous, false, &|_| None);
        assert_eq!(sorted.reused_ids(), BTreeSet::from(["a".to_owned()]));
        assert_eq!(ids(&sorted.to_run), ["b"]);
        let forced = triage(&[&a, &b], &base, &previous, true, &|_| None);
        assert!(forced.reused.is_empty(), "--force reuses nothing");
        assert_eq!(ids(&forced.to_run), ["a", "b"]);
    }

    #[test]
    fn errors_and_skips_are_never_reused() {
        let (a, b) = (mutant("a"), mutant("b"));
        let previous = ResultsFile {
            results: [stored("a", "k", Status::Error), stored("b", "k", Status::Skipped)]
                .into_iter()
                .collect(),
        };
        let base = baseline(&["a", "b"], &[("a", "k"), ("b", "k")]);
        let sorted = triage(&[&a, &b], &base, &previous, false, &|_| None);
        assert!(sorted.reused.is_empty());
        assert_eq!(ids(&sorted.to_run), ["a", "b"]);
    }

    #[test]
    fn the_languages_verdict_comes_before_reach_and_no_tests_is_decided_here() {
        let (unviable, unreached, reached) = (mutant("u"), mutant("n"), mutant("r"));
        let base = baseline(&["u", "r"], &[("u", "ku"), ("n", "kn")]);
        let verdict = |m: &Mutant| {
            (m.id == "u").then(|| (Status::Unviable, "does not build: E0308".to_owned()))
        };
        let sorted = triage(
            &[&unviable, &unreached, &reached],
            &base,
            &ResultsFile::default(),
            false,
            &verdict,
        );
        let decided: HashMap<&str, (&Status, &str, &str)> = sorted
            .decided
            .iter()
            .map(|r| (r.id.as_str(), (&r.status, r.detail.as_str(), r.key.as_str())))
            .collect();
        assert_eq!(decided["u"], (&Status::Unviable, "does not build: E0308", "ku"));
        assert_eq!(decided["n"], (&Status::NoTests, "no test reaches this function", "kn"));
        assert_eq!(ids(&sorted.to_run), ["r"]);
    }
}
