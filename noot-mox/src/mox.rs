//! [`Mox`]: the controller a test (or `noot mox`) holds.
//!
//! It makes a private folder (mode 0700) for its socket and shims, serves
//! calls on a background thread, and gives the code under test an
//! environment with the shim folder first on `PATH`. It never changes the
//! process's own environment: tests in parallel threads (`cargo test`) and
//! processes (nextest, pytest-xdist) each hold their own `Mox` and never
//! collide, and there is nothing to restore. Dropping it stops the server
//! and removes the folder, on success, failure or panic alike.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::double::DoubleKind;
use crate::fixture::Fixture;
use crate::handle::Double;
use crate::journal::Call;
use crate::protocol::{Reply, SOCKET_ENV, TIMEOUT_ENV};
use crate::replay::{Mode, ReplaySet};
use crate::report;
use crate::scrubbing::FixtureScrubber;
use crate::server::{Server, VerifyRequested};
use crate::shims::{Backend, ShimBackend, find_launcher, path_without, valid_command};
use crate::state::{Shared, State, lock};
use crate::verify::VerifyError;

/// Why a controller could not start or a double could not be made.
#[derive(Debug, thiserror::Error)]
pub enum MoxError {
    /// The private folder or socket could not be made.
    #[error("noot-mox: cannot set up the controller: {0}")]
    Setup(String),
    /// The launcher is missing.
    #[error("noot-mox: {0}")]
    Launcher(String),
    /// A fixture could not be read or written.
    #[error("noot-mox: {0}")]
    Fixture(#[from] crate::fixture::FixtureError),
    /// The backend could not make a shim.
    #[error("noot-mox: shim backend `{backend}`: {message}")]
    Shim {
        /// The backend.
        backend: String,
        /// What it said.
        message: String,
    },
    /// A command name that cannot be a shim.
    #[error("noot-mox: {0}")]
    Command(String),
}

/// Options for [`Mox`].
#[derive(Clone, Default)]
pub struct MoxBuilder {
    scrubber: Option<Arc<dyn FixtureScrubber>>,
    review: bool,
    record_allowlist: Vec<String>,
    record_prefixes: Vec<(String, String)>,
    backend: Option<Backend>,
    launcher: Option<PathBuf>,
    max_journal_entries: Option<usize>,
    timeout: Option<Duration>,
    path: Option<OsString>,
}

impl std::fmt::Debug for MoxBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MoxBuilder")
            .field("backend", &self.backend)
            .field("launcher", &self.launcher)
            .finish_non_exhaustive()
    }
}

impl MoxBuilder {
    /// Scrubs recordings before they are saved, and live calls before they
    /// are compared with a fixture (default: noot's `default` scrubber with
    /// the `default-scrubber` feature, else none).
    pub fn scrubber(mut self, scrubber: Arc<dyn FixtureScrubber>) -> Self {
        self.scrubber = Some(scrubber);
        self
    }

    /// Also write `F.review.json` beside each recorded fixture `F.json`.
    pub fn review(mut self, review: bool) -> Self {
        self.review = review;
        self
    }

    /// Per command, the prefix of the variables its recordings keep; these
    /// replace noot's default for that command (`git` = `GIT_`, …).
    pub fn record_prefixes(mut self, prefixes: impl IntoIterator<Item = (String, String)>) -> Self {
        self.record_prefixes = prefixes.into_iter().collect();
        self
    }

    /// Environment variables every recording keeps (besides the command's
    /// prefix and what a double's `with_env` names; never secrets).
    pub fn record_allowlist(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.record_allowlist = names.into_iter().map(Into::into).collect();
        self
    }

