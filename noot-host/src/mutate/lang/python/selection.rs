//! Test selection: for each mutant, the tests the stats run saw reaching
//! its function, fastest first (the likeliest to fail soonest under `-x`).
//! A function that also runs while the project is imported gets the whole
//! suite behind its callers, in a fresh import: first the tests that reach
//! other functions of its file (what it built at import, a registry or a
//! decorated function, is most often read there), then the rest, each
//! group fastest first, so that a kill under `-x` comes early.

use std::collections::{BTreeSet, HashMap};

use super::stats::{Stats, TestStats};
use crate::mutate::catalog::Mutant;
use crate::mutate::selection::Selected;

/// Per mutant id: its tests, from the stats run.
pub fn select_tests(mutants: &[Mutant], stats: &Stats) -> HashMap<String, Selected> {
    let mut by_function: HashMap<&str, Vec<(&String, &TestStats)>> = HashMap::new();
    for (node_id, test) in &stats.tests {
        for hit in &test.hits {
            by_function.entry(hit.as_str()).or_default().push((node_id, test));
        }
    }
    let import_time: BTreeSet<&str> = stats.collection_hits.iter().map(String::as_str).collect();
    let checkable = super::hints::import_check_functions(stats);
    let everything: Vec<(&String, &TestStats)> = stats.tests.iter().collect();
    let file_of: HashMap<&str, &str> =
        mutants.iter().map(|m| (m.function.as_str(), m.file.as_str())).collect();
    let mut cache: HashMap<&str, Selected> = HashMap::new();
    let mut selection = HashMap::new();
    for mutant in mutants {
        let function = mutant.function.as_str();
        let selected = cache
            .entry(function)
            .or_insert_with(|| {
                let fastest_first = |a: &(&String, &TestStats), b: &(&String, &TestStats)| {
                    a.1.duration_s.total_cmp(&b.1.duration_s).then(a.0.cmp(b.0))
                };
                let mut tests = by_function.get(function).cloned().unwrap_or_default();
                tests.sort_by(fastest_first);
                let call_time_tests = tests.len();
                // A fresh process runs the whole suite, the tests that call
                // the function first: they are the likeliest to fail, and
                // `-x` then spares the rest.
                let fresh = import_time.contains(function);
                if fresh {
                    let callers: BTreeSet<&String> = tests.iter().map(|(id, _)| *id).collect();
                    let file = file_of.get(function).copied();
                    let elsewhere = |test: &TestStats| {
                        !test.hits.iter().any(|hit| file_of.get(hit.as_str()).copied() == file)
                    };
                    let mut rest: Vec<_> = everything
                        .iter()
                        .filter(|(id, _)| !callers.contains(id))
                        .copied()
                        .collect();
                    rest.sort_by(fastest_first);
                    // Stable: fastest first within each group.
                    rest.sort_by_cached_key(|(_, test)| elsewhere(test));
                    tests.extend(rest);
                }
                let baseline_s: f64 = tests.iter().map(|(_, t)| t.duration_s).sum();
                Selected {
                    tests: tests.iter().map(|(_, t)| t.arg.clone()).collect(),
                    node_ids: tests.iter().map(|(id, _)| (*id).clone()).collect(),
                    baseline_ms: (baseline_s * 1000.0).ceil() as u64,
                    fresh,
                    call_time_tests: u32::try_from(call_time_tests).unwrap_or(u32::MAX),
                    hints: super::hints::for_job(fresh && checkable.contains(function)),
                }
            })
            .clone();
        selection.insert(mutant.id.clone(), selected);
    }
    selection
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn test(arg: &str, duration_s: f64, hits: &[&str]) -> (String, TestStats) {
        (
            arg.to_owned(),
            TestStats {
                arg: arg.to_owned(),
                file: "t.py".into(),
                duration_s,
                hits: hits.iter().map(|h| (*h).to_owned()).collect(),
            },
        )
    }

    fn mutant(id: &str, function: &str) -> Mutant {
        let file = format!("{}.py", function.replace('.', "/"));
        Mutant { id: id.into(), function: function.into(), file, ..Mutant::default() }
    }

    fn in_file(mut mutant: Mutant, file: &str) -> Mutant {
        mutant.file = file.into();
        mutant
    }

    #[test]
    fn callers_come_fastest_first_and_import_time_functions_get_the_rest_behind_them() {
        let stats = Stats {
            inputs: String::new(),
            tests: BTreeMap::from([
                test("t.py::slow", 0.5, &["m.f"]),
                test("t.py::fast", 0.1, &["m.f", "m.g"]),
                test("t.py::other", 0.2, &[]),
            ]),
            collection_hits: vec!["m.g".into()],
            wall_ms: 1000,
            ..Stats::default()
        };
        let selection = select_tests(
            &[
                mutant("m.f__noot_1", "m.f"),
                mutant("m.g__noot_1", "m.g"),
                mutant("m.h__noot_1", "m.h"),
            ],
            &stats,
        );
        let f = &selection["m.f__noot_1"];
        assert_eq!(f.tests, ["t.py::fast", "t.py::slow"]);
        assert_eq!(f.baseline_ms, 600);
        assert!(!f.fresh);
        let g = &selection["m.g__noot_1"];
        assert_eq!(g.tests, ["t.py::fast", "t.py::other", "t.py::slow"]);
        assert!(g.fresh);
        assert_eq!(g.call_time_tests, 1);
        assert!(selection["m.h__noot_1"].tests.is_empty());
    }

    #[test]
    fn behind_an_import_time_functions_callers_come_the_tests_of_its_file() {
        let stats = Stats {
            inputs: String::new(),
            tests: BTreeMap::from([
                test("t.py::calls_it", 0.3, &["m.build"]),
                test("t.py::quick_elsewhere", 0.1, &["n.other"]),
                test("t.py::reads_the_registry", 0.4, &["m.lookup"]),
                test("t.py::nothing", 0.2, &[]),
            ]),
            collection_hits: vec!["m.build".into()],
            wall_ms: 1000,
            ..Stats::default()
        };
        let selection = select_tests(
            &[
                in_file(mutant("m.build__noot_1", "m.build"), "m.py"),
                in_file(mutant("m.lookup__noot_1", "m.lookup"), "m.py"),
                in_file(mutant("n.other__noot_1", "n.other"), "n.py"),
            ],
            &stats,
        );
        let build = &selection["m.build__noot_1"];
        assert_eq!(
            build.tests,
            [
                "t.py::calls_it",
                "t.py::reads_the_registry",
                "t.py::quick_elsewhere",
                "t.py::nothing"
            ]
        );
        assert_eq!(build.call_time_tests, 1);
    }
}
