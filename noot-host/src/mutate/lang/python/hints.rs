//! What the Python side tells runners in each job's hints
//! (`MutantJob::hints_json`).
//!
//! `{"import_check": true}` lets a runner that keeps warm processes (the
//! `inprocess` runner) judge an import-time mutant without running the
//! whole suite: for a function the stats run saw called only from the body
//! of a module of the mutated tree while it was imported (the package's
//! own modules, test modules, conftest files), a fresh session under the
//! mutant whose imports and collection build the same state as without it
//! leaves the mutant only its call-time effects, which the tests that call
//! the function judge. A function also called from a pytest hook
//! (`pytest_configure`, `pytest_generate_tests`) or from a module outside
//! the tree is not eligible: what those built is not compared. Runners
//! that do not read the hint lose nothing.

use std::collections::BTreeSet;

use super::stats::Stats;

/// A Python job's runner hints: `{"import_check": true}` when its
/// mutant's fresh import may be compared, else none.
pub fn for_job(import_check: bool) -> serde_json::Map<String, serde_json::Value> {
    let mut hints = serde_json::Map::new();
    if import_check {
        hints.insert("import_check".into(), true.into());
    }
    hints
}

/// The functions eligible for the import check, from the stats run.
pub fn import_check_functions(stats: &Stats) -> BTreeSet<String> {
    let tree: BTreeSet<&str> = stats.collection_modules.iter().map(String::as_str).collect();
    stats
        .collection_hits
        .iter()
        .filter(|function| {
            stats.collection_importers.get(*function).is_some_and(|importers| {
                !importers.is_empty() && importers.iter().all(|m| tree.contains(m.as_str()))
            })
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn only_functions_called_by_imports_in_the_tree_are_eligible() {
        let stats = Stats {
            collection_hits: vec!["p.a.f".into(), "p.a.g".into(), "p.a.h".into(), "p.a.i".into()],
            collection_importers: BTreeMap::from([
                ("p.a.f".to_owned(), vec!["p.a".to_owned()]),
                ("p.a.g".to_owned(), vec!["p.a".to_owned(), "tests.test_a".to_owned()]),
                // Called from a pytest hook: what it built is not compared.
                ("p.a.h".to_owned(), vec![String::new()]),
                // Called by a module outside the mutated tree.
                ("p.a.i".to_owned(), vec!["plugin_x".to_owned()]),
            ]),
            collection_modules: vec!["p".into(), "tests.test_a".into(), "p.a".into()],
            ..Stats::default()
        };
        let eligible: Vec<String> = import_check_functions(&stats).into_iter().collect();
        assert_eq!(eligible, ["p.a.f", "p.a.g"]);
    }
}
