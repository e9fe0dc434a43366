//! Everything noot persists: schema-versioned JSON, written atomically.
//!
//! A file is written to a temporary sibling, flushed, fsynced, renamed over
//! the target, and the directory is fsynced, so a reader (or the next run
//! after a crash or `kill -9`) sees the old file or the new one, never a
//! torn one. Each document carries `schema_version` first; readers migrate
//! older versions step by step, refuse newer ones with a clear message, and
//! tolerate unknown keys (types that must keep them round-trip a flattened
//! map). One writer per file: the parent process.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::engine::ports::Fs;

/// The key every stored document starts with.
pub const SCHEMA_KEY: &str = "schema_version";

/// A document type noot stores.
pub trait Versioned: Serialize + DeserializeOwned {
    /// What the document is, for messages (`mutation results`, …).
    const WHAT: &'static str;
    /// The version this build writes.
    const SCHEMA_VERSION: u32;

    /// Upgrades a document of version `from` to version `from + 1`.
    /// The default knows no older versions.
    fn migrate(from: u32, document: Map<String, Value>) -> Result<Map<String, Value>, String> {
        let _ = document;
        Err(format!("no migration from schema version {from}"))
    }
}

/// Why a stored document could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing failed.
    #[error("{path}: {source}{}", io_hint(source))]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The file is not valid JSON of the expected shape.
    #[error("{path}: not a valid {what} file: {message}; delete it to start afresh")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What it should hold.
        what: &'static str,
        /// The parser's message.
        message: String,
    },
    /// A newer noot wrote it.
    #[error(
        "{path}: {what} schema version {found} is newer than this noot understands ({supported}); upgrade noot"
    )]
    TooNew {
        /// The file.
        path: PathBuf,
        /// What it holds.
        what: &'static str,
        /// Its version.
        found: u32,
        /// Ours.
        supported: u32,
    },
}

/// Serialises `value` with `schema_version` as its first key.
pub fn to_versioned_json<T: Versioned>(value: &T) -> Result<Vec<u8>, String> {
    let body = serde_json::to_value(value).map_err(|e| e.to_string())?;
    let Value::Object(fields) = body else {
        return Err(format!("a {} must serialise to a JSON object", T::WHAT));
    };
    let mut document = Map::new();
    document.insert(SCHEMA_KEY.to_string(), Value::from(T::SCHEMA_VERSION));
    for (key, value) in fields {
        if key != SCHEMA_KEY {
            document.insert(key, value);
        }
    }
    let mut bytes =
        serde_json::to_vec_pretty(&Value::Object(document)).map_err(|e| e.to_string())?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Parses a stored document, migrating it to the current version.
pub fn from_versioned_json<T: Versioned>(path: &Path, bytes: &[u8]) -> Result<T, StoreError> {
    let corrupt =
        |message: String| StoreError::Corrupt { path: path.to_path_buf(), what: T::WHAT, message };
    let value: Value = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    let Value::Object(mut document) = value else {
        return Err(corrupt("expected a JSON object".to_string()));
    };
    let found = document
        .get(SCHEMA_KEY)
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| corrupt(format!("no numeric `{SCHEMA_KEY}`")))?;
    if found > T::SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            what: T::WHAT,
            found,
            supported: T::SCHEMA_VERSION,
        });
    }
    let mut version = found;
    while version < T::SCHEMA_VERSION {
        document = T::migrate(version, document).map_err(corrupt)?;
        version += 1;
    }
    document.remove(SCHEMA_KEY);
    serde_json::from_value(Value::Object(document)).map_err(|e| corrupt(e.to_string()))
}

/// Saves and loads versioned documents through the [`Fs`] port.
pub struct Store<'a> {
    fs: &'a dyn Fs,
}

impl<'a> Store<'a> {
    /// A store over `fs`.
    pub fn new(fs: &'a dyn Fs) -> Self {
        Self { fs }
    }