    /// The shim backend (default: `$NOOT_SHIM_BACKEND`, else `auto`).
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = Some(backend);
        self
    }

    /// The `noot-shim` binary (default: found by [`find_launcher`]).
    pub fn launcher(mut self, path: impl Into<PathBuf>) -> Self {
        self.launcher = Some(path.into());
        self
    }

    /// Keep at most this many journal entries (oldest dropped first).
    pub fn max_journal_entries(mut self, limit: usize) -> Self {
        self.max_journal_entries = Some(limit.max(1));
        self
    }

    /// How long shims keep trying to reach the controller (`NOOT_MOX_TIMEOUT`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The `PATH` the code under test would have had (default: this process's).
    pub fn path(mut self, path: impl Into<OsString>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Starts the controller.
    pub fn build(self) -> Result<Mox, MoxError> {
        let dir = private_dir().map_err(|e| MoxError::Setup(e.to_string()))?;
        let backend = match self.backend {
            Some(backend) => backend,
            None => Backend::from_env().map_err(MoxError::Setup)?,
        };
        let backend = backend.resolve(dir.path()).map_err(|message| MoxError::Shim {
            backend: format!("{backend:?}").to_lowercase(),
            message,
        })?;
        let launcher = match self.launcher {
            Some(path) => path,
            None => find_launcher().map_err(MoxError::Launcher)?,
        };
        let path = self.path.or_else(|| std::env::var_os("PATH")).unwrap_or_default();
        let lookup = path_without(&path, dir.path());
        let base_env: BTreeMap<String, String> = std::env::vars_os()
            .map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned()))
            .collect();
        let shared: Shared = Arc::new(Mutex::new(State::new(
            self.max_journal_entries,
            lookup.to_string_lossy().into_owned(),
            base_env,
        )));
        let scrubber = match self.scrubber {
            Some(scrubber) => Some(scrubber),
            None => default_scrubber()?,
        };
        {
            let mut state = lock(&shared);
            // Named now, on the test's thread: saving may happen on the
            // server's (a verify request over the socket).
            state.recorded_by = Some(crate::recording::recorded_by());
            state.scrubber = scrubber;
            state.record_env.allowlist = self.record_allowlist;
            for (command, prefix) in self.record_prefixes {
                state.record_env.prefixes.retain(|(c, _)| *c != command);
                state.record_env.prefixes.push((command, prefix));
            }
        }
        let socket = dir.path().join(crate::shims::SOCKET_NAME);
        let shims = Arc::new(ShimFolder {
            dir: dir.path().to_path_buf(),
            backend: backend.clone(),
            launcher,
            made: Mutex::new(BTreeSet::new()),
        });
        let verify_state = shared.clone();
        let review = self.review;
        let configure_state = shared.clone();
        let configure_shims = shims.clone();
        let server = Server::start(
            &socket,
            shared.clone(),
            Arc::new(move || {
                let outcome = crate::recording::verify_and_save(&verify_state, review);
                let state = lock(&verify_state);
                Reply::Verified {
                    ok: outcome.is_ok(),
                    report: report::human(&outcome),
                    document: report::document(&state, &outcome),
                }
            }),
            Arc::new(move |index, double| {
                match crate::spec::configure(
                    &configure_state,
                    &|command| configure_shims.ensure(command).map_err(|e| e.to_string()),
                    index,
                    double,
                ) {
                    Ok(index) => Reply::Configured { index },
                    Err(message) => {
                        Reply::Error { message: format!("noot-mox: {message}"), exit_code: 2 }
                    }
                }
            }),
        )
        .map_err(|e| MoxError::Setup(format!("cannot listen on {}: {e}", socket.display())))?;
        Ok(Mox {
            shared,
            server: Some(server),
            socket,
            backend,
            shims,
            path,
            timeout: self.timeout,
            verified: AtomicBool::new(false),
            review: self.review,
            dir: Some(dir),
        })
    }
}

#[cfg(feature = "default-scrubber")]
fn default_scrubber() -> Result<Option<Arc<dyn FixtureScrubber>>, MoxError> {
    Ok(Some(Arc::new(crate::scrubbing::LazyDefaultScrubber::default())))
}

#[cfg(not(feature = "default-scrubber"))]
fn default_scrubber() -> Result<Option<Arc<dyn FixtureScrubber>>, MoxError> {
    Ok(None)
}

/// The shim folder: makes each command's shim once.
struct ShimFolder {
    dir: PathBuf,
    backend: Arc<dyn ShimBackend>,
    launcher: PathBuf,
    made: Mutex<BTreeSet<String>>,
}

impl ShimFolder {
    fn ensure(&self, command: &str) -> Result<(), MoxError> {
        valid_command(command).map_err(MoxError::Command)?;
        let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        if !made.contains(command) {
            self.backend.make(&self.dir, &self.launcher, command).map_err(|message| {
                MoxError::Shim { backend: self.backend.name().to_string(), message }
            })?;
            made.insert(command.to_string());
        }
        Ok(())
    }
}

