//! Child processes, supervised.
//!
//! Every child starts in a process group of its own, so a deadline, an
//! error or Ctrl-C kills the child *and everything it started* with one
//! `killpg`. Output is read on background threads into buffers capped at a
//! byte limit; the rest is read and dropped so a chatty child never blocks
//! on a full pipe. A CPU-time rlimit is a second guard behind the
//! wall-clock deadline. A caller may also have stdout copied live to a
//! writer as it arrives (an experiment's primary branch streams to noot's
//! own stdout), keep the tail instead of the head, and compare whole
//! outputs through a digest of everything read, kept or not.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::engine::ports::Procs;

/// What to start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpawnRequest {
    /// The program (looked up on `PATH` if it has no slash).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Start from an empty environment.
    pub clear_env: bool,
    /// Variables to set.
    pub env: Vec<(String, String)>,
    /// Variables to remove.
    pub env_remove: Vec<String>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
    /// Bytes for stdin (then closed); `None` gives `/dev/null`.
    pub stdin: Option<Vec<u8>>,
    /// Bytes of stdout and of stderr to keep, each.
    pub output_cap_bytes: usize,
    /// `RLIMIT_CPU` in seconds.
    pub cpu_limit_secs: Option<u64>,
    /// Which end of each output the cap keeps.
    pub keep: Keep,
    /// Where stdout is also copied, chunk by chunk, as it arrives.
    pub stdout_live: Option<LiveOutput>,
    /// Where stderr is also copied, chunk by chunk, as it arrives.
    pub stderr_live: Option<LiveOutput>,
}

/// Which bytes of an output the cap keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Keep {
    /// The first bytes (a test's failure report starts at the top).
    #[default]
    Head,
    /// The last bytes (a program's final words explain how it ended).
    Tail,
}

/// A shared writer that receives a child's output live.
#[derive(Clone)]
pub struct LiveOutput(pub Arc<Mutex<dyn Write + Send>>);

impl fmt::Debug for LiveOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LiveOutput")
    }
}

impl PartialEq for LiveOutput {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for LiveOutput {}

/// A started process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcHandle(pub u64);

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcStatus {
    /// Exited with this code.
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
    /// Its deadline passed and its group was killed.
    TimedOut,
}

/// What a finished process left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcResult {
    /// How it ended.
    pub status: ProcStatus,
    /// Captured stdout (capped).
    pub stdout: Vec<u8>,
    /// Captured stderr (capped).
    pub stderr: Vec<u8>,
    /// Whether stdout went past the cap.
    pub stdout_truncated: bool,
    /// Whether stderr went past the cap.
    pub stderr_truncated: bool,
    /// Wall-clock time from spawn to exit.
    pub elapsed_ms: u64,
    /// BLAKE3 of the whole stdout, kept or not, so outputs past the cap
    /// still compare exactly.
    pub stdout_digest: [u8; 32],
}

struct Capture {
    kept: Vec<u8>,
    truncated: bool,
    digest: [u8; 32],
}

impl Capture {
    fn lost() -> Self {
        Self { kept: Vec::new(), truncated: true, digest: [0; 32] }
    }
}

struct Running {
    child: Child,
    pgid: i32,
    started: Instant,
    stdout: Option<JoinHandle<Capture>>,
    stderr: Option<JoinHandle<Capture>>,
}

/// Real processes.
#[derive(Default)]
pub struct RealProcs {
    next: AtomicU64,
    running: Mutex<HashMap<u64, Running>>,
    /// Process groups alive, including those being waited for (which have
    /// left `running`): what `kill_group` and `kill_all` reach.
    groups: Mutex<HashMap<u64, i32>>,
}

/// How long to wait for output readers after the group is dead: a
/// grandchild that left the group may still hold a pipe open.
const READER_GRACE: Duration = Duration::from_secs(2);

fn read_capped(
    mut source: impl Read + Send + 'static,
    cap: usize,
    keep: Keep,
    live: Option<LiveOutput>,
) -> JoinHandle<Capture> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut truncated = false;
        let mut hasher = blake3::Hasher::new();
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match source.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    let bytes = &chunk[..n];
                    hasher.update(bytes);
                    if let Some(live) = &live {
                        // A closed stdout (noot piped into `head`) must not
                        // stop the capture the log needs.
                        let mut out = live.0.lock().unwrap_or_else(|e| e.into_inner());
                        let _ = out.write_all(bytes).and_then(|()| out.flush());
                    }
                    match keep {
                        Keep::Head => {
                            let room = cap.saturating_sub(kept.len());
                            kept.extend_from_slice(&bytes[..n.min(room)]);
                            truncated |= n > room;
                        }
                        Keep::Tail => {
                            kept.extend_from_slice(bytes);
                            if kept.len() > cap {
                                kept.drain(..kept.len() - cap);
                                truncated = true;
                            }
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        Capture { kept, truncated, digest: *hasher.finalize().as_bytes() }
    })
}

