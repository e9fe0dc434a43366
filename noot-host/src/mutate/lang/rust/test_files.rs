//! Which of a crate's source files are test code. Every `.rs` file under
//! `src/` is read, but a module declared `#[cfg(test)] mod tests;` lives in
//! a file of its own (`tests.rs` or `tests/mod.rs` beside its parent, or
//! its `#[path]`), and a file may start with `#![cfg(test)]`: a plain
//! build and rustdoc never compile those files or the modules below them,
//! so they are neither mutated nor searched for doc examples, as inline
//! `#[cfg(test)]` code is not.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::TestModule;
use super::build::lexical;

/// The test-code files found so far, each with why it is test code.
#[derive(Debug, Default)]
pub struct TestFiles {
    /// File → why.
    files: BTreeMap<String, String>,
    /// Folder (ending in `/`) → why: every file below it is test code.
    trees: BTreeMap<String, String>,
    /// Files whose modules rustc looks for beside them: crate roots and
    /// files loaded through a `#[path]`, as for a `mod.rs`.
    by_path: BTreeSet<String>,
}

impl TestFiles {
    /// `rel` declares `module`, which has a `#[path]`: the file it names
    /// has its modules beside it. Call for every such declaration first.
    pub fn loaded_by_path(&mut self, rel: &str, module: &TestModule) {
        if let Some(path) = &module.path_attribute {
            let file = self.path_file(rel, module, path);
            self.by_path.insert(file);
        }
    }

    /// `rel`'s modules live beside it (a crate root: a `[lib] path` need
    /// not be called `lib.rs`).
    pub fn modules_beside(&mut self, rel: &str) {
        self.by_path.insert(rel.to_owned());
    }

    /// `rel` (a source file) declares `module` as test code.
    pub fn declare(&mut self, rel: &str, module: &TestModule) {
        let name = module.path.last().map_or("", String::as_str);
        let why = format!("test code: `#[cfg(test)] mod {name};` at {rel}:{}", module.line);
        self.mark(rel, module, &why);
    }

    /// `rel` declares `modules`: when `rel` is test code, so are they (and
    /// what they declare: call again until nothing is new). Whether any
    /// was new.
    pub fn declare_below(&mut self, rel: &str, modules: &[TestModule]) -> bool {
        let Some(why) = self.why(rel).map(str::to_owned) else { return false };
        let before = (self.files.len(), self.trees.len());
        for module in modules {
            self.mark(rel, module, &why);
        }
        before != (self.files.len(), self.trees.len())
    }

    /// Marks the file (and the folder) `module`, declared in `rel`, is in.
    fn mark(&mut self, rel: &str, module: &TestModule, why: &str) {
        let name = module.path.last().map_or("", String::as_str);
        let inline = &module.path[..module.path.len().saturating_sub(1)];
        match &module.path_attribute {
            Some(path) => {
                let file = self.path_file(rel, module, path);
                if let Some(dir) = file.strip_suffix("mod.rs") {
                    self.trees.entry(dir.to_owned()).or_insert_with(|| why.to_owned());
                }
                self.files.entry(file).or_insert_with(|| why.to_owned());
            }
            None => {
                let base = joined(&self.modules_folder(rel), inline, name);
                self.files.entry(format!("{base}.rs")).or_insert_with(|| why.to_owned());
                self.trees.entry(format!("{base}/")).or_insert_with(|| why.to_owned());
            }
        }
    }

    /// The file a `#[path]` names. Outside inline modules it is relative
    /// to the declaring file's folder; inside them, to its modules' folder.
    fn path_file(&self, rel: &str, module: &TestModule, path: &str) -> String {
        let inline = &module.path[..module.path.len().saturating_sub(1)];
        let base = if inline.is_empty() { folder(rel) } else { self.modules_folder(rel) };
        joined(&base, inline, path)
    }

    /// Where the modules `rel` declares live ([`module_folder`]), or its
    /// own folder for a file loaded through a `#[path]`.
    fn modules_folder(&self, rel: &str) -> String {
        if self.by_path.contains(rel) { folder(rel) } else { module_folder(rel) }
    }

    /// `rel` starts with `#![cfg(test)]`.
    pub fn whole_file(&mut self, rel: &str) {
        let why = format!("test code: `#![cfg(test)]` at the top of {rel}");
        self.trees.insert(module_folder(rel), why.clone());
        self.files.insert(rel.to_owned(), why);
    }

