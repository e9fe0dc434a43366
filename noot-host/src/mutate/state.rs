//! What noot keeps in a project's `.noot/` between runs: the decisions a
//! run made once and later runs follow (Rust's build choice, the
//! dependencies copied from the user's build, Python's runner choice),
//! and each part of the folder with its size. `noot status` shows them
//! and forgets a decision on request, so the next run makes it afresh.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::lang::python::runner_choice;
use super::lang::rust::{optimise, seed};
use super::session::STATE_DIR;
use crate::engine::ports::Fs;

/// Cargo's build of the mutated copy, relative to the project root.
const TARGET_DIR: &str = ".noot/target";

/// The version of [`State`]'s JSON layout.
pub const SCHEMA_VERSION: u32 = 1;

/// A decision a later run follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// Rust: whether the workspace's crates are built optimised.
    Build,
    /// Rust: `.noot/target/` started from the user's dependencies.
    Dependencies,
    /// Python: which runner `auto` picked.
    Runner,
}

impl DecisionKind {
    /// Every kind, in the order `noot status` lists them.
    pub const ALL: [DecisionKind; 3] =
        [DecisionKind::Build, DecisionKind::Dependencies, DecisionKind::Runner];

    /// The kind `--forget NAME` names.
    pub fn from_name(name: &str) -> Option<DecisionKind> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The name `--forget` takes.
    pub fn name(self) -> &'static str {
        match self {
            DecisionKind::Build => "build",
            DecisionKind::Dependencies => "dependencies",
            DecisionKind::Runner => "runner",
        }
    }

    /// What forgetting it removes, relative to the project root: the
    /// dependencies' record goes with the build folder they seeded (its
    /// fingerprints were made with the user's debug-info setting, which
    /// the record tells the build to keep).
    fn removes(self) -> String {
        match self {
            DecisionKind::Build => format!("{STATE_DIR}/{}", optimise::FILE),
            DecisionKind::Dependencies => TARGET_DIR.to_owned(),
            DecisionKind::Runner => format!("{STATE_DIR}/{}", runner_choice::FILE),
        }
    }

    /// The file that records it, relative to the project root.
    fn file(self) -> String {
        match self {
            DecisionKind::Dependencies => format!("{TARGET_DIR}/{}", seed::MARKER),
            other => other.removes(),
        }
    }

    /// What happens on the next run once it is forgotten.
    fn then(self) -> &'static str {
        match self {
            DecisionKind::Build => "the next run builds as `cargo test` does and decides again",
            DecisionKind::Dependencies => {
                "the next run builds from scratch, starting from your build's dependencies again"
            }
            DecisionKind::Runner => "the next run proves again whether warm workers are safe",
        }
    }
}

/// One remembered decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Which.
    pub kind: DecisionKind,
    /// The file that records it, relative to the project root.
    pub file: String,
    /// What it says, in a sentence.
    pub summary: String,
    /// What forgetting it changes.
    pub forgetting: String,
}

/// One part of `.noot/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    /// Relative to the project root.
    pub path: String,
    /// Bytes in its files.
    pub bytes: u64,
    /// What it holds.
    pub holds: String,
}

/// What `.noot/` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct State {
    /// The layout's version.
    pub schema_version: u32,
    /// The project.
    pub root: PathBuf,
    /// The decisions later runs follow.
    pub decisions: Vec<Decision>,
    /// Each part of `.noot/`, largest first.
    pub parts: Vec<Part>,
    /// Stored mutation results (0 without a run).
    pub results: usize,
    /// What `--forget` removed, relative to the project root.
    pub forgotten: Vec<String>,
}

/// What `.noot/` under `root` holds now.
pub fn inventory(fs: &dyn Fs, root: &Path, results: usize) -> State {
    let decisions =
        DecisionKind::ALL.into_iter().filter_map(|kind| decision(fs, root, kind)).collect();
    let mut parts: Vec<Part> = std::fs::read_dir(root.join(".noot"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let holds = holds(&name)?;
            Some(Part { path: format!(".noot/{name}"), bytes: size(&entry.path()), holds })
        })
        .collect();
    parts.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    State {
        schema_version: SCHEMA_VERSION,
        root: root.to_path_buf(),
        decisions,
        parts,
        results,
        forgotten: Vec::new(),
    }
}

/// Removes what records `kind` under `root`; the path removed, if there
/// was anything.
pub fn forget(root: &Path, kind: DecisionKind) -> std::io::Result<Option<String>> {
    let path = root.join(kind.removes());
    let removed =
        if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
    match removed {
        Ok(()) => Ok(Some(kind.removes())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The decision of `kind` recorded under `root`, if any.
fn decision(fs: &dyn Fs, root: &Path, kind: DecisionKind) -> Option<Decision> {
    let state_dir = root.join(STATE_DIR);
    let summary = match kind {
        DecisionKind::Build => {
            let decided = optimise::remembered(&state_dir)?;
            let figures = if decided.optimised_ms > 0 {
                format!(
                    " (the mutants' tests took {} unoptimised, {} optimised)",
                    seconds(decided.unoptimised_ms),
                    seconds(decided.optimised_ms)
                )
            } else {
                String::new()
            };
            match (decided.optimised, decided.optimised_ms) {
                (true, _) => format!("{}{figures}", optimise::describe()),
                (false, 0) => "built as `cargo test` builds (the tests weigh too little against the build to try an optimised one)".to_owned(),
                (false, _) => format!("built as `cargo test` builds: optimising did not halve the tests' time{figures}"),
            }
        }
        DecisionKind::Dependencies => {
            let bytes = std::fs::read(root.join(kind.file())).ok()?;
            let seeded: seed::Seeded = serde_json::from_slice(&bytes).ok()?;
            format!(
                "started from {} ({} MB of dependencies)",
                seeded.from.display(),
                seeded.bytes >> 20
            )
        }
        DecisionKind::Runner => {
            let choice = runner_choice::recorded(fs, &state_dir)?;
            format!("{}: {}", choice.runner, choice.reason)
        }
    };
    Some(Decision { kind, file: kind.file(), summary, forgetting: kind.then().to_owned() })
}

/// What the `.noot/` entry `name` holds; `None` for the run lock.
fn holds(name: &str) -> Option<String> {
    let what = match name {
        "mutate" => "results, stats and the decisions of `noot run`",
        "mutants" => "the mutated copy of the project",
        "target" => "cargo's build of the mutated copy",
        "python" => "noot's Python runtime for the mutated copy",
        "runner" => "the Python runners' scratch files",
        "run.lock" => return None,
        _ => "",
    };
    Some(what.to_owned())
}

/// Bytes in the files under `path` (symbolic links not followed).
fn size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path).into_iter().flatten().flatten().map(|entry| size(&entry.path())).sum()
}

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests;
