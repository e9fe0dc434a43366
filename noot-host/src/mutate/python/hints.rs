//! Hints the Python side leaves for runners in their scratch folder.
//!
//! `import-check.json` lets a runner that keeps warm processes (the
//! `inprocess` runner) judge an import-time mutant without running the
//! whole suite: for a function the stats run saw called only from the body
//! of a module of the mutated tree while it was imported (the package's
//! own modules, test modules, conftest files), a fresh session under the
//! mutant whose imports and collection build the same state as without it
//! leaves the mutant only its call-time effects, which the tests that call
//! the function judge. A function also called from a pytest hook
//! (`pytest_configure`, `pytest_generate_tests`) or from a module outside
//! the tree is not eligible: what those built is not compared. Runners
//! that do not read the file lose nothing.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use serde::Serialize;

use crate::engine::store::write_atomic;
use crate::mutate::stats::Stats;

/// The file's name in the runner's scratch folder.
pub const IMPORT_CHECK_FILE: &str = "import-check.json";

/// The file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportCheck {
    /// Always 1.
    pub schema_version: u32,
    /// Functions eligible for the check.
    pub functions: Vec<String>,
}

impl ImportCheck {
    /// From the stats run.
    pub fn new(stats: &Stats) -> Self {
        let tree: BTreeSet<&str> = stats.collection_modules.iter().map(String::as_str).collect();
        let functions = stats
            .collection_hits
            .iter()
            .filter(|function| {
                stats.collection_importers.get(*function).is_some_and(|importers| {
                    !importers.is_empty() && importers.iter().all(|m| tree.contains(m.as_str()))
                })
            })
            .cloned()
            .collect();
        Self { schema_version: 1, functions }
    }

    /// Writes it into `scratch_dir`, replacing the last session's.
    pub fn write(&self, scratch_dir: &Path) -> io::Result<()> {
        let text = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        write_atomic(&scratch_dir.join(IMPORT_CHECK_FILE), &text)
    }
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
        let check = ImportCheck::new(&stats);
        assert_eq!(check.functions, ["p.a.f", "p.a.g"]);
    }
}
