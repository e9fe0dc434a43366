//! What each mutant's own run reached. The stats run sees which function
//! bodies a test reaches without any mutant; a mutant can send a test
//! elsewhere (`x > 0` made `x < 0` calls `neg()`), and then its verdict
//! depends on `neg()` too. Every mutant run therefore records the switches
//! it reaches (the stats mode of the runtime, one atomic load per switch
//! read), and the functions they belong to are appended to
//! `.noot/mutate/rust-reach.jsonl` before the verdict is stored. The next
//! run's key for that mutant covers these bodies as well, so an edit to
//! `neg()` runs the mutant again. A torn last line is skipped; the journal
//! is rewritten at the end of a run with one line per current mutant.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::engine::store::{append_record, write_atomic};

/// The journal's file name in the state folder.
pub const FILE: &str = "rust-reach.jsonl";
/// Version of each line.
const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct Line {
    schema_version: u32,
    id: String,
    functions: BTreeSet<String>,
}

/// Appends what mutant `id`'s run reached.
pub fn append(path: &Path, id: &str, functions: BTreeSet<String>) -> io::Result<()> {
    let line = Line { schema_version: SCHEMA_VERSION, id: id.to_owned(), functions };
    let mut bytes = serde_json::to_vec(&line).map_err(io::Error::other)?;
    bytes.push(b'\n');
    append_record(path, &bytes, false)
}

/// Per mutant id, the functions its runs reached (all lines merged: a
/// function reached once may be reached again).
pub fn load(path: &Path) -> HashMap<String, BTreeSet<String>> {
    let mut reached: HashMap<String, BTreeSet<String>> = HashMap::new();
    let Ok(text) = std::fs::read(path) else { return reached };
    for line in text.split(|&b| b == b'\n') {
        if let Ok(line) = serde_json::from_slice::<Line>(line) {
            if line.schema_version == SCHEMA_VERSION {
                reached.entry(line.id).or_default().extend(line.functions);
            }
        }
    }
    reached
}

/// Rewrites the journal with one line per id of `keep`, atomically.
pub fn compact(path: &Path, keep: &BTreeSet<&str>) -> io::Result<()> {
    let reached = load(path);
    let mut ids: Vec<&String> = reached.keys().filter(|id| keep.contains(id.as_str())).collect();
    ids.sort();
    let mut text = Vec::new();
    for id in ids {
        let functions = reached.get(id).cloned().unwrap_or_default();
        let line = Line { schema_version: SCHEMA_VERSION, id: id.clone(), functions };
        text.extend(serde_json::to_vec(&line).map_err(io::Error::other)?);
        text.push(b'\n');
    }
    write_atomic(path, &text)
}

/// The scratch file a slot's processes record their switches in.
pub fn scratch(dir: &Path, slot: u32) -> PathBuf {
    dir.join(format!("reach-{slot}.txt"))
}

/// Recording what each mutant's run reaches: its test processes get
/// `NOOT_STATS_FILE` (a scratch file per slot), and after the verdict the
/// functions of the switches written there go to the journal.
pub struct Reach {
    /// The journal ([`FILE`]).
    pub journal: PathBuf,
    /// The folder of the slots' scratch files.
    pub scratch: PathBuf,
    /// Per switch number, its mutant's function.
    pub function_of: HashMap<u32, String>,
    /// Per mutant id, what its run reached in this session: its verdict is
    /// stored under the key that covers it ([`super::keys::KeyMaker`]).
    pub this_run: ThisRun,
}

/// What each mutant's run reached in this session, shared by the runner
/// that records it and the keys that cover it.
pub type ThisRun = Arc<Mutex<HashMap<String, BTreeSet<String>>>>;

impl Reach {
    /// Before slot `slot` runs a mutant: its scratch file, emptied.
    pub fn start(&self, slot: u32) -> PathBuf {
        let path = scratch(&self.scratch, slot);
        let _ = std::fs::remove_file(&path);
        path
    }

    /// After mutant `id` ran with `scratch`: what it reached, journalled
    /// (before the verdict is stored: a verdict never outlives what it
    /// depended on). No scratch file at all means the switches were never
    /// told where to write (a runner that did not pass the job's `env`
    /// on): then every mutated function counts as reached, so any edit
    /// runs the mutant again.
    pub fn finish(&self, id: &str, scratch: &Path) -> io::Result<()> {
        let functions: BTreeSet<String> = match std::fs::read_to_string(scratch) {
            Ok(switches) => switches
                .lines()
                .filter_map(|l| l.trim().parse::<u32>().ok())
                .filter_map(|n| self.function_of.get(&n).cloned())
                .collect(),
            Err(_) => self.function_of.values().cloned().collect(),
        };
        let _ = std::fs::remove_file(scratch);
        // Merged, as the journal's lines are: a timeout's generous re-run
        // is a second run of the same mutant.
        self.this_run
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(id.to_owned())
            .or_default()
            .extend(functions.iter().cloned());
        append(&self.journal, id, functions)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.journal.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_merge_per_mutant_a_torn_one_is_skipped_and_compaction_keeps_current_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        append(&path, "m::a__noot_1", ["m::neg".to_owned()].into()).expect("append");
        append(&path, "m::a__noot_1", ["m::pos".to_owned()].into()).expect("append");
        append(&path, "m::gone__noot_1", ["m::x".to_owned()].into()).expect("append");
        let mut torn = std::fs::read(&path).expect("read");
        torn.extend_from_slice(b"{\"schema_version\":1,\"id\":\"m::b");
        std::fs::write(&path, torn).expect("write");
        let reached = load(&path);
        let a: Vec<&str> = reached["m::a__noot_1"].iter().map(String::as_str).collect();
        assert_eq!(a, ["m::neg", "m::pos"]);
        assert_eq!(reached.len(), 2);
        compact(&path, &["m::a__noot_1"].into()).expect("compact");
        let reached = load(&path);
        assert_eq!(reached.len(), 1);
        assert_eq!(reached["m::a__noot_1"].len(), 2);
    }
}