    /// Writes `value` to `path` atomically.
    pub fn save<T: Versioned>(&self, path: &Path, value: &T) -> Result<(), StoreError> {
        let bytes = to_versioned_json(value).map_err(|message| StoreError::Corrupt {
            path: path.to_path_buf(),
            what: T::WHAT,
            message,
        })?;
        self.fs
            .replace_atomic(path, &bytes)
            .map_err(|source| StoreError::Io { path: path.to_path_buf(), source })
    }

    /// Reads `path`, or `None` if it does not exist.
    pub fn load<T: Versioned>(&self, path: &Path) -> Result<Option<T>, StoreError> {
        match self.fs.read(path) {
            Ok(bytes) => from_versioned_json(path, &bytes).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io { path: path.to_path_buf(), source }),
        }
    }
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `data` atomically: tmp → write → flush → fsync →
/// rename → fsync the directory. Keeps the permissions of the file it
/// replaces.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.noot-tmp-{}-{}",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        if let Ok(meta) = std::fs::metadata(path) {
            file.set_permissions(meta.permissions())?;
        }
        file.write_all(data)?;
        file.flush()?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Appends `record` (one line, newline included) to `path` with a single
/// `write` on an `O_APPEND` descriptor under an exclusive `flock`, then
/// fsyncs: concurrent writers, noot processes included, never interleave
/// partial lines. (`O_APPEND` alone keeps one `write` whole on a local
/// file system; the lock also covers a short write being retried.)
pub fn append_synced(path: &Path, record: &[u8]) -> io::Result<()> {
    append_record(path, record, true)
}

/// Appends one record under the file's lock, on a line of its own; with
/// `sync`, waits until it is on disk. Without, it survives a killed noot
/// (the kernel has it) but not a power cut until the next synced append.
pub fn append_record(path: &Path, record: &[u8], sync: bool) -> io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = OpenOptions::new().read(true).append(true).create(true).open(path)?;
    flock_exclusive(&file)?;
    // A crash mid-append leaves a torn last line, which readers skip; the
    // next record must not be glued onto it and lost with it.
    if ends_mid_line(&mut file)? {
        file.write_all(b"\n")?;
    }
    file.write_all(record)?;
    // Closing the descriptor releases the lock.
    if sync { file.sync_data() } else { Ok(()) }
}

/// Whether the file is non-empty and its last byte is not a newline.
fn ends_mid_line(file: &mut File) -> io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    if file.metadata()?.len() == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

fn flock_exclusive(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: flock on a descriptor this function borrows; no memory
        // is shared with the kernel.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// An exclusive lock on a file, held until dropped (see [`Fs::lock`]).
#[derive(Debug)]
pub struct FileLock {
    _file: Option<File>,
}

impl FileLock {
    /// A lock that guards nothing (for file systems with one writer).
    pub fn none() -> Self {
        Self { _file: None }
    }

    /// Waits for the exclusive `flock` of `path`, creating the file.
    pub fn acquire(path: &Path) -> io::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        flock_exclusive(&file)?;
        Ok(Self { _file: Some(file) })
    }

    /// Takes the exclusive `flock` of `path` without waiting and writes this
    /// process's id into it; if another process holds it, returns the id
    /// that process wrote (`Err(Some(pid))`; `Err(None)` when unreadable).
    pub fn try_acquire_for_pid(path: &Path) -> io::Result<Result<Self, Option<u32>>> {
        use std::io::{Read, Seek, SeekFrom};
        use std::os::fd::AsRawFd;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        loop {
            // SAFETY: flock on a descriptor this function owns.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                break;
            }
            let error = io::Error::last_os_error();
            match error.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EWOULDBLOCK) => {
                    let mut text = String::new();
                    let _ = file.read_to_string(&mut text);
                    return Ok(Err(text.trim().parse().ok()));
                }
                _ => return Err(error),
            }
        }
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(std::process::id().to_string().as_bytes())?;
        Ok(Ok(Self { _file: Some(file) }))
    }
}

