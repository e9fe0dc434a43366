//! Result keys: a stored verdict is reused while its key is unchanged.
//! A key covers what the verdict can depend on: the mutated function's own
//! text and mutation, the code of its module and of the project modules it
//! imports (transitively), the test configuration files and the selected
//! tests' ids and files. Keys are deterministic: built from contents and
//! sorted names, never from measured times or orders.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use super::stats::Stats;
use crate::engine::digest::{DepGraph, Digest};
use crate::mutate::catalog::Catalog;
use crate::mutate::selection::Selected;

/// Per mutant id, its key: the mutant's own digest (function text and
/// mutation), the closure digest of its module over the import graph
/// (code only: comments and layout do not count), and the digest of the
/// test configuration and of the selected tests (ids and files, in sorted
/// order: never the measured fastest-first order, which varies from run
/// to run).
pub fn result_keys(
    root: &Path,
    catalog: &Catalog,
    stats: &Stats,
    selection: &HashMap<String, Selected>,
) -> HashMap<String, String> {
    let mut graph = DepGraph::new();
    let known: BTreeSet<&str> = catalog.modules.iter().map(|m| m.source.module.as_str()).collect();
    let mut module_of_file: HashMap<&str, &str> = HashMap::new();
    for module in &catalog.modules {
        graph.add_unit(module.source.module.clone(), module.digest);
        module_of_file.insert(module.source.rel.as_str(), module.source.module.as_str());
    }
    for module in &catalog.modules {
        for import in &module.imports {
            // `import a.b.c` depends on a, a.b and a.b.c (their __init__s run).
            let parts: Vec<&str> = import.split('.').collect();
            for end in 1..=parts.len() {
                let prefix = parts[..end].join(".");
                if known.contains(prefix.as_str()) && prefix != module.source.module {
                    graph.add_dependency(module.source.module.clone(), prefix);
                }
            }
        }
    }
    let closure = graph.closure_digests();

    let mut file_digests: HashMap<String, String> = HashMap::new();
    let mut file_digest = |rel: &str| -> String {
        file_digests
            .entry(rel.to_owned())
            .or_insert_with(|| {
                std::fs::read(root.join(rel))
                    .map(|b| Digest::of(&b).to_string())
                    .unwrap_or_default()
            })
            .clone()
    };
    // Test configuration: conftest files and the ini files pytest reads.
    let mut config_hasher = String::new();
    for rel in walk_config_files(root) {
        config_hasher.push_str(&rel);
        config_hasher.push_str(&file_digest(&rel));
    }
    let mut keys = HashMap::new();
    let test_files: HashMap<&str, &str> =
        stats.tests.iter().map(|(id, t)| (id.as_str(), t.file.as_str())).collect();
    for mutant in &catalog.mutants {
        let module = mutant.file.as_str();
        let module_digest = module_of_file
            .get(module)
            .and_then(|name| closure.get(*name))
            .map(ToString::to_string)
            .unwrap_or_default();
        let mut tests_text = config_hasher.clone();
        if let Some(selected) = selection.get(&mutant.id) {
            let mut node_ids: Vec<&String> = selected.node_ids.iter().collect();
            node_ids.sort();
            for node_id in node_ids {
                tests_text.push_str(node_id);
                if let Some(file) = test_files.get(node_id.as_str()) {
                    tests_text.push_str(&file_digest(file));
                }
            }
        }
        let key =
            Digest::of(format!("{}\0{module_digest}\0{tests_text}", mutant.digest).as_bytes());
        keys.insert(mutant.id.clone(), key.to_string());
    }
    keys
}

fn walk_config_files(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for name in
        ["pytest.ini", ".pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini", "conftest.py"]
    {
        if root.join(name).is_file() {
            found.push(name.to_owned());
        }
    }
    for dir in ["tests", "test", "src"] {
        if root.join(dir).join("conftest.py").is_file() {
            found.push(format!("{dir}/conftest.py"));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutate::catalog::Mutant;
    use std::collections::BTreeMap;

    #[test]
    fn keys_do_not_depend_on_the_order_tests_were_measured_in() {
        let dir = tempfile::tempdir().expect("test setup");
        std::fs::write(dir.path().join("t.py"), "def test_a(): pass\n").expect("test setup");
        let catalog = Catalog {
            mutants: vec![Mutant {
                id: "m.f__noot_1".into(),
                file: "m.py".into(),
                ..Mutant::default()
            }],
            ..Catalog::default()
        };
        let stats = Stats { inputs: String::new(), tests: BTreeMap::new(), ..Stats::default() };
        let key = |ids: &[&str]| {
            let selected = Selected {
                node_ids: ids.iter().map(|i| (*i).to_owned()).collect(),
                ..Selected::default()
            };
            let selection = HashMap::from([("m.f__noot_1".to_owned(), selected)]);
            result_keys(dir.path(), &catalog, &stats, &selection)["m.f__noot_1"].clone()
        };
        assert_eq!(key(&["t.py::a", "t.py::b"]), key(&["t.py::b", "t.py::a"]));
        assert_ne!(key(&["t.py::a", "t.py::b"]), key(&["t.py::a"]));
    }
}
