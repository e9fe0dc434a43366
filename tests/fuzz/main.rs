//! Fuzz targets: property tests over everything noot reads that a person, a
//! crash or another program may have written badly. Each module below is
//! one target; its property is what the reader promises: a value or an
//! error that says where (file:line), never a panic; a torn log loads what
//! is whole; a mutant of code that compiles, compiles.
//!
//! A target run, in a plain `cargo test -p noot --test fuzz`:
//! 1. replays every file of `tests/fuzz/corpus/TARGET/` (hand-written nasty
//!    inputs, and each crash found so far, kept as its input);
//! 2. replays the seeds proptest saved in
//!    `tests/fuzz/proptest-regressions/TARGET.txt` after a failure;
//! 3. runs a bounded number of fresh cases from a fixed seed, so CI is
//!    repeatable and the whole set stays under a minute on two cores.
//!
//! Long mode is opt-in. `NOOT_FUZZ_SECONDS=600` runs each selected target
//! for that long from fresh random seeds, goes on past a crash, writes each
//! crash's shrunk input to `$TMPDIR/noot-fuzz-crashes/` and prints the
//! executions and crashes when it ends (and appends them to the file
//! `$NOOT_FUZZ_REPORT` names, if set); run one target at a time, in
//! release mode, and see the figures with `--nocapture`:
//!
//! ```text
//! NOOT_FUZZ_SECONDS=600 nice -n 19 cargo test --release -p noot --test fuzz -- \
//!     --exact python::any_source_gives_an_analysis_or_a_located_syntax_error --nocapture
//! ```
//!
//! The stdlib targets are not random: in long mode they analyse every file
//! of the standard library and compile every mutant of every file until the
//! time is up (`NOOT_FUZZ_START=N` begins at the N-th file, for the next
//! run to go on where one stopped). `NOOT_FUZZ_CASES=N` instead runs N
//! fresh cases per random target. A crash found either way gets its input
//! copied into the target's corpus folder before the reader is fixed. The
//! last long runs' figures are in `tests/fuzz/long-runs.md`.

mod config;
mod experiment;
mod journal;
mod mox;
mod python;
mod stdlib;

use std::collections::BTreeMap;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use noot::engine::ports::{Env, Fs, PathKind};
use proptest::prelude::*;
use proptest::test_runner::{
    Config, FileFailurePersistence, RngSeed, TestCaseError, TestError, TestRunner,
};

/// The folder of the fuzz targets (corpus, regressions).
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fuzz")
}

/// The files of `corpus/TARGET/`, sorted, with their bytes.
pub fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = fuzz_dir().join("corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter_map(|path| std::fs::read(&path).ok().map(|bytes| (path, bytes)))
        .collect()
}

/// How a run chooses its fresh cases.
enum Budget {
    /// This many, from a seed fixed per target (CI).
    Cases(u32),
    /// As many as fit, from random seeds (long mode).
    Seconds(u64),
}

fn budget(ci_cases: u32) -> Budget {
    let number = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse::<u64>().ok());
    match (number("NOOT_FUZZ_SECONDS"), number("NOOT_FUZZ_CASES")) {
        (Some(seconds), _) => Budget::Seconds(seconds),
        (None, Some(cases)) => Budget::Cases(u32::try_from(cases).unwrap_or(u32::MAX)),
        (None, None) => Budget::Cases(ci_cases),
    }
}

/// Printable, for failure messages: the input's head, escaped.
pub fn shown(bytes: &[u8]) -> String {
    const HEAD: usize = 600;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(HEAD)]).escape_debug().to_string();
    if bytes.len() > HEAD {
        format!("\"{text}\"… ({} bytes)", bytes.len())
    } else {
        format!("\"{text}\"")
    }
}

