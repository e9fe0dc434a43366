//! Hints the Python side leaves for runners in their scratch folder.
//!
//! `import-check.json` lets a runner that keeps warm processes (the
//! `inprocess` runner) judge an import-time mutant without running the
//! whole suite: for a function that the stats run saw called only while
//! the project's own modules were being imported, a fresh import under the
//! mutant that builds the same state as without it leaves the mutant only
//! its call-time effects, which the tests that call the function judge.
//! A function also called from a test module's body or a pytest hook
//! (`pytest_generate_tests`, a conftest) is not eligible: what those built
//! is not compared. Runners that do not read the file lose nothing.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use serde::Serialize;

use crate::engine::store::write_atomic;
use crate::mutate::catalog::Catalog;
use crate::mutate::stats::Stats;

/// The file's name in the runner's scratch folder.
pub const IMPORT_CHECK_FILE: &str = "import-check.json";

/// The file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportCheck {
    /// Always 1.
    pub schema_version: u32,
    /// The project's mutated modules imported while collecting, in import
    /// order: what the check imports and compares.
    pub modules: Vec<String>,
    /// Functions eligible for the check.
    pub functions: Vec<String>,
}

impl ImportCheck {
    /// From the stats run and the catalog.
    pub fn new(stats: &Stats, catalog: &Catalog) -> Self {
        let ours: BTreeSet<&str> =
            catalog.modules.iter().map(|m| m.source.module.as_str()).collect();
        let modules: Vec<String> = stats
            .collection_modules
            .iter()
            .filter(|m| ours.contains(m.as_str()))
            .cloned()
            .collect();
        let imported: BTreeSet<&str> = modules.iter().map(String::as_str).collect();
        let functions = stats
            .collection_hits
            .iter()
            .filter(|function| {
                stats.collection_importers.get(*function).is_some_and(|importers| {
                    !importers.is_empty() && importers.iter().all(|m| imported.contains(m.as_str()))
                })
            })
            .cloned()
            .collect();
        Self { schema_version: 1, modules, functions }
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
    fn only_functions_called_by_the_projects_own_imports_are_eligible() {
        let stats = Stats {
            collection_hits: vec!["p.a.f".into(), "p.a.g".into(), "p.a.h".into()],
            collection_importers: BTreeMap::from([
                ("p.a.f".to_owned(), vec!["p.a".to_owned()]),
                // Called from a test module's body: what it built is not compared.
                ("p.a.g".to_owned(), vec!["p.a".to_owned(), "tests.test_a".to_owned()]),
                // Called from a pytest hook.
                ("p.a.h".to_owned(), vec![String::new()]),
            ]),
            collection_modules: vec!["p".into(), "tests.test_a".into(), "p.a".into()],
            ..Stats::default()
        };
        let module = |name: &str| crate::mutate::catalog::ModuleEntry {
            source: crate::mutate::project::SourceFile {
                rel: format!("{}.py", name.replace('.', "/")),
                module: name.to_owned(),
                is_package: false,
                import_root: String::new(),
            },
            digest: crate::engine::digest::Digest::of(name.as_bytes()),
            lines: 1,
            imports: Vec::new(),
            mutated: None,
        };
        let catalog = Catalog { modules: vec![module("p"), module("p.a")], ..Catalog::default() };
        let check = ImportCheck::new(&stats, &catalog);
        assert_eq!(check.modules, ["p", "p.a"]);
        assert_eq!(check.functions, ["p.a.f"]);
    }
}
