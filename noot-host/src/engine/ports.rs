//! Ports: the outside world as traits.
//!
//! The core and the plugins reach time, the environment, files and child
//! processes only through these, so unit tests swap in the fakes of
//! [`super::fakes`] (no disk, no fork) and the host stays the one owner of
//! every child process.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::engine::events::Event;
use crate::engine::procs::{ProcHandle, ProcResult, SpawnRequest};
use crate::engine::store::FileLock;

/// Wall-clock and monotonic time.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_unix_ms(&self) -> u64;
    /// Milliseconds since an arbitrary fixed origin; never goes back.
    fn monotonic_ms(&self) -> u64;
}

/// The process environment.
pub trait Env: Send + Sync {
    /// One variable, if set and valid UTF-8.
    fn var(&self, name: &str) -> Option<String>;
    /// Every variable that is valid UTF-8.
    fn vars(&self) -> Vec<(String, String)>;
    /// The working directory.
    fn current_dir(&self) -> io::Result<PathBuf>;
}

/// What a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// A regular file (or a link to one).
    File,
    /// A directory (or a link to one).
    Dir,
    /// Something else: a socket, a device, …
    Other,
}

/// Files.
pub trait Fs: Send + Sync {
    /// The whole content of a file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Writes a file in place, creating parent folders.
    fn write(&self, path: &Path, data: &[u8]) -> io::Result<()>;
    /// Replaces a file atomically (see [`crate::engine::store::write_atomic`]).
    fn replace_atomic(&self, path: &Path, data: &[u8]) -> io::Result<()>;
    /// Appends one record to a log file and syncs it.
    fn append_synced(&self, path: &Path, data: &[u8]) -> io::Result<()>;
    /// What `path` is, or `None` if it does not exist.
    fn kind(&self, path: &Path) -> Option<PathKind>;
    /// The size of a file in bytes, if it exists.
    fn len(&self, path: &Path) -> Option<u64>;
    /// The entries of a directory, sorted by name.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>>;
    /// Removes a file (missing is not an error).
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Creates a folder and its parents.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Waits for an exclusive lock on `path` (created if missing), held
    /// until the guard is dropped: serialises read-modify-write of a file
    /// between noot processes.
    fn lock(&self, path: &Path) -> io::Result<FileLock> {
        let _ = path;
        Ok(FileLock::none())
    }
}

/// Child processes. See [`crate::engine::procs`].
pub trait Procs: Send + Sync {
    /// Starts a process in a new process group.
    fn spawn(&self, request: &SpawnRequest) -> io::Result<ProcHandle>;
    /// Waits for it; with a deadline, kills its group when the deadline passes.
    fn wait(&self, handle: ProcHandle, deadline_ms: Option<u64>) -> io::Result<ProcResult>;
    /// Kills its process group now.
    fn kill_group(&self, handle: ProcHandle) -> io::Result<()>;
    /// Kills every process group still running (Ctrl-C, fatal errors).
    fn kill_all(&self) {}
}

/// Where structured events go.
pub trait EventSink: Send + Sync {
    /// Emits one event.
    fn emit(&self, event: &Event);
}

/// Where progress goes.
pub trait ProgressSink: Send + Sync {
    /// `done` of `total` units finished; `message` says what runs now.
    fn progress(&self, done: u64, total: u64, message: &str);
    /// The work is over: clear the progress line.
    fn finish(&self);
}

/// Every port, shared.
#[derive(Clone)]
pub struct Ports {
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Environment.
    pub env: Arc<dyn Env>,
    /// Files.
    pub fs: Arc<dyn Fs>,
    /// Child processes.
    pub procs: Arc<dyn Procs>,
    /// Events.
    pub events: Arc<dyn EventSink>,
    /// Progress.
    pub progress: Arc<dyn ProgressSink>,
}

impl fmt::Debug for Ports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ports { … }")
    }
}

impl Ports {
    /// The real machine, with the given event and progress sinks.
    pub fn real(events: Arc<dyn EventSink>, progress: Arc<dyn ProgressSink>) -> Self {
        Self {
            clock: Arc::new(SystemClock::new()),
            env: Arc::new(ProcessEnv),
            fs: Arc::new(RealFs),
            procs: Arc::new(crate::engine::procs::RealProcs::default()),
            events,
            progress,
        }
    }
}

/// The system clock.
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose monotonic origin is now.
    pub fn new() -> Self {
        Self { origin: Instant::now() }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now_unix_ms(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }

    fn monotonic_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }
}

/// The environment of this process.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect()
    }

    fn current_dir(&self) -> io::Result<PathBuf> {
        std::env::current_dir()
    }
}

/// The real file system.
pub struct RealFs;

impl Fs for RealFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, data)
    }

    fn replace_atomic(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        crate::engine::store::write_atomic(path, data)
    }

    fn append_synced(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        crate::engine::store::append_synced(path, data)
    }

    fn kind(&self, path: &Path) -> Option<PathKind> {
        let meta = std::fs::metadata(path).ok()?;
        Some(if meta.is_file() {
            PathKind::File
        } else if meta.is_dir() {
            PathKind::Dir
        } else {
            PathKind::Other
        })
    }

    fn len(&self, path: &Path) -> Option<u64> {
        std::fs::metadata(path).ok().map(|m| m.len())
    }

    fn lock(&self, path: &Path) -> io::Result<FileLock> {
        FileLock::acquire(path)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        let mut entries = std::fs::read_dir(path)?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<io::Result<Vec<_>>>()?;
        entries.sort();
        Ok(entries)
    }
}

/// An event sink that drops everything.
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _event: &Event) {}
}

/// A progress sink that shows nothing.
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn progress(&self, _done: u64, _total: u64, _message: &str) {}
    fn finish(&self) {}
}