/// Runs `property` on the corpus, the saved regressions and fresh inputs of
/// `strategy`: `Err` or a panic is a failure. Panics naming every failure.
pub fn fuzz<S>(
    target: &str,
    ci_cases: u32,
    strategy: S,
    property: impl Fn(&[u8]) -> Result<(), String>,
) where
    S: Strategy<Value = Vec<u8>>,
{
    let executions = AtomicU64::new(0);
    let checked = |input: &[u8]| -> Result<(), String> {
        executions.fetch_add(1, Ordering::Relaxed);
        match catch_unwind(AssertUnwindSafe(|| property(input))) {
            Ok(result) => result,
            Err(panic) => Err(format!("panicked: {}", panic_text(&*panic))),
        }
    };

    let mut failures = Vec::new();
    for (path, bytes) in corpus(target) {
        if let Err(why) = checked(&bytes) {
            failures.push(format!("corpus {}: {why}", path.display()));
        }
    }

    let persistence = fuzz_dir().join("proptest-regressions").join(format!("{target}.txt"));
    let persistence: &'static str = Box::leak(persistence.display().to_string().into_boxed_str());
    let config = |cases: u32, seed: RngSeed| Config {
        cases,
        rng_seed: seed,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(persistence))),
        max_shrink_time: 60_000,
        ..Config::default()
    };
    let as_case = |input: Vec<u8>| checked(&input).map_err(TestCaseError::fail);

    let started = Instant::now();
    match budget(ci_cases) {
        Budget::Cases(cases) => {
            let seed = target
                .bytes()
                .fold(0x6e6f6f74_u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
            let mut runner = TestRunner::new(config(cases, RngSeed::Fixed(seed)));
            if let Err(error) = runner.run(&strategy, as_case) {
                failures.push(describe(&error));
            }
        }
        Budget::Seconds(seconds) => {
            let deadline = started + Duration::from_secs(seconds);
            let mut crashes: BTreeMap<String, Vec<u8>> = BTreeMap::new();
            while Instant::now() < deadline {
                let mut runner = TestRunner::new(config(500, RngSeed::Random));
                if let Err(error) = runner.run(&strategy, as_case) {
                    let reason = describe(&error);
                    if let TestError::Fail(_, input) = error {
                        crashes.entry(reason).or_insert(input);
                    }
                }
            }
            let dir = std::env::temp_dir().join("noot-fuzz-crashes");
            for (n, (reason, input)) in crashes.iter().enumerate() {
                let file = dir.join(format!("{target}-{n}.bin"));
                let saved =
                    std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&file, input));
                let at = saved
                    .map_or_else(|e| format!("(not saved: {e})"), |()| file.display().to_string());
                failures.push(format!("{reason}\n  input saved to {at}"));
            }
            let line = format!(
                "fuzz {target}: {} executions in {:.0} s, {} crashes\n",
                executions.load(Ordering::Relaxed),
                started.elapsed().as_secs_f64(),
                crashes.len()
            );
            report(&line);
        }
    }
    assert!(failures.is_empty(), "fuzz target {target}:\n{}", failures.join("\n\n"));
}

/// Prints a long run's figures, and appends them to `$NOOT_FUZZ_REPORT`.
pub fn report(line: &str) {
    eprint!("{line}");
    if let Ok(path) = std::env::var("NOOT_FUZZ_REPORT") {
        use std::io::Write;
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = appended {
            eprintln!("cannot append to {path}: {e}");
        }
    }
}

fn describe(error: &TestError<Vec<u8>>) -> String {
    match error {
        TestError::Abort(reason) => format!("aborted: {reason}"),
        TestError::Fail(reason, input) => format!("{reason}\n  input: {}", shown(input)),
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

// ----- strategies shared by the targets -----

/// Any bytes, up to `max` of them.
pub fn any_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

/// Text made of the format's own tokens (`dictionary`), odd characters and
/// short random strings, as a fuzzer's dictionary would give.
pub fn tokens(
    dictionary: impl Into<Vec<&'static str>>,
    max: usize,
) -> impl Strategy<Value = Vec<u8>> {
    let dictionary = dictionary.into();
    let piece = prop_oneof![
        6 => prop::sample::select(dictionary).prop_map(str::to_string),
        1 => prop::sample::select(ODD).prop_map(str::to_string),
        1 => "\\PC{0,6}",
        1 => "[ \t\n]{1,3}",
    ];
    prop::collection::vec(piece, 0..max).prop_map(|pieces| pieces.concat().into_bytes())
}

/// A JSON scalar of any kind.
pub fn json_scalar() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::from),
    ]
}

/// Characters and sequences that readers trip on.
#[rustfmt::skip]
const ODD: &[&str] = &[
    "\0", "\r", "\r\n", "\u{feff}", "\u{fffd}", "\u{2028}", "\u{85}", "é", "\u{1F600}", "\\", "\"",
    "'", "\x7f", "\u{300}", "\u{10FFFF}", "\t", "\x0c",
];