    /// Why `rel` is test code, when it is.
    pub fn why(&self, rel: &str) -> Option<&str> {
        if let Some(why) = self.files.get(rel) {
            return Some(why);
        }
        self.trees
            .iter()
            .find(|(dir, _)| rel.starts_with(dir.as_str()))
            .map(|(_, why)| why.as_str())
    }
}

/// The folder `rel` is in, with a trailing `/` (`src/` for `src/a.rs`).
pub(super) fn folder(rel: &str) -> String {
    rel.rsplit_once('/').map_or(String::new(), |(dir, _)| format!("{dir}/"))
}

/// Where the modules `rel` declares live: its own folder for a crate root
/// or a `mod.rs` (`src/` for `src/lib.rs`), else a folder named after it
/// (`src/a/` for `src/a.rs`).
fn module_folder(rel: &str) -> String {
    let dir = folder(rel);
    let file = &rel[dir.len()..];
    let stem = file.strip_suffix(".rs").unwrap_or(file);
    let crate_root = matches!(file, "lib.rs" | "main.rs" | "mod.rs") || dir.ends_with("src/bin/");
    if crate_root { dir } else { format!("{dir}{stem}/") }
}

/// `base` + the inline modules + `last`, `..` resolved.
fn joined(base: &str, inline: &[String], last: &str) -> String {
    let mut path = base.to_owned();
    for module in inline {
        path.push_str(module);
        path.push('/');
    }
    path.push_str(last);
    lexical(Path::new(&path)).to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(path: &[&str], attribute: Option<&str>) -> TestModule {
        TestModule {
            path: path.iter().map(|p| (*p).to_owned()).collect(),
            path_attribute: attribute.map(str::to_owned),
            line: 3,
        }
    }

    #[test]
    fn a_test_module_file_and_its_children_are_test_code() {
        let mut found = TestFiles::default();
        found.declare("src/lib.rs", &module(&["tests"], None));
        found.declare("src/a.rs", &module(&["inner", "checks"], None));
        found.declare("src/b/mod.rs", &module(&["t"], Some("../shared/t.rs")));
        found.whole_file("src/only.rs");
        for test_code in [
            "src/tests.rs",
            "src/tests/mod.rs",
            "src/tests/more.rs",
            "src/a/inner/checks.rs",
            "src/shared/t.rs",
            "src/only.rs",
            "src/only/child.rs",
        ] {
            assert!(found.why(test_code).is_some(), "{test_code}");
        }
        for library in
            ["src/lib.rs", "src/a.rs", "src/testsuite.rs", "src/a/inner.rs", "src/b/t.rs"]
        {
            assert_eq!(found.why(library), None, "{library}");
        }
        assert_eq!(
            found.why("src/tests.rs"),
            Some("test code: `#[cfg(test)] mod tests;` at src/lib.rs:3")
        );
    }

    /// A review found the modules of a test module loaded through a
    /// `#[path]` taken for library code: rustc looks for them beside its
    /// file, and they are test code as their parent is.
    #[test]
    fn the_modules_of_a_test_file_loaded_by_path_are_test_code_beside_it() {
        let mut found = TestFiles::default();
        let tests = module(&["tests"], Some("lib_tests.rs"));
        found.loaded_by_path("src/lib.rs", &tests);
        found.declare("src/lib.rs", &tests);
        let helpers = [module(&["helpers"], None)];
        assert!(found.declare_below("src/lib_tests.rs", &helpers));
        assert!(!found.declare_below("src/lib_tests.rs", &helpers), "nothing new");
        assert!(found.why("src/helpers.rs").is_some());
        assert!(found.why("src/helpers/deep.rs").is_some());
        assert_eq!(found.why("src/lib_tests/helpers.rs"), None);
        // A library module loaded by path keeps its own test module beside it.
        let imp = module(&["imp"], Some("sys/unix.rs"));
        found.loaded_by_path("src/lib.rs", &imp);
        found.declare("src/sys/unix.rs", &module(&["tests"], None));
        assert!(found.why("src/sys/tests.rs").is_some());
        assert_eq!(found.why("src/sys/unix.rs"), None);
        assert!(!found.declare_below("src/sys/unix.rs", &helpers), "library code");
    }

    #[test]
    fn a_binarys_modules_live_beside_it() {
        let mut found = TestFiles::default();
        found.declare("src/bin/tool.rs", &module(&["tests"], None));
        assert!(found.why("src/bin/tests.rs").is_some());
    }
}