/// A private folder for the socket and shims. Under `$TMPDIR` unless that
/// path is so long the socket's would pass the 108-byte limit of
/// `sockaddr_un`, then under `/tmp`.
fn private_dir() -> std::io::Result<tempfile::TempDir> {
    let builder = {
        let mut b = tempfile::Builder::new();
        b.prefix("noot-mox-");
        b
    };
    // sockaddr_un holds 108 bytes; the folder's name and `/mox.sock` take 25.
    const ROOM_FOR_BASE: usize = 108 - 25 - 8;
    let base = std::env::temp_dir();
    let dir = if base.as_os_str().len() <= ROOM_FOR_BASE {
        builder.tempdir_in(&base)?
    } else {
        builder.tempdir_in("/tmp")?
    };
    // mkdtemp makes it 0700 already; say so explicitly in case a umask or
    // a platform differs.
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    Ok(dir)
}

/// A controller of command doubles. See the crate documentation.
pub struct Mox {
    shared: Shared,
    server: Option<Server>,
    socket: PathBuf,
    backend: Arc<dyn ShimBackend>,
    shims: Arc<ShimFolder>,
    path: OsString,
    timeout: Option<Duration>,
    verified: AtomicBool,
    review: bool,
    dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Mox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mox")
            .field("socket", &self.socket)
            .field("backend", &self.backend.name())
            .finish()
    }
}

impl Mox {
    /// A controller with the default options.
    pub fn new() -> Result<Self, MoxError> {
        MoxBuilder::default().build()
    }

    /// Options.
    pub fn builder() -> MoxBuilder {
        MoxBuilder::default()
    }

    /// A double of `kind` for `command`, with its shim made.
    pub fn try_double(&self, kind: DoubleKind, command: &str) -> Result<Double, MoxError> {
        self.ensure_shim(command)?;
        let index = lock(&self.shared).add(kind, command);
        Ok(Double::new(self.shared.clone(), index))
    }

    /// Makes `command`'s shim unless it exists.
    fn ensure_shim(&self, command: &str) -> Result<(), MoxError> {
        self.shims.ensure(command)
    }

    fn double(&self, kind: DoubleKind, command: &str) -> Double {
        match self.try_double(kind, command) {
            Ok(double) => double,
            Err(e) => panic!("{e}"),
        }
    }

    /// A stub: answers, never verified.
    ///
    /// # Panics
    /// When `command` is not a plain command name or its shim cannot be
    /// made (use [`Mox::try_double`] to handle that).
    pub fn stub(&self, command: &str) -> Double {
        self.double(DoubleKind::Stub, command)
    }

    /// A mock: strict; expected exactly once unless told otherwise.
    ///
    /// # Panics
    /// As [`Mox::stub`].
    pub fn mock(&self, command: &str) -> Double {
        self.double(DoubleKind::Mock, command)
    }

    /// A spy: answers (or passes through) and records.
    ///
    /// # Panics
    /// As [`Mox::stub`].
    pub fn spy(&self, command: &str) -> Double {
        self.double(DoubleKind::Spy, command)
    }

    /// The private folder holding the shims and the socket.
    pub fn shim_dir(&self) -> &Path {
        self.dir.as_ref().map_or_else(|| Path::new(""), |d| d.path())
    }

    /// The socket shims talk to.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// The backend in use.
    pub fn backend_name(&self) -> &str {
        self.backend.name()
    }

    /// The variables the code under test needs: `PATH` with the shim folder
    /// first, the socket, and the shims' timeout if one was set.
    pub fn env(&self) -> Vec<(OsString, OsString)> {
        let mut path = OsString::from(self.shim_dir());
        if !self.path.is_empty() {
            path.push(":");
            path.push(&self.path);
        }
        let mut vars = vec![
            (OsString::from("PATH"), path),
            (OsString::from(SOCKET_ENV), self.socket.clone().into_os_string()),
        ];
        if let Some(timeout) = self.timeout {
            vars.push((
                OsString::from(TIMEOUT_ENV),
                OsString::from(timeout.as_secs_f64().to_string()),
            ));
        }
        vars
    }

