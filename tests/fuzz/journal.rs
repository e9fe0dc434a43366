//! Target `journal`: the logs and stored documents noot reads back after a
//! crash. The mutation results journal (`.noot/mutate/results.jsonl`,
//! through [`ResultStore::load`]) loads exactly the lines that are whole
//! results, however torn, garbled, truncated or huge the others are; the
//! experiment branch log skips and counts what it cannot read; and every
//! schema-versioned document (stats, results snapshot, session, runner
//! choice, experiment state and hand-overs) is read or refused with its
//! path named, never with a panic.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;

use crate::{MemFs, any_bytes, edited, fuzz, tokens};
use noot::engine::store::{StoreError, Versioned, from_versioned_json};
use noot::mutate::results::{MutantResult, ResultStore, Status};

const STATE: &str = "/p/.noot/mutate";
const JOURNAL: &str = "/p/.noot/mutate/results.jsonl";

fn result() -> impl Strategy<Value = MutantResult> {
    (
        prop::sample::select(&["m.f__noot_1", "m.f__noot_2", "m.C.g__noot_1", "", "é\u{0}"][..]),
        "[0-9a-f]{0,8}",
        prop::sample::select(&Status::ALL[..]),
        any::<u64>(),
        prop::collection::vec("\\PC{0,10}", 0..3),
        any::<bool>(),
        any::<Option<i32>>(),
        "\\PC{0,20}",
        prop_oneof![4 => "\\PC{0,40}", 1 => (1usize..200_000).prop_map(|n| "x".repeat(n))],
    )
        .prop_map(
            |(id, key, status, duration_ms, tests, whole_suite, exit_code, detail, output)| {
                MutantResult {
                    id: id.to_string(),
                    key,
                    status,
                    duration_ms,
                    tests,
                    whole_suite,
                    exit_code,
                    detail,
                    output,
                }
            },
        )
}

/// One journal line as a writer (or a crash, or a stray program) left it.
fn line() -> impl Strategy<Value = Vec<u8>> {
    let whole = (result(), prop::sample::select(&[1u32, 1, 1, 0, 2, u32::MAX][..]))
        .prop_map(|(result, version)| {
            let mut value = serde_json::to_value(&result).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut value {
                map.insert("schema_version".into(), version.into());
            }
            serde_json::to_vec(&value).unwrap_or_default()
        })
        .boxed();
    prop_oneof![
        4 => whole.clone(),
        2 => (whole, any::<prop::sample::Index>()).prop_map(|(line, cut)| {
            let at = cut.index(line.len().max(1));
            line[..at].to_vec()
        }),
        1 => any_bytes(64).prop_map(|b| b.into_iter().filter(|c| *c != b'{').collect()),
        1 => tokens(&["{", "}", "\"id\"", ":", "\"schema_version\"", "1", ",", "null", "[", "]"], 12),
        1 => (1usize..300_000).prop_map(|n| vec![b'#'; n]),
    ]
}

/// Lines joined as the journal holds them, maybe cut short at the end.
fn journal() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(line(), 0..12),
        prop::sample::select(&["\n", "\r\n", "\n\n"][..]),
        any::<bool>(),
        prop::option::of(any::<prop::sample::Index>()),
    )
        .prop_map(|(lines, separator, trailing, cut)| {
            let mut bytes = lines.join(separator.as_bytes());
            if trailing {
                bytes.extend_from_slice(separator.as_bytes());
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            bytes
        })
}

fn inputs() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => any_bytes(512),
        5 => journal(),
        2 => edited("journal", &[]),
    ]
}

/// What a line holds, read on its own: a result of a version this noot
/// reads, or nothing. (A line with a key twice is no result: the journal
/// never writes one.)
fn whole_result(line: &[u8]) -> Option<MutantResult> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(line) else { return None };
    let version = map.get("schema_version")?.as_u64()?;
    if version > u64::from(noot::mutate::results::ResultsFile::SCHEMA_VERSION) {
        return None;
    }
    serde_json::from_slice(line).ok()
}