/// One edit of a seed input.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Replace(usize, u8),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, b)| Edit::Insert(at, b)),
        (any::<usize>(), 1..32usize).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Replace(at, b)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 1..64usize).prop_map(|(at, n)| Edit::Duplicate(at, n)),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        let len = bytes.len();
        let at = |i: usize| if len == 0 { 0 } else { i % (len + 1) };
        match edit {
            Edit::Insert(i, b) => {
                let i = at(*i);
                bytes.splice(i..i, b.iter().copied());
            }
            Edit::Delete(i, n) => {
                let i = at(*i);
                bytes.drain(i..(i + n).min(len));
            }
            Edit::Replace(i, b) if len > 0 => bytes[i % len] = *b,
            Edit::Replace(..) => {}
            Edit::Truncate(i) => bytes.truncate(at(*i)),
            Edit::Duplicate(i, n) => {
                let i = at(*i);
                let chunk = bytes[i..(i + n).min(len)].to_vec();
                bytes.splice(i..i, chunk);
            }
        }
    }
    bytes
}

/// The target's corpus files (and `extra` seeds), each with a few edits:
/// inputs near the valid ones, where readers have most to get wrong.
pub fn edited(target: &str, extra: &[&str]) -> impl Strategy<Value = Vec<u8>> + use<> {
    // Big corpus entries (deep nesting, huge lines) replay as they are;
    // edits of them would make every case slow.
    let mut seeds: Vec<Vec<u8>> =
        corpus(target).into_iter().map(|(_, b)| b).filter(|b| b.len() <= 4096).collect();
    seeds.extend(extra.iter().map(|s| s.as_bytes().to_vec()));
    if seeds.is_empty() {
        seeds.push(Vec::new());
    }
    (prop::sample::select(seeds), prop::collection::vec(edit(), 0..6))
        .prop_map(|(seed, edits)| apply(seed, &edits))
}

// ----- ports for readers that take them -----

/// Files in memory: what a target's reader sees, and nothing of the disk.
#[derive(Default)]
pub struct MemFs {
    files: Mutex<BTreeMap<PathBuf, Vec<u8>>>,
}

impl MemFs {
    /// A file system holding these files.
    pub fn with(files: &[(&str, &[u8])]) -> Self {
        let fs = Self::default();
        for (path, bytes) in files {
            fs.files().insert(PathBuf::from(path), bytes.to_vec());
        }
        fs
    }

    fn files(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, Vec<u8>>> {
        self.files.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Fs for MemFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.files().get(path).cloned().ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
    fn write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.files().insert(path.to_path_buf(), data.to_vec());
        Ok(())
    }
    fn replace_atomic(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.write(path, data)
    }
    fn append_synced(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.files().entry(path.to_path_buf()).or_default().extend_from_slice(data);
        Ok(())
    }
    fn kind(&self, path: &Path) -> Option<PathKind> {
        let files = self.files();
        if files.contains_key(path) {
            Some(PathKind::File)
        } else if files.keys().any(|f| f.starts_with(path)) {
            Some(PathKind::Dir)
        } else {
            None
        }
    }
    fn len(&self, path: &Path) -> Option<u64> {
        self.files().get(path).map(|b| b.len() as u64)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        let mut entries: Vec<PathBuf> = self
            .files()
            .keys()
            .filter_map(|f| f.strip_prefix(path).ok()?.components().next().map(|c| path.join(c)))
            .collect();
        entries.dedup();
        Ok(entries)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.files().remove(path);
        Ok(())
    }
    fn create_dir_all(&self, _path: &Path) -> io::Result<()> {
        Ok(())
    }
}

/// An environment with no variables, working in `/p`.
pub struct EmptyEnv;

impl Env for EmptyEnv {
    fn var(&self, _name: &str) -> Option<String> {
        None
    }
    fn vars(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    fn current_dir(&self) -> io::Result<PathBuf> {
        Ok(PathBuf::from("/p"))
    }
}

/// Checks that `error` is located in `path`, on a line `text` has.
pub fn located_in(
    error: &noot::config::ConfigError,
    path: &str,
    text: &[u8],
) -> Result<(), String> {
    use noot::config::Location;
    match &error.location {
        Some(Location::File { path: at, line, column }) if at == Path::new(path) => {
            let lines = text.iter().filter(|&&b| b == b'\n').count() + 1;
            if *line == 0 || *line > lines || *column == 0 {
                return Err(format!(
                    "`{error}` points at {line}:{column}, outside the {lines} lines"
                ));
            }
            if error.message.trim().is_empty() {
                return Err(format!("`{error}` says nothing"));
            }
            Ok(())
        }
        other => Err(format!("`{error}` is not located in {path} (location {other:?})")),
    }
}