    /// Adds [`Mox::env`] to `command`.
    pub fn apply<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        command.envs(self.env())
    }

    /// A `Command` for `program` with [`Mox::env`] applied. `program` is
    /// looked up on the shimmed `PATH` when it has no slash, so a doubled
    /// command can be run directly.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let program = program.as_ref();
        let resolved = if program.as_encoded_bytes().contains(&b'/') {
            PathBuf::from(program)
        } else {
            let path = self
                .env()
                .into_iter()
                .find(|(k, _)| k == "PATH")
                .map(|(_, v)| v)
                .unwrap_or_default();
            std::env::split_paths(&path)
                .map(|dir| dir.join(program))
                .find(|p| p.exists())
                .unwrap_or_else(|| PathBuf::from(program))
        };
        let mut command = Command::new(resolved);
        self.apply(&mut command);
        command
    }

    /// Runs `body` and returns what it returns: a scope that reads well in
    /// a test (`mox.run(|mox| my_code(mox.command("deploy.sh")))`).
    pub fn run<T>(&self, body: impl FnOnce(&Self) -> T) -> T {
        body(self)
    }

    /// A copy of the journal.
    pub fn journal(&self) -> Vec<Call> {
        lock(&self.shared).journal.entries().cloned().collect()
    }

    /// Replays fixture `path`: a call of one of its commands that no
    /// double accepts is answered by a recording (see [`crate::replay`]);
    /// verify reports recordings never replayed.
    pub fn replay(&self, path: impl AsRef<Path>, mode: Mode) -> Result<(), MoxError> {
        let path = path.as_ref();
        let (fixture, _) = Fixture::load(path)?;
        let mut commands: Vec<&String> = fixture.recordings.iter().map(|r| &r.command).collect();
        commands.sort();
        commands.dedup();
        for command in commands {
            self.ensure_shim(command)?;
        }
        let mut state = lock(&self.shared);
        let scrubber = state.scrubber.clone();
        state.replays.push(ReplaySet::new(
            path.display().to_string(),
            fixture,
            mode,
            None,
            scrubber,
        ));
        Ok(())
    }

    /// Scrubs and writes every fixture recorded so far (atomically, with a
    /// review file when asked for); returns their paths. `verify` does it too.
    pub fn save_recordings(&self) -> Result<Vec<PathBuf>, MoxError> {
        crate::recording::save_recordings(&self.shared, self.review)
    }

    /// Checks every expectation, and saves what was recorded; the error
    /// lists every failure.
    pub fn verify(&self) -> Result<(), VerifyError> {
        self.verified.store(true, Ordering::SeqCst);
        crate::recording::verify_and_save(&self.shared, self.review)
    }

    /// The journal and the verdict as one JSON document (`schema_version` 1).
    pub fn report_document(&self) -> serde_json::Value {
        let state = lock(&self.shared);
        let outcome = state.verify();
        report::document(&state, &outcome)
    }

    /// The same document for an outcome [`Mox::verify`] already gave.
    pub fn document_for(&self, outcome: &Result<(), VerifyError>) -> serde_json::Value {
        report::document(&lock(&self.shared), outcome)
    }

    /// Raised when a harness sends a verify request over the socket.
    pub fn verify_requested(&self) -> Arc<VerifyRequested> {
        match &self.server {
            Some(server) => server.verify_requested.clone(),
            None => Arc::new(VerifyRequested::default()),
        }
    }

    /// Names who records, in the metadata of the fixtures saved.
    pub fn set_recorded_by(&self, who: impl Into<String>) {
        lock(&self.shared).recorded_by = Some(who.into());
    }

    /// Marks the controller as verified by someone else (a harness that
    /// asked over the socket), so dropping it is not an error.
    pub fn mark_verified(&self) {
        self.verified.store(true, Ordering::SeqCst);
    }

    /// Stops answering: the socket goes, the shims stay, and a shim called
    /// now exits 125 at once saying its controller has stopped, instead of
    /// falling through to the real command on `PATH` as it would once the
    /// folder is gone. [`Mox::close`] (or dropping) removes the folder.
    pub fn stop_server(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.stop();
        }
    }

    /// Stops the server and removes the folder now (dropping does the same).
    pub fn close(mut self) {
        self.shutdown();
        self.verified.store(true, Ordering::SeqCst);
    }

    fn shutdown(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.stop();
        }
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }
}

impl Drop for Mox {
    fn drop(&mut self) {
        self.shutdown();
        if self.verified.load(Ordering::SeqCst) || std::thread::panicking() {
            return;
        }
        let outcome = lock(&self.shared).verify();
        let detail = match outcome {
            Ok(()) => "(verification would have passed)".to_string(),
            Err(e) => e.to_string(),
        };
        panic!(
            "noot-mox: a Mox was dropped without verify(); call `mox.verify()?` at the end of the test\n{detail}"
        );
    }
}
