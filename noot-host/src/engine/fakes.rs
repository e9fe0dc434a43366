//! Fakes of every port, for unit tests: no disk, no fork, no real time.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::engine::events::Event;
use crate::engine::ports::{Clock, Env, EventSink, Fs, PathKind, Ports, Procs, ProgressSink};
use crate::engine::procs::{ProcHandle, ProcResult, ProcStatus, SpawnRequest};
use crate::engine::render::SharedWriter;

/// A clock that moves only when told.
#[derive(Default)]
pub struct FakeClock {
    now: AtomicU64,
}

impl FakeClock {
    /// Moves time forward.
    pub fn advance(&self, ms: u64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_unix_ms(&self) -> u64 {
        1_700_000_000_000 + self.now.load(Ordering::SeqCst)
    }

    fn monotonic_ms(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }
}

/// An environment from a map.
#[derive(Default)]
pub struct FakeEnv {
    /// The variables.
    pub vars: BTreeMap<String, String>,
    /// The working directory.
    pub cwd: PathBuf,
}

impl Env for FakeEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    fn vars(&self) -> Vec<(String, String)> {
        self.vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn current_dir(&self) -> io::Result<PathBuf> {
        Ok(self.cwd.clone())
    }
}

/// Files in memory. Directories exist implicitly above every file.
#[derive(Default)]
pub struct MemFs {
    files: Mutex<BTreeMap<PathBuf, Vec<u8>>>,
    atomic_writes: AtomicUsize,
}

impl MemFs {
    /// Adds a file.
    pub fn insert(&self, path: impl Into<PathBuf>, content: impl Into<Vec<u8>>) {
        self.files.lock().unwrap_or_else(|e| e.into_inner()).insert(path.into(), content.into());
    }

    /// How many files were replaced atomically.
    pub fn atomic_writes(&self) -> usize {
        self.atomic_writes.load(Ordering::SeqCst)
    }

    /// A file's content as text.
    pub fn text(&self, path: &str) -> Option<String> {
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files.get(Path::new(path)).map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

impl Fs for MemFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files.get(path).cloned().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not found"))
    }

    fn write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.insert(path, data.to_vec());
        Ok(())
    }

    fn replace_atomic(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.atomic_writes.fetch_add(1, Ordering::SeqCst);
        self.write(path, data)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.files.lock().unwrap_or_else(|e| e.into_inner()).remove(path);
        Ok(())
    }

    fn create_dir_all(&self, _path: &Path) -> io::Result<()> {
        // Folders exist implicitly in memory.
        Ok(())
    }

    fn append_synced(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files.entry(path.to_path_buf()).or_default().extend_from_slice(data);
        Ok(())
    }

    fn kind(&self, path: &Path) -> Option<PathKind> {
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        if files.contains_key(path) {
            Some(PathKind::File)
        } else if files.keys().any(|f| f.starts_with(path)) {
            Some(PathKind::Dir)
        } else {
            None
        }
    }

    fn len(&self, path: &Path) -> Option<u64> {
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files.get(path).map(|b| b.len() as u64)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let mut entries: Vec<PathBuf> = files
            .keys()
            .filter_map(|f| f.strip_prefix(path).ok()?.components().next().map(|c| path.join(c)))
            .collect();
        entries.dedup();
        if entries.is_empty() && !files.keys().any(|f| f.starts_with(path)) {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such directory"));
        }
        Ok(entries)
    }
}

/// Processes that exit at once with a scripted result, recording requests.
#[derive(Default)]
pub struct FakeProcs {
    /// Every request, in order.
    pub requests: Mutex<Vec<SpawnRequest>>,
}

impl Procs for FakeProcs {
    fn spawn(&self, request: &SpawnRequest) -> io::Result<ProcHandle> {
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        requests.push(request.clone());
        Ok(ProcHandle(requests.len() as u64 - 1))
    }

    fn wait(&self, _handle: ProcHandle, _deadline_ms: Option<u64>) -> io::Result<ProcResult> {
        Ok(ProcResult {
            status: ProcStatus::Exited(0),
            stdout: Vec::new(),
            stderr: Vec::new(),
            stdout_truncated: false,
            stderr_truncated: false,
            elapsed_ms: 0,
            stdout_digest: *blake3::hash(b"").as_bytes(),
        })
    }

    fn kill_group(&self, _handle: ProcHandle) -> io::Result<()> {
        Ok(())
    }
}

/// Keeps every event.
#[derive(Default)]
pub struct RecordingEvents {
    events: Mutex<Vec<Event>>,
}

impl RecordingEvents {
    /// The names of the events so far.
    pub fn names(&self) -> Vec<&'static str> {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).iter().map(Event::name).collect()
    }

    /// The events so far.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl EventSink for RecordingEvents {
    fn emit(&self, event: &Event) {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).push(event.clone());
    }
}

/// Keeps every progress update.
#[derive(Default)]
pub struct RecordingProgress {
    /// `(done, total)` pairs.
    pub updates: Mutex<Vec<(u64, u64)>>,
}

impl ProgressSink for RecordingProgress {
    fn progress(&self, done: u64, total: u64, _message: &str) {
        self.updates.lock().unwrap_or_else(|e| e.into_inner()).push((done, total));
    }

    fn finish(&self) {}
}

/// A writer into memory that can be read back.
#[derive(Clone, Default)]
pub struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufferWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl SharedBuffer {
    /// A writer appending to this buffer.
    pub fn writer(&self) -> SharedWriter {
        Arc::new(Mutex::new(BufferWriter(self.0.clone())))
    }

    /// Everything written, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

/// Ports made of fakes.
pub fn fake_ports() -> Ports {
    Ports {
        clock: Arc::new(FakeClock::default()),
        env: Arc::new(FakeEnv::default()),
        fs: Arc::new(MemFs::default()),
        procs: Arc::new(FakeProcs::default()),
        events: Arc::new(RecordingEvents::default()),
        progress: Arc::new(RecordingProgress::default()),
    }
}
