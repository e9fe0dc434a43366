//! Host ports: the only way a plugin touches the outside world.
//!
//! The host passes a [`HostPorts`] to every constructor. Going through the
//! ports (instead of `std::fs` or `std::process`) is what lets the host own
//! every child process (so Ctrl-C or a timeout kills whole process groups),
//! write every file atomically, and run plugins against fakes in tests.

use abi_stable::std_types::{RBox, ROption, RResult, RSlice, RStr, RString, RVec, Tuple2};
use abi_stable::{StableAbi, sabi_trait};

use crate::PluginError;

/// Wall-clock and monotonic time.
#[sabi_trait]
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_unix_ms(&self) -> u64;

    /// Milliseconds on a monotonic clock with an arbitrary origin.
    #[sabi(last_prefix_field)]
    fn monotonic_ms(&self) -> u64;
}

/// The process environment, as the host chooses to show it.
#[sabi_trait]
pub trait Env: Send + Sync {
    /// The value of one variable, if set and valid UTF-8.
    fn var(&self, name: RStr<'_>) -> ROption<RString>;

    /// Every variable that is valid UTF-8.
    fn vars(&self) -> RVec<Tuple2<RString, RString>>;

    /// The working directory of the session.
    #[sabi(last_prefix_field)]
    fn current_dir(&self) -> RString;
}

/// Files.
#[sabi_trait]
pub trait Fs: Send + Sync {
    /// The whole content of a file.
    fn read(&self, path: RStr<'_>) -> RResult<RVec<u8>, PluginError>;

    /// Writes a file in place (creating parent folders). Use
    /// [`Fs::replace_atomic`] for anything a reader may see half-written.
    fn write(&self, path: RStr<'_>, data: RSlice<'_, u8>) -> RResult<(), PluginError>;

    /// Writes a temporary file beside `path`, flushes and syncs it, renames
    /// it over `path`, and syncs the folder: readers see the old content or
    /// the new one, never a mix, even after a crash.
    #[sabi(last_prefix_field)]
    fn replace_atomic(&self, path: RStr<'_>, data: RSlice<'_, u8>) -> RResult<(), PluginError>;
}

/// A process to start through [`Procs::spawn`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Default)]
pub struct SpawnSpec {
    /// The program, looked up on `PATH` if it has no slash.
    pub program: RString,
    /// Its arguments.
    pub args: RVec<RString>,
    /// Variables to set (after `clear_env`, before `env_remove`).
    pub env: RVec<Tuple2<RString, RString>>,
    /// Variables to remove.
    pub env_remove: RVec<RString>,
    /// Start from an empty environment.
    pub clear_env: bool,
    /// The working directory; the host's if `None`.
    pub cwd: ROption<RString>,
    /// Bytes written to the child's stdin, which is then closed. Without
    /// them stdin is `/dev/null`.
    pub stdin: ROption<RVec<u8>>,
    /// How many bytes of stdout and of stderr to keep (each); the rest is
    /// read and dropped so the child never blocks on a full pipe.
    pub output_cap_bytes: u64,
    /// A CPU-time limit (`RLIMIT_CPU`) in seconds, a second guard behind the
    /// wall-clock deadline.
    pub cpu_limit_secs: ROption<u64>,
}

/// A handle to a process started by [`Procs::spawn`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcId(pub u64);

/// How a process ended.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// It exited; `code` is its exit status.
    Exited,
    /// A signal ended it; `code` is the signal number.
    Signaled,
    /// The deadline passed; the host killed its whole process group.
    TimedOut,
}

/// What [`Procs::wait`] returns.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct ProcExit {
    /// How it ended.
    pub kind: ExitKind,
    /// The exit status or signal number (`-1` after a timeout).
    pub code: i32,
    /// Captured stdout, at most `output_cap_bytes`.
    pub stdout: RVec<u8>,
    /// Captured stderr, at most `output_cap_bytes`.
    pub stderr: RVec<u8>,
    /// Whether stdout went past the cap.
    pub stdout_truncated: bool,
    /// Whether stderr went past the cap.
    pub stderr_truncated: bool,
    /// Wall-clock time from spawn to exit.
    pub elapsed_ms: u64,
}

/// Child processes, each in a process group of its own.
#[sabi_trait]
pub trait Procs: Send + Sync {
    /// Starts a process in a new process group.
    fn spawn(&self, spec: &SpawnSpec) -> RResult<ProcId, PluginError>;

    /// Waits for the process to end. With a deadline (milliseconds from
    /// now), kills its whole process group when the deadline passes and
    /// reports [`ExitKind::TimedOut`]. Either way, nothing of the group is
    /// left running when this returns.
    fn wait(&self, id: ProcId, deadline_ms: ROption<u64>) -> RResult<ProcExit, PluginError>;

    /// Kills the process group at once (SIGKILL). Waiting afterwards still
    /// collects the output.
    #[sabi(last_prefix_field)]
    fn kill_group(&self, id: ProcId) -> RResult<(), PluginError>;
}

/// Structured events for the host's renderers (human or JSON).
#[sabi_trait]
pub trait EventSink: Send + Sync {
    /// Emits an event of `kind` (for example `mutant_finished`) whose fields
    /// are a JSON object in `payload_json`.
    #[sabi(last_prefix_field)]
    fn emit(&self, kind: RStr<'_>, payload_json: RStr<'_>);
}

/// Progress of long work, rendered by the host (a bar on a TTY, nothing otherwise).
#[sabi_trait]
pub trait ProgressSink: Send + Sync {
    /// `done` of `total` units are finished; `message` says what is running.
    #[sabi(last_prefix_field)]
    fn progress(&self, done: u64, total: u64, message: RStr<'_>);
}

/// Boxed [`Clock`].
pub type ClockBox = Clock_TO<'static, RBox<()>>;
/// Boxed [`Env`].
pub type EnvBox = Env_TO<'static, RBox<()>>;
/// Boxed [`Fs`].
pub type FsBox = Fs_TO<'static, RBox<()>>;
/// Boxed [`Procs`].
pub type ProcsBox = Procs_TO<'static, RBox<()>>;
/// Boxed [`EventSink`].
pub type EventSinkBox = EventSink_TO<'static, RBox<()>>;
/// Boxed [`ProgressSink`].
pub type ProgressSinkBox = ProgressSink_TO<'static, RBox<()>>;

/// Every port, handed to each plugin constructor.
#[repr(C)]
#[derive(StableAbi)]
pub struct HostPorts {
    /// Time.
    pub clock: ClockBox,
    /// Environment.
    pub env: EnvBox,
    /// Files.
    pub fs: FsBox,
    /// Child processes.
    pub procs: ProcsBox,
    /// Structured events.
    pub events: EventSinkBox,
    /// Progress.
    pub progress: ProgressSinkBox,
}
