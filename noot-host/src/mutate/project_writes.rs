//! Tests should write into their working directory (the mutated copy) or
//! a temporary folder. A test that writes into the user's own project
//! instead (through an absolute path, a variable, a path from its config)
//! changes files noot promises only to read, and may change the next
//! mutant's verdict. noot cannot prevent that without a sandbox, so it
//! notices: the project's files are listed with size and modification time
//! before the first test runs and again at the end of the run, and what
//! differs is reported. Each language says which files are the project's
//! (Python leaves out virtual environments and mutated trees, Rust
//! `target/`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use super::report::RunReport;
use crate::engine::events::Event;
use crate::engine::ports::EventSink;

/// The project's files as they were at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot(BTreeMap<String, (u64, Option<SystemTime>)>);

impl Snapshot {
    /// `files` (relative to `root`) with their sizes and modification times.
    pub fn of(root: &Path, files: Vec<String>) -> Self {
        let entries = files.into_iter().filter_map(|rel| {
            let meta = std::fs::metadata(root.join(&rel)).ok()?;
            Some((rel, (meta.len(), meta.modified().ok())))
        });
        Self(entries.collect())
    }

    /// What differs in `later`: `changed PATH`, `new PATH`, `removed PATH`,
    /// in path order.
    pub fn changes(&self, later: &Snapshot) -> Vec<String> {
        let mut changes = Vec::new();
        for (path, before) in &self.0 {
            match later.0.get(path) {
                Some(after) if after == before => {}
                Some(_) => changes.push(format!("changed {path}")),
                None => changes.push(format!("removed {path}")),
            }
        }
        changes.extend(
            later.0.keys().filter(|p| !self.0.contains_key(*p)).map(|p| format!("new {p}")),
        );
        changes.sort_by(|a, b| a.split_once(' ').map(|x| x.1).cmp(&b.split_once(' ').map(|x| x.1)));
        changes
    }
}

/// Puts what changed between `before` and `after` into the summary and,
/// if anything did, warns.
pub fn report(before: &Snapshot, after: &Snapshot, report: &mut RunReport, events: &dyn EventSink) {
    report.summary.project_writes = before.changes(after);
    if !report.summary.project_writes.is_empty() {
        events.emit(&Event::Warning {
            message: format!(
                "files of your project changed while noot ran ({}): a test that writes into \
                 the project instead of its working directory or a temporary folder (or your \
                 own edits); verdicts after such a write may depend on it",
                report.summary.project_writes.join(", ")
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutate::lang::python::project;

    fn take(root: &Path, mutants: &Path) -> Snapshot {
        Snapshot::of(root, project::files(root, mutants))
    }

    #[test]
    fn new_changed_and_removed_files_are_named_and_the_rest_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let mutants = root.join(".noot/mutants");
        std::fs::create_dir_all(&mutants).expect("mkdir");
        for name in ["a.py", "b.py", "c.py"] {
            std::fs::write(root.join(name), "x = 1\n").expect("write");
        }
        let before = take(root, &mutants);
        std::fs::write(root.join("a.py"), "x = 12\n").expect("write");
        std::fs::remove_file(root.join("b.py")).expect("rm");
        std::fs::write(root.join("out.txt"), "written by a test").expect("write");
        std::fs::write(mutants.join("inside.txt"), "the mutated tree is the tests' own")
            .expect("w");
        let after = take(root, &mutants);
        assert_eq!(before.changes(&after), ["changed a.py", "removed b.py", "new out.txt"]);
        assert!(after.changes(&take(root, &mutants)).is_empty());
    }
}
