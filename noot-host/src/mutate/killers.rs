//! Killer first: the mutants of one function are mostly killed by the same
//! test. A job's tests run fastest first and stop at the first failure, so
//! a mutant whose killer is the third test pays for the two before it, in
//! every mutant of the function. Once a test has killed a mutant of a
//! function, the next mutants of that function run it first. Only the
//! order changes, never which tests run: a survivor still runs them all, a
//! killed mutant is killed whichever failing test comes first (the detail
//! may name another test than a run in a different order would).

use std::collections::HashMap;
use std::sync::Mutex;

use noot_plugin_api::MutantJob;

use super::selection::Selected;

/// The last test that killed a mutant of each function.
#[derive(Debug, Default)]
pub struct Killers(Mutex<HashMap<String, String>>);

impl Killers {
    /// Moves the last killer of `function`'s mutants to the front of
    /// `job`'s tests, if the job has it. A job that also runs the whole
    /// suite in a fresh process ([`Selected::fresh`]) keeps its callers
    /// first (they are the tests its warm run runs): a killer among them
    /// moves to their front, one from the rest of the suite (a test that
    /// reads what the import built) to the front of the rest.
    pub fn promote(&self, function: &str, job: &mut MutantJob, selected: &Selected) {
        let killers = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let Some(killer) = killers.get(function) else { return };
        let callers = if selected.fresh {
            usize::try_from(selected.call_time_tests).unwrap_or(usize::MAX).min(job.tests.len())
        } else {
            job.tests.len()
        };
        let Some(at) = job.tests.iter().position(|t| t.as_str() == killer) else { return };
        let front = if at < callers { 0 } else { callers };
        job.tests[front..=at].rotate_right(1);
    }

    /// Remembers which of `job`'s tests a killed verdict's `detail` names.
    pub fn learn(&self, function: &str, job: &MutantJob, detail: &str) {
        let tests: Vec<&str> = job.tests.iter().map(|t| t.as_str()).collect();
        if let Some(test) = named_test(&tests, detail) {
            let mut killers = self.0.lock().unwrap_or_else(|e| e.into_inner());
            killers.insert(function.to_owned(), test.to_owned());
        }
    }
}

/// The test a killed verdict's detail starts with: a Python node id
/// (`tests/test_a.py::test_x - AssertionError…`) or a Rust test's name
/// (`tests::adds failed`, the job's test being `BINARY<TAB>tests::adds`);
/// the longest such name, since one name can begin another.
fn named_test<'a>(tests: &[&'a str], detail: &str) -> Option<&'a str> {
    tests
        .iter()
        .copied()
        .filter(|test| {
            let name = test.rsplit('\t').next().unwrap_or(test);
            detail.strip_prefix(name).is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
        })
        .max_by_key(|test| test.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use noot_plugin_api::abi_stable::std_types::RString;

    fn job(tests: &[&str]) -> MutantJob {
        MutantJob {
            tests: tests.iter().map(|t| RString::from(*t)).collect(),
            ..MutantJob::default()
        }
    }

    fn order(job: &MutantJob) -> Vec<&str> {
        job.tests.iter().map(|t| t.as_str()).collect()
    }

    #[test]
    fn the_test_that_killed_a_mutant_of_a_function_runs_first_for_the_next() {
        let killers = Killers::default();
        let plain = Selected::default();
        let first = job(&["t.py::quick", "t.py::adds", "t.py::adds_more"]);
        killers.learn("m.add", &first, "t.py::adds - AssertionError: assert 5 == 6");
        let mut next = job(&["t.py::quick", "t.py::adds", "t.py::adds_more"]);
        killers.promote("m.add", &mut next, &plain);
        assert_eq!(order(&next), ["t.py::adds", "t.py::quick", "t.py::adds_more"]);
        let mut other = job(&["t.py::quick", "t.py::adds"]);
        killers.promote("m.sub", &mut other, &plain);
        assert_eq!(order(&other), ["t.py::quick", "t.py::adds"], "another function");
    }

    #[test]
    fn rust_names_are_matched_after_the_binary_and_the_longest_wins() {
        let tests = ["/d/lib-1\ttests::add", "/d/lib-1\ttests::adds"];
        assert_eq!(named_test(&tests, "tests::adds failed"), Some("/d/lib-1\ttests::adds"));
        assert_eq!(named_test(&tests, "tests::add failed"), Some("/d/lib-1\ttests::add"));
        assert_eq!(named_test(&tests, "the test binary exited with 3"), None);
    }

    #[test]
    fn a_fresh_jobs_callers_stay_ahead_of_the_rest_of_the_suite() {
        let killers = Killers::default();
        let fresh = Selected { fresh: true, call_time_tests: 2, ..Selected::default() };
        let suite = ["t.py::calls", "t.py::calls_too", "t.py::other", "t.py::reads"];
        killers.learn("m.build", &job(&suite), "t.py::reads - boom");
        let mut next = job(&suite);
        killers.promote("m.build", &mut next, &fresh);
        assert_eq!(
            order(&next),
            ["t.py::calls", "t.py::calls_too", "t.py::reads", "t.py::other"],
            "not a caller: first of the rest"
        );
        killers.learn("m.build", &job(&suite), "t.py::calls_too - boom");
        let mut next = job(&suite);
        killers.promote("m.build", &mut next, &fresh);
        assert_eq!(order(&next), ["t.py::calls_too", "t.py::calls", "t.py::other", "t.py::reads"]);
    }
}
