//! The source files of a crate, found as rustc finds them: from the root
//! file of each of its targets ([`Crate::roots`]) down its `mod NAME;`
//! declarations (`#[path]` included; `#[cfg]`-gated ones too, since a file
//! gated out is reported as not built, not left out), each file with its
//! exact module path. Files under `src/` that no declaration reaches (a
//! module declared inside a macro such as `cfg_if!`, which the parser
//! does not expand) are read too, with the module path their place
//! suggests ([`super::crates::sources`]).

use std::collections::{HashSet, VecDeque};
use std::path::Path;

use super::crates::{self, Crate};
use super::test_files::folder;
use super::{AnalysedFile, TestModule};
use crate::mutate::catalog::SourceFile;

/// A file's source and analysis, or why it could not be read.
pub type Analysed = Result<(String, AnalysedFile), String>;

/// One file of a crate.
pub struct Found {
    /// Where it is and its module path.
    pub file: SourceFile,
    /// rustc looks for the modules it declares beside it (a crate root, a
    /// `mod.rs`, a file loaded through a `#[path]`), not in a folder named
    /// after it.
    pub modules_beside: bool,
    /// What `analyse` made of it.
    pub analysed: Analysed,
}

/// Every source file of `krate` under `root`, sorted by path, each
/// analysed once by `analyse`.
pub fn files(root: &Path, krate: &Crate, analyse: impl Fn(&SourceFile) -> Analysed) -> Vec<Found> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut found = Vec::new();
    let mut queue: VecDeque<(SourceFile, bool)> =
        krate.roots.iter().map(|file| (file.clone(), true)).collect();
    while let Some((file, modules_beside)) = queue.pop_front() {
        if !root.join(&file.rel).is_file() || !seen.insert(file.rel.clone()) {
            continue;
        }
        let analysed = analyse(&file);
        if let Ok((_, analysis)) = &analysed {
            for module in analysis.modules.iter().chain(&analysis.test_modules) {
                if let Some(child) = declared(root, &file, modules_beside, module) {
                    queue.push_back(child);
                }
            }
        }
        found.push(Found { file, modules_beside, analysed });
    }
    for file in crates::sources(root, krate) {
        if seen.insert(file.rel.clone()) {
            let analysed = analyse(&file);
            found.push(Found { file, modules_beside: false, analysed });
        }
    }
    found.sort_by(|a, b| a.file.rel.cmp(&b.file.rel));
    found
}

/// The file `module`, declared in `parent`, is in, with its module path
/// and whether its own modules live beside it; `None` when there is no
/// such file inside the project.
fn declared(
    root: &Path,
    parent: &SourceFile,
    parent_beside: bool,
    module: &TestModule,
) -> Option<(SourceFile, bool)> {
    let (name, inline) = module.path.split_last()?;
    let own_folder = folder(&parent.rel);
    let modules_folder = if parent_beside {
        own_folder.clone()
    } else {
        let file = &parent.rel[own_folder.len()..];
        format!("{own_folder}{}/", file.strip_suffix(".rs").unwrap_or(file))
    };
    let inline: String = inline.iter().map(|m| format!("{m}/")).collect();
    let (rel, beside) = match &module.path_attribute {
        // Outside inline modules, relative to the declaring file's folder;
        // inside them, to its modules' folder and theirs.
        Some(path) => {
            let base = if inline.is_empty() { own_folder } else { modules_folder };
            (within_project(&format!("{base}{inline}{path}"))?, true)
        }
        None => {
            let base = within_project(&format!("{modules_folder}{inline}{name}"))?;
            let flat = format!("{base}.rs");
            if root.join(&flat).is_file() {
                (flat, false)
            } else {
                (format!("{base}/mod.rs"), true)
            }
        }
    };
    if !root.join(&rel).is_file() {
        return None;
    }
    let module_path = std::iter::once(parent.module.as_str())
        .chain(module.path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("::");
    Some((SourceFile { rel, module: module_path, root: parent.root.clone() }, beside))
}

/// `path` (relative to the project root) with `.` and `..` resolved, `/`
/// between its parts; `None` when it is absolute or leaves the project:
/// such a file is not noot's to copy or mutate (writing its mutated copy
/// at an absolute path would write over the user's own file).
pub(super) fn within_project(path: &str) -> Option<String> {
    if Path::new(path).is_absolute() || path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests;