fn join_with_grace(handle: Option<JoinHandle<Capture>>, until: Instant) -> Capture {
    let Some(handle) = handle else {
        return Capture {
            kept: Vec::new(),
            truncated: false,
            digest: *blake3::hash(b"").as_bytes(),
        };
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(handle.join().unwrap_or_else(|_| Capture::lost()));
    });
    rx.recv_timeout(until.saturating_duration_since(Instant::now()))
        .unwrap_or_else(|_| Capture::lost())
}

fn kill_process_group(pgid: i32) {
    // SAFETY: killpg has no memory-safety preconditions; ESRCH (group gone)
    // is the expected outcome when everything already exited.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
}

impl Procs for RealProcs {
    fn spawn(&self, request: &SpawnRequest) -> io::Result<ProcHandle> {
        let mut command = Command::new(&request.program);
        command.args(&request.args);
        if request.clear_env {
            command.env_clear();
        }
        command.envs(request.env.iter().map(|(k, v)| (k, v)));
        for name in &request.env_remove {
            command.env_remove(name);
        }
        if let Some(cwd) = &request.cwd {
            command.current_dir(cwd);
        }
        command
            .stdin(if request.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if let Some(secs) = request.cpu_limit_secs {
            // SAFETY: the closure runs between fork and exec and only calls
            // setrlimit, which is async-signal-safe.
            unsafe {
                command.pre_exec(move || {
                    let limit = libc::rlimit { rlim_cur: secs, rlim_max: secs.saturating_add(1) };
                    if libc::setrlimit(libc::RLIMIT_CPU, &limit) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = command.spawn()?;
        let pgid = i32::try_from(child.id()).map_err(|_| io::Error::other("pid out of range"))?;
        if let (Some(bytes), Some(mut stdin)) = (request.stdin.clone(), child.stdin.take()) {
            // A child that exits without reading its stdin is not an error.
            std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
        }
        let cap = request.output_cap_bytes;
        let keep = request.keep;
        let stdout =
            child.stdout.take().map(|s| read_capped(s, cap, keep, request.stdout_live.clone()));
        let stderr =
            child.stderr.take().map(|s| read_capped(s, cap, keep, request.stderr_live.clone()));
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let running = Running { child, pgid, started: Instant::now(), stdout, stderr };
        self.groups.lock().unwrap_or_else(|e| e.into_inner()).insert(id, pgid);
        self.running.lock().unwrap_or_else(|e| e.into_inner()).insert(id, running);
        Ok(ProcHandle(id))
    }

    fn wait(&self, handle: ProcHandle, deadline_ms: Option<u64>) -> io::Result<ProcResult> {
        let mut proc = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&handle.0)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such process handle"))?;
        let deadline = deadline_ms.map(|ms| proc.started + Duration::from_millis(ms));
        let mut pause = Duration::from_millis(1);
        let status = loop {
            if let Some(exit) = proc.child.try_wait()? {
                break match (exit.code(), exit.signal()) {
                    (Some(code), _) => ProcStatus::Exited(code),
                    (None, Some(signal)) => ProcStatus::Signaled(signal),
                    (None, None) => ProcStatus::Exited(-1),
                };
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                kill_process_group(proc.pgid);
                proc.child.wait()?;
                break ProcStatus::TimedOut;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(5));
        };
        let elapsed_ms = proc.started.elapsed().as_millis() as u64;
        // The leader is gone; anything it left in its group goes too.
        kill_process_group(proc.pgid);
        self.groups.lock().unwrap_or_else(|e| e.into_inner()).remove(&handle.0);
        let grace = Instant::now() + READER_GRACE;
        let out = join_with_grace(proc.stdout.take(), grace);
        let err = join_with_grace(proc.stderr.take(), grace);
        Ok(ProcResult {
            status,
            stdout: out.kept,
            stderr: err.kept,
            stdout_truncated: out.truncated,
            stderr_truncated: err.truncated,
            elapsed_ms,
            stdout_digest: out.digest,
        })
    }

    fn kill_group(&self, handle: ProcHandle) -> io::Result<()> {
        let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let pgid = groups
            .get(&handle.0)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such process handle"))?;
        kill_process_group(*pgid);
        Ok(())
    }

    fn kill_all(&self) {
        let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        for pgid in groups.values() {
            kill_process_group(*pgid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> SpawnRequest {
        SpawnRequest {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            output_cap_bytes: 1024,
            ..SpawnRequest::default()
        }
    }

    fn run(request: &SpawnRequest, deadline_ms: Option<u64>) -> ProcResult {
        let procs = RealProcs::default();
        let handle = procs.spawn(request).expect("spawns");
        procs.wait(handle, deadline_ms).expect("waits")
    }

    #[test]
    fn captures_output_and_exit_code() {
        let mut request = sh("read line; echo \"got $line\"; echo err >&2; exit 3");
        request.stdin = Some(b"hello\n".to_vec());
        let result = run(&request, None);
        assert_eq!(result.status, ProcStatus::Exited(3));
        assert_eq!(result.stdout, b"got hello\n");
        assert_eq!(result.stderr, b"err\n");
    }

    #[test]
    fn live_output_streams_everything_while_the_tail_and_digest_are_kept() {
        let sink = Arc::new(Mutex::new(Vec::<u8>::new()));
        let mut request = sh("for i in 1 2 3 4 5 6 7 8 9; do echo line$i; done");
        request.output_cap_bytes = 12;
        request.keep = Keep::Tail;
        request.stdout_live = Some(LiveOutput(sink.clone()));
        let result = run(&request, Some(20_000));
        let whole = b"line1\nline2\nline3\nline4\nline5\nline6\nline7\nline8\nline9\n";
        assert_eq!(*sink.lock().expect("sink"), whole.to_vec());
        assert_eq!(result.stdout, b"line8\nline9\n");
        assert!(result.stdout_truncated);
        assert_eq!(result.stdout_digest, *blake3::hash(whole).as_bytes());
    }

    #[test]
    fn output_is_capped_without_blocking_the_child() {
        let result = run(&sh("head -c 5000000 /dev/zero; echo done >&2"), Some(20_000));
        assert_eq!(result.status, ProcStatus::Exited(0));
        assert_eq!(result.stdout.len(), 1024);
        assert!(result.stdout_truncated);
        assert_eq!(result.stderr, b"done\n");
    }

    #[test]
    fn a_deadline_kills_the_whole_group_including_grandchildren() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pid_file = dir.path().join("grandchild.pid");
        let script = format!("sleep 300 & echo $! > {}; wait", pid_file.display());
        let result = run(&sh(&script), Some(300));
        assert_eq!(result.status, ProcStatus::TimedOut);
        let pid: i32 =
            std::fs::read_to_string(&pid_file).expect("pid").trim().parse().expect("int");
        std::thread::sleep(Duration::from_millis(50));
        assert!(!running(pid), "the grandchild sleeper must be dead");
    }

    /// Alive and not a zombie: a killed orphan may linger as a zombie until
    /// some init reaps it, which is not a stray process.
    fn running(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| stat.rsplit_once(") ").map(|(_, rest)| !rest.starts_with(['Z', 'X'])))
            .unwrap_or(false)
    }

    #[test]
    fn the_cpu_limit_stops_a_busy_loop() {
        let mut request = sh("while :; do :; done");
        request.cpu_limit_secs = Some(1);
        let result = run(&request, Some(30_000));
        assert_eq!(result.status, ProcStatus::Signaled(libc::SIGXCPU));
    }

    #[test]
    fn environment_and_cwd_are_applied() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut request = sh("echo \"$NOOT_X:$(pwd)\"");
        request.env = vec![("NOOT_X".into(), "42".into())];
        request.cwd = Some(dir.path().to_path_buf());
        let result = run(&request, None);
        let out = String::from_utf8(result.stdout).expect("utf-8");
        let cwd = dir.path().canonicalize().expect("canonical");
        assert_eq!(out.trim(), format!("42:{}", cwd.display()));
    }

    /// A variable named in `env_remove` does not reach the child; with
    /// `clear_env`, none of noot's own does.
    #[test]
    fn removed_variables_are_not_inherited() {
        let mut request = sh("echo \"${HOME-unset}:${NOOT_X-unset}\"");
        request.env_remove = vec!["HOME".into()];
        request.env = vec![("NOOT_X".into(), "1".into())];
        assert_eq!(run(&request, None).stdout, b"unset:1\n");
        let mut request = SpawnRequest {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), "echo \"${HOME-unset}\"".into()],
            clear_env: true,
            output_cap_bytes: 64,
            ..SpawnRequest::default()
        };
        request.env = vec![("PATH".into(), "/bin:/usr/bin".into())];
        assert_eq!(run(&request, None).stdout, b"unset\n");
    }

    /// `kill_group` kills a running child (and its group) at once; a
    /// handle that has been waited for is no longer known.
    #[test]
    fn kill_group_stops_a_child_and_forgets_finished_handles() {
        let procs = RealProcs::default();
        let handle = procs.spawn(&sh("sleep 300")).expect("spawns");
        procs.kill_group(handle).expect("known handle");
        let result = procs.wait(handle, Some(20_000)).expect("waits");
        assert_eq!(result.status, ProcStatus::Signaled(libc::SIGKILL));
        assert!(result.elapsed_ms < 20_000, "{result:?}");
        let err = procs.kill_group(handle).expect_err("forgotten");
        assert_eq!(
            (err.kind(), err.to_string()),
            (io::ErrorKind::NotFound, "no such process handle".into())
        );
        let err = procs.wait(handle, None).expect_err("waited for already");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