fn journal_loads_what_is_whole(bytes: &[u8]) -> Result<(), String> {
    let fs = MemFs::with(&[(JOURNAL, bytes)]);
    let loaded = ResultStore::new(&fs, Path::new(STATE))
        .load()
        .map_err(|e| format!("a journal alone failed to load: {e}"))?;
    let mut expected = BTreeMap::new();
    for result in bytes.split(|b| *b == b'\n').filter_map(whole_result) {
        expected.insert(result.id.clone(), result);
    }
    if loaded.results != expected {
        let got: Vec<&String> = loaded.results.keys().collect();
        let want: Vec<&String> = expected.keys().collect();
        return Err(format!("loaded {got:?}, the whole lines hold {want:?}"));
    }
    Ok(())
}

fn documents_load_or_name_their_file(bytes: &[u8]) -> Result<(), String> {
    fn check<T: Versioned>(bytes: &[u8]) -> Result<(), String> {
        let path = Path::new("/p/.noot/doc.json");
        match from_versioned_json::<T>(path, bytes) {
            Ok(_) => Ok(()),
            Err(e @ (StoreError::Corrupt { .. } | StoreError::TooNew { .. })) => {
                if e.to_string().contains("/p/.noot/doc.json") {
                    Ok(())
                } else {
                    Err(format!("a {} error does not name the file: {e}", T::WHAT))
                }
            }
            Err(e) => Err(format!("a {} gave an unexpected error: {e}", T::WHAT)),
        }
    }
    check::<noot::mutate::lang::python::stats::Stats>(bytes)?;
    check::<noot::mutate::results::ResultsFile>(bytes)?;
    check::<noot::mutate::report::SessionFile>(bytes)?;
    check::<noot::mutate::lang::python::runner_choice::Choice>(bytes)?;
    check::<noot::experiment::state::ExperimentState>(bytes)?;
    check::<noot::experiment::detach::Job>(bytes)?;
    check::<noot::experiment::detach::Handover>(bytes)?;
    // A snapshot beside the journal: loaded, or refused naming itself.
    let fs = MemFs::with(&[("/p/.noot/mutate/results.json", bytes), (JOURNAL, bytes)]);
    if let Err(e) = ResultStore::new(&fs, Path::new(STATE)).load() {
        if !e.to_string().contains("results.json") {
            return Err(format!("a bad snapshot's error does not name it: {e}"));
        }
    }
    Ok(())
}

fn branch_log_counts_what_it_skips(bytes: &[u8]) -> Result<(), String> {
    let dir = Path::new("/p/.noot/experiments/e");
    let fs = MemFs::with(&[("/p/.noot/experiments/e/branches.jsonl", bytes)]);
    let (records, skipped) = noot::experiment::log::read_records(&fs, dir)?;
    let lines = bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
    if records.len() + skipped != lines {
        return Err(format!("{} records and {skipped} skipped of {lines} lines", records.len()));
    }
    Ok(())
}

#[test]
fn stored_logs_and_documents_load_what_is_whole() {
    fuzz("journal", 400, inputs(), |bytes| {
        journal_loads_what_is_whole(bytes)?;
        documents_load_or_name_their_file(bytes)?;
        branch_log_counts_what_it_skips(bytes)
    });
}

/// Lines far past any buffer size, between whole ones: each whole line
/// still loads.
#[test]
fn huge_lines_do_not_hide_their_neighbours() {
    let line = |id: &str, output: String| {
        let result = MutantResult {
            id: id.into(),
            key: "k".into(),
            status: Status::Survived,
            duration_ms: 1,
            tests: vec![],
            whole_suite: false,
            exit_code: Some(0),
            detail: String::new(),
            output,
        };
        let mut value = serde_json::to_value(&result).expect("a result is JSON");
        value["schema_version"] = 1.into();
        serde_json::to_vec(&value).expect("JSON")
    };
    let mut bytes = line("a", String::new());
    bytes.push(b'\n');
    bytes.extend(std::iter::repeat_n(b'z', 24 << 20));
    bytes.push(b'\n');
    bytes.extend(line("b", "y".repeat(8 << 20)));
    bytes.push(b'\n');
    let torn = line("c", "w".repeat(4 << 20));
    bytes.extend_from_slice(&torn[..torn.len() - 7]);
    journal_loads_what_is_whole(&bytes).expect("whole lines load");
    let fs = MemFs::with(&[(JOURNAL, &bytes)]);
    let loaded = ResultStore::new(&fs, Path::new(STATE)).load().expect("loads");
    assert_eq!(loaded.results.keys().collect::<Vec<_>>(), ["a", "b"]);
}