/// What to do about a write that failed for a reason the user can fix,
/// said after the error (empty for other reasons). What was stored before
/// is never touched by a failed write: every file is replaced atomically.
pub fn io_hint(error: &io::Error) -> &'static str {
    match error.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            "; the disk is full: free some space and run again (what was stored before is kept)"
        }
        io::ErrorKind::ReadOnlyFilesystem => {
            "; the file system is read-only: noot keeps its state under .noot/ in the project; \
             make it writable and run again"
        }
        io::ErrorKind::PermissionDenied => {
            "; permission denied: make the folder writable for this user and run again"
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fakes::MemFs;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Results {
        mutants: Vec<String>,
        #[serde(default)]
        score: f64,
        #[serde(flatten)]
        unknown: Map<String, Value>,
    }

    impl Versioned for Results {
        const WHAT: &'static str = "test results";
        const SCHEMA_VERSION: u32 = 2;

        fn migrate(from: u32, mut doc: Map<String, Value>) -> Result<Map<String, Value>, String> {
            match from {
                // Version 1 called the list `ids`.
                1 => {
                    let ids = doc.remove("ids").ok_or("version 1 without `ids`")?;
                    doc.insert("mutants".into(), ids);
                    Ok(doc)
                }
                other => Err(format!("unknown version {other}")),
            }
        }
    }

    fn sample() -> Results {
        Results { mutants: vec!["a".into()], score: 0.5, unknown: Map::new() }
    }

    #[test]
    fn documents_start_with_their_schema_version() {
        let bytes = to_versioned_json(&sample()).expect("serialises");
        let text = String::from_utf8(bytes).expect("utf-8");
        assert!(text.starts_with("{\n  \"schema_version\": 2,"), "{text}");
    }

    #[test]
    fn save_then_load_round_trips_through_the_fs_port() {
        let fs = MemFs::default();
        let store = Store::new(&fs);
        let path = Path::new("/p/.noot/results.json");
        assert!(store.load::<Results>(path).expect("absent is fine").is_none());
        store.save(path, &sample()).expect("saves");
        assert_eq!(store.load::<Results>(path).expect("loads"), Some(sample()));
        assert_eq!(fs.atomic_writes(), 1, "saved through replace_atomic");
    }

    #[test]
    fn old_versions_are_migrated_and_unknown_keys_kept() {
        let old = br#"{"schema_version": 1, "ids": ["x"], "from_the_future": true}"#;
        let loaded: Results = from_versioned_json(Path::new("r.json"), old).expect("migrates");
        assert_eq!(loaded.mutants, ["x"]);
        assert_eq!(loaded.unknown.get("from_the_future"), Some(&Value::Bool(true)));
        let again = String::from_utf8(to_versioned_json(&loaded).expect("ser")).expect("utf-8");
        assert!(again.contains("from_the_future"), "unknown keys survive a rewrite");
    }

    #[test]
    fn newer_and_broken_documents_are_refused_with_the_path() {
        let err = from_versioned_json::<Results>(Path::new("r.json"), br#"{"schema_version": 9}"#)
            .expect_err("too new");
        assert!(
            err.to_string().contains("r.json: test results schema version 9 is newer"),
            "{err}"
        );
        let err = from_versioned_json::<Results>(Path::new("r.json"), b"{").expect_err("broken");
        assert!(err.to_string().starts_with("r.json: not a valid test results file"), "{err}");
        let err =
            from_versioned_json::<Results>(Path::new("r.json"), b"{}").expect_err("no version");
        assert!(err.to_string().contains("no numeric `schema_version`"), "{err}");
    }

    #[test]
    fn write_atomic_replaces_and_keeps_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f.txt");
        std::fs::write(&path, "old").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        write_atomic(&path, b"new").expect("replace");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "new");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn appends_are_whole_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log").join("b.jsonl");
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let line =
                            format!("{{\"t\":{t},\"i\":{i},\"pad\":\"{}\"}}\n", "x".repeat(500));
                        append_synced(&path, line.as_bytes()).expect("append");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("join");
        }
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 200);
        for line in text.lines() {
            serde_json::from_str::<Value>(line).expect("every line is whole JSON");
        }
    }
}
