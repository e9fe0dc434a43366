//! The results store: `.noot/mutate/results.json` (a snapshot, written
//! atomically at the end of a session) plus `results.jsonl` (a journal:
//! each result appended the moment it arrives, on a line of its own, and
//! synced to disk at least once a second). Loading reads
//! the snapshot, then replays the journal, ignoring a torn last line, so
//! `kill -9` loses at most the mutants that were in flight. The parent
//! process is the only writer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::ports::Fs;
use crate::engine::store::{Store, StoreError, Versioned, append_record};

/// A mutant's outcome.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
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
    #[default]
    Skipped,
    /// Cannot be built or loaded (a compile error): says nothing about
    /// the tests, left out of the score.
    Unviable,
}

impl Status {
    /// Every status, in report order.
    pub const ALL: [Status; 7] = [
        Self::Killed,
        Self::Survived,
        Self::NoTests,
        Self::Timeout,
        Self::Error,
        Self::Skipped,
        Self::Unviable,
    ];

    /// The names, in [`Status::ALL`] order.
    pub const NAMES: [&'static str; 7] =
        ["killed", "survived", "no_tests", "timeout", "error", "skipped", "unviable"];

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
    /// The tests selected for it, fastest first; for a mutant that also
    /// acts at import time, only those that call it (`whole_suite`).
    pub tests: Vec<String>,
    /// The whole suite ran behind `tests` (the function runs at import
    /// time): kept as a flag, not as the suite's every test id.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whole_suite: bool,
    /// Exit code of the test process, if it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// One line: the failing test, the error, …
    #[serde(default)]
    pub detail: String,
    /// The end of the captured output (see [`OUTPUT_KEPT`]), for
    /// survived, timeout and error; the whole capture is in the output
    /// folder ([`ResultStore::output`]).
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

/// How much of a mutant's output its result keeps: the end, which holds
/// pytest's summary and the failing test's lines. Results stay small (a
/// journal line per mutant); the runner's whole capture is kept beside.
pub const OUTPUT_KEPT: usize = 4 * 1024;

/// The store in one folder.
pub struct ResultStore<'a> {
    fs: &'a dyn Fs,
    snapshot: PathBuf,
    journal: PathBuf,
    outputs: PathBuf,
    last_sync: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How often the journal is synced to disk.
const SYNC_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl<'a> ResultStore<'a> {
    /// The store in `dir` (`.noot/mutate`).
    pub fn new(fs: &'a dyn Fs, dir: &Path) -> Self {
        Self {
            fs,
            snapshot: dir.join("results.json"),
            journal: dir.join("results.jsonl"),
            outputs: dir.join("output"),
            last_sync: std::sync::Mutex::new(None),
        }
    }

    /// Stores a mutant's whole captured output and returns what its result
    /// keeps (the end).
    pub fn keep_output(&self, id: &str, output: &str) -> Result<String, StoreError> {
        let path = self.output_path(id);
        if output.is_empty() {
            let _ = self.fs.remove_file(&path);
            return Ok(String::new());
        }
        let io = |source| StoreError::Io { path: path.clone(), source };
        self.fs.create_dir_all(&self.outputs).map_err(io)?;
        self.fs.replace_atomic(&path, output.as_bytes()).map_err(io)?;
        Ok(tail(output, OUTPUT_KEPT))
    }

    /// A mutant's whole captured output, if one was kept.
    pub fn output(&self, id: &str) -> Option<String> {
        self.fs.read(&self.output_path(id)).ok().map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    fn output_path(&self, id: &str) -> PathBuf {
        // Ids are dotted identifiers; a very long one is shortened by digest.
        let name = if id.len() > 200 || id.contains(['/', '\\']) {
            crate::engine::digest::Digest::of(id.as_bytes()).to_string()
        } else {
            id.to_owned()
        };
        self.outputs.join(format!("{name}.txt"))
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
        // fsync at most once a second: a result a millisecond costs half a
        // millisecond each otherwise. A killed noot loses nothing written;
        // a power cut, at most the last second.
        let mut last = self.last_sync.lock().unwrap_or_else(|e| e.into_inner());
        let sync = last.is_none_or(|at| at.elapsed() >= SYNC_EVERY);
        append_record(&self.journal, &bytes, sync)
            .map_err(|source| StoreError::Io { path: self.journal.clone(), source })?;
        if sync {
            *last = Some(std::time::Instant::now());
        }
        Ok(())
    }

    /// Writes the snapshot atomically and empties the journal.
    /// Outputs of mutants that are gone or have none now are removed.
    pub fn compact(&self, file: &ResultsFile) -> Result<(), StoreError> {
        Store::new(self.fs).save(&self.snapshot, file)?;
        if let Ok(entries) = self.fs.read_dir(&self.outputs) {
            let kept: std::collections::BTreeSet<PathBuf> = file
                .results
                .values()
                .filter(|r| !r.output.is_empty())
                .map(|r| self.output_path(&r.id))
                .collect();
            for path in entries {
                if !kept.contains(&path) {
                    let _ = self.fs.remove_file(&path);
                }
            }
        }
        match std::fs::remove_file(&self.journal) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io { path: self.journal.clone(), source }),
        }
    }
}

/// The end of `text`, saying how much was left out.
fn tail(text: &str, cap: usize) -> String {
    let kept = crate::engine::text::tail(text, cap);
    if kept.len() == text.len() {
        return text.to_owned();
    }
    format!("[… {} bytes before this: noot show ID --output …]\n{kept}", text.len() - kept.len())
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
            whole_suite: false,
            exit_code: None,
            detail: String::new(),
            output: String::new(),
        }
    }

    #[test]
    fn a_result_keeps_the_end_of_its_output_and_the_whole_is_kept_beside_until_it_is_gone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fs = RealFs;
        let store = ResultStore::new(&fs, dir.path());
        let output = format!("{}\nFAILED tests/t.py::test_a - assert 1 == 2\n", "x".repeat(10_000));
        let kept = store.keep_output("m.f__noot_1", &output).expect("kept");
        assert!(kept.len() < OUTPUT_KEPT + 100, "{}", kept.len());
        assert!(kept.starts_with("[… ") && kept.ends_with("assert 1 == 2\n"), "{kept}");
        assert_eq!(store.output("m.f__noot_1").as_deref(), Some(output.as_str()));
        let mut with_output = result("m.f__noot_1", Status::Survived);
        with_output.output = kept;
        let mut snapshot = ResultsFile::default();
        snapshot.results.insert("m.f__noot_1".into(), with_output);
        store.compact(&snapshot).expect("compact");
        assert!(store.output("m.f__noot_1").is_some(), "still a survivor");
        store.compact(&ResultsFile::default()).expect("compact");
        assert!(store.output("m.f__noot_1").is_none(), "gone with its mutant");
    }

    #[test]
    fn the_journal_survives_a_torn_last_line_and_compaction_keeps_everything() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fs = RealFs;
        let store = ResultStore::new(&fs, dir.path());
        store.append(&result("a", Status::Killed)).expect("append");
        store.append(&result("b", Status::Survived)).expect("append");
        crate::engine::store::append_synced(
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
