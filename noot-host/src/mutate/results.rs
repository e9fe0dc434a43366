//! The results store: `.noot/mutate/results.json` (a snapshot, written
//! atomically at the end of a session) plus `results.jsonl` (a journal:
//! each result appended and fsynced the moment it arrives). Loading reads
//! the snapshot, then replays the journal, ignoring a torn last line, so
//! `kill -9` loses at most the mutants that were in flight. The parent
//! process is the only writer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::ports::Fs;
use crate::engine::store::{Store, StoreError, Versioned, append_synced};

/// A mutant's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A test failed.
    Killed,
    /// Every selected test passed.
    Survived,
    /// No test reaches it.
    NoTests,
    /// The deadline (or the CPU limit) passed.
    Timeout,
    /// The runner or the harness failed.
    Error,
    /// Not run on purpose.
    Skipped,
}

impl Status {
    /// Every status, in report order.
    pub const ALL: [Status; 6] =
        [Self::Killed, Self::Survived, Self::NoTests, Self::Timeout, Self::Error, Self::Skipped];

    /// The names, in [`Status::ALL`] order.
    pub const NAMES: [&'static str; 6] =
        ["killed", "survived", "no_tests", "timeout", "error", "skipped"];

    /// The name used in JSON and on the command line.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

impl std::str::FromStr for Status {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|s| s.name() == text)
            .ok_or_else(|| format!("unknown status `{text}` (one of {})", Self::NAMES.join(", ")))
    }
}

/// One stored result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MutantResult {
    /// The mutant.
    pub id: String,
    /// Digest of everything the verdict depends on.
    pub key: String,
    /// The outcome.
    pub status: Status,
    /// Wall-clock time of its test run.
    pub duration_ms: u64,
    /// The tests selected for it, fastest first.
    pub tests: Vec<String>,
    /// Exit code of the test process, if it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// One line: the failing test, the error, …
    #[serde(default)]
    pub detail: String,
    /// Captured output (capped), for survived, timeout and error.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
}

/// The snapshot document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResultsFile {
    /// Results by mutant id.
    pub results: BTreeMap<String, MutantResult>,
}

impl Versioned for ResultsFile {
    const WHAT: &'static str = "mutation results";
    const SCHEMA_VERSION: u32 = 1;
}

/// One journal line.
#[derive(Debug, Serialize, Deserialize)]
struct JournalLine {
    schema_version: u32,
    #[serde(flatten)]
    result: MutantResult,
}

/// The store in one folder.
pub struct ResultStore<'a> {
    fs: &'a dyn Fs,
    snapshot: PathBuf,
    journal: PathBuf,
}

impl<'a> ResultStore<'a> {
    /// The store in `dir` (`.noot/mutate`).
    pub fn new(fs: &'a dyn Fs, dir: &Path) -> Self {
        Self { fs, snapshot: dir.join("results.json"), journal: dir.join("results.jsonl") }
    }

    /// Everything stored: the snapshot, then the journal replayed.
    pub fn load(&self) -> Result<ResultsFile, StoreError> {
        let mut file = Store::new(self.fs).load::<ResultsFile>(&self.snapshot)?.unwrap_or_default();
        if let Ok(bytes) = self.fs.read(&self.journal) {
            for line in bytes.split(|b| *b == b'\n') {
                // A torn last line (kill -9 mid-write) does not parse: skip it.
                if let Ok(entry) = serde_json::from_slice::<JournalLine>(line) {
                    if entry.schema_version <= ResultsFile::SCHEMA_VERSION {
                        file.results.insert(entry.result.id.clone(), entry.result);
                    }
                }
            }
        }
        Ok(file)
    }

    /// Appends one result to the journal, durably.
    pub fn append(&self, result: &MutantResult) -> Result<(), StoreError> {
        let line =
            JournalLine { schema_version: ResultsFile::SCHEMA_VERSION, result: result.clone() };
        let mut bytes = serde_json::to_vec(&line).map_err(|e| StoreError::Corrupt {
            path: self.journal.clone(),
            what: ResultsFile::WHAT,
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        append_synced(&self.journal, &bytes)
            .map_err(|source| StoreError::Io { path: self.journal.clone(), source })
    }

    /// Writes the snapshot atomically and empties the journal.
    pub fn compact(&self, file: &ResultsFile) -> Result<(), StoreError> {
        Store::new(self.fs).save(&self.snapshot, file)?;
        match std::fs::remove_file(&self.journal) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io { path: self.journal.clone(), source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ports::RealFs;

    fn result(id: &str, status: Status) -> MutantResult {
        MutantResult {
            id: id.into(),
            key: "k".into(),
            status,
            duration_ms: 1,
            tests: vec![],
            exit_code: None,
            detail: String::new(),
            output: String::new(),
        }
    }

    #[test]
    fn the_journal_survives_a_torn_last_line_and_compaction_keeps_everything() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fs = RealFs;
        let store = ResultStore::new(&fs, dir.path());
        store.append(&result("a", Status::Killed)).expect("append");
        store.append(&result("b", Status::Survived)).expect("append");
        append_synced(
            &dir.path().join("results.jsonl"),
            b"{\"schema_version\":1,\"id\":\"c\",\"ke",
        )
        .expect("torn");
        let loaded = store.load().expect("load");
        assert_eq!(loaded.results.len(), 2);
        store.compact(&loaded).expect("compact");
        assert!(!dir.path().join("results.jsonl").exists());
        let again = store.load().expect("load");
        assert_eq!(again, loaded);
        let text = std::fs::read_to_string(dir.path().join("results.json")).expect("read");
        assert!(text.starts_with("{\n  \"schema_version\": 1"), "{text}");
    }
}
