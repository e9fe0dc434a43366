//! Writes the mutated tree: a copy of the project in `mutants/` where each
//! mutated module is its trampolined text, plus noot's Python support
//! files in `mutants/.noot/python/`. Written once per session; files whose
//! content did not change are not rewritten, files that left the project
//! are removed. The user's own files are only ever read.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use super::support;
use crate::engine::store::write_atomic;
use crate::mutate::catalog::ModuleEntry;

/// Where noot's support modules go inside the mutated tree.
pub const SUPPORT_DIR: &str = ".noot/python";
/// Where runners may write their own files inside the mutated tree.
pub const SCRATCH_DIR: &str = ".noot/runner";

/// What writing did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TreeStats {
    /// Files written (new or changed).
    pub written: usize,
    /// Files left as they were.
    pub unchanged: usize,
    /// Stale files removed.
    pub removed: usize,
    /// Digest of every copied path and its content.
    pub digest: String,
}

/// A failure, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct TreeError {
    /// The file.
    pub path: String,
    /// What went wrong.
    pub source: io::Error,
}

fn fail(path: &Path) -> impl FnOnce(io::Error) -> TreeError + '_ {
    move |source| TreeError { path: path.display().to_string(), source }
}

fn write_if_changed(path: &Path, data: &[u8], stats: &mut TreeStats) -> Result<(), TreeError> {
    if std::fs::read(path).is_ok_and(|old| old == data) {
        stats.unchanged += 1;
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail(parent))?;
    }
    write_atomic(path, data).map_err(fail(path))?;
    forget_bytecode(path);
    stats.written += 1;
    Ok(())
}

/// Drops the cached bytecode of a module noot just rewrote or removed.
///
/// Test processes write bytecode into the tree (it halves a fresh pytest
/// start on a real project), and Python trusts a cache whose recorded
/// source mtime (in whole seconds) and size match: a rewrite of the same
/// size within the same second would otherwise run the old code.
fn forget_bytecode(path: &Path) {
    let (Some(dir), Some(stem)) = (path.parent(), path.file_stem().and_then(|s| s.to_str())) else {
        return;
    };
    if path.extension().is_none_or(|ext| ext != "py") {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir.join("__pycache__")) else { return };
    let prefix = format!("{stem}.");
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".pyc") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Writes `mutants_dir` from `root`: every file in `files`, with mutated
/// modules replaced by their trampolined text.
pub fn write(
    root: &Path,
    mutants_dir: &Path,
    files: &[String],
    modules: &[ModuleEntry],
) -> Result<TreeStats, TreeError> {
    let mut stats = TreeStats::default();
    let mutated: BTreeMap<&str, &str> = modules
        .iter()
        .filter_map(|m| m.mutated.as_deref().map(|text| (m.source.rel.as_str(), text)))
        .collect();
    std::fs::create_dir_all(mutants_dir).map_err(fail(mutants_dir))?;
    let mut expected: BTreeSet<PathBuf> = BTreeSet::new();
    let mut hasher = blake3::Hasher::new();
    for rel in files {
        let target = mutants_dir.join(rel);
        let data = match mutated.get(rel.as_str()) {
            Some(text) => text.as_bytes().to_vec(),
            None => {
                let source = root.join(rel);
                std::fs::read(&source).map_err(fail(&source))?
            }
        };
        hasher.update(rel.as_bytes());
        hasher.update(&(data.len() as u64).to_le_bytes());
        hasher.update(&data);
        write_if_changed(&target, &data, &mut stats)?;
        expected.insert(target);
    }
    let support_dir = mutants_dir.join(SUPPORT_DIR);
    for (name, text) in [
        ("_noot_runtime.py", support::RUNTIME),
        (&format!("{}.py", support::STATS_PLUGIN_MODULE) as &str, support::STATS_PLUGIN),
    ] {
        write_if_changed(&support_dir.join(name), text.as_bytes(), &mut stats)?;
    }
    write_if_changed(
        &mutants_dir.join(".gitignore"),
        b"# Written by noot: a mutated copy of the project.\n*\n",
        &mut stats,
    )?;
    std::fs::create_dir_all(mutants_dir.join(SCRATCH_DIR)).map_err(fail(mutants_dir))?;
    remove_stale(mutants_dir, mutants_dir, &expected, &mut stats)?;
    stats.digest = hasher.finalize().to_hex().to_string();
    Ok(stats)
}

/// Removes files under `dir` that the project no longer has (leaving
/// noot's own folder and bytecode caches alone).
fn remove_stale(
    top: &Path,
    dir: &Path,
    expected: &BTreeSet<PathBuf>,
    stats: &mut TreeStats,
) -> Result<(), TreeError> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let name = entry.file_name();
        if dir == top && (name == ".noot" || name == ".gitignore") {
            continue;
        }
        if name == "__pycache__" {
            continue;
        }
        if path.is_dir() {
            remove_stale(top, &path, expected, stats)?;
            // Empty now? Then the folder left the project too.
            if std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_none()) {
                let _ = std::fs::remove_dir(&path);
            }
        } else if !expected.contains(&path) {
            std::fs::remove_file(&path).map_err(fail(&path))?;
            forget_bytecode(&path);
            stats.removed += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rewritten_module_loses_its_bytecode_and_an_unchanged_one_keeps_it() {
        let dir = tempfile::tempdir().expect("test setup");
        let module = dir.path().join("pkg").join("calc.py");
        let other = dir.path().join("pkg").join("other.py");
        let mut stats = TreeStats::default();
        write_if_changed(&module, b"x = 1\n", &mut stats).expect("test setup");
        write_if_changed(&other, b"y = 1\n", &mut stats).expect("test setup");
        let cache = dir.path().join("pkg").join("__pycache__");
        std::fs::create_dir_all(&cache).expect("test setup");
        for name in
            ["calc.cpython-311.pyc", "calc.cpython-311-pytest-9.2.0.pyc", "other.cpython-311.pyc"]
        {
            std::fs::write(cache.join(name), b"stale").expect("test setup");
        }
        // Same size, same second: only the dropped cache keeps Python honest.
        write_if_changed(&module, b"x = 2\n", &mut stats).expect("test setup");
        write_if_changed(&other, b"y = 1\n", &mut stats).expect("test setup");
        let mut left: Vec<String> = std::fs::read_dir(&cache)
            .expect("test setup")
            .map(|e| e.expect("test setup").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["other.cpython-311.pyc"]);
    }
}
