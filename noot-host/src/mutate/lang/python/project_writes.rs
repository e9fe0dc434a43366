//! Tests should write into their working directory (the mutated tree) or
//! a `tmp_path`. A test that writes into the user's own project instead
//! (through an absolute path, `NOOT_PROJECT_DIR`, a path from its config)
//! changes files noot promises only to read, and may change the next
//! mutant's verdict. noot cannot prevent that without a sandbox, so it
//! notices: the project's files are listed with size and modification time
//! before the first test runs and again at the end of the run, and what
//! differs is reported.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use super::project;

/// The project's files as they were at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot(BTreeMap<String, (u64, Option<SystemTime>)>);

impl Snapshot {
    /// The project's files under `root` (the mutated tree left out).
    pub fn take(root: &Path, mutants_dir: &Path) -> Self {
        Self::of(root, project::files(root, mutants_dir))
    }

    fn of(root: &Path, files: Vec<String>) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_changed_and_removed_files_are_named_and_the_rest_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let mutants = root.join(".noot/mutants");
        std::fs::create_dir_all(&mutants).expect("mkdir");
        for name in ["a.py", "b.py", "c.py"] {
            std::fs::write(root.join(name), "x = 1\n").expect("write");
        }
        let before = Snapshot::take(root, &mutants);
        std::fs::write(root.join("a.py"), "x = 12\n").expect("write");
        std::fs::remove_file(root.join("b.py")).expect("rm");
        std::fs::write(root.join("out.txt"), "written by a test").expect("write");
        std::fs::write(mutants.join("inside.txt"), "the mutated tree is the tests' own")
            .expect("w");
        let after = Snapshot::take(root, &mutants);
        assert_eq!(before.changes(&after), ["changed a.py", "removed b.py", "new out.txt"]);
        assert!(after.changes(&Snapshot::take(root, &mutants)).is_empty());
    }
}
