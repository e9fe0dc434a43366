//! A passthrough: the shim runs the real command it stands in for.
//!
//! The command is looked up on the caller's `PATH` without the shim folder
//! (so a tool the caller put on its `PATH` is found), then on the
//! controller's original `PATH`. It runs with the caller's `PATH`, shims
//! included, so a spied `make`, `env` or `xargs` runs the commands it starts
//! through their doubles; [`PASSTHROUGH_ENV`] names the spied command, and
//! a shim for that same command inside it runs the real one directly (a
//! real `git` that runs `git` does not loop back into the spy). Its output
//! streams to the caller as it comes, and a capped copy of each stream goes
//! to the journal.
//! A reader that goes away stops the copying but not the draining, so the
//! real command is never blocked and the result still reaches the journal.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::bytes::Bytes;
use crate::protocol::{EXIT_NOT_FOUND, PassthroughResult};

/// Set for a passthrough's real command: the name of the command it runs for.
pub const PASSTHROUGH_ENV: &str = "NOOT_MOX_PASSTHROUGH";

/// How much of a passthrough's stdout and of its stderr the journal keeps
/// (the caller gets everything).
pub const CAPTURE_BYTES: usize = 16 * 1024 * 1024;

/// How the shim should end, once it has reported back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Exit with this code.
    Code(i32),
    /// Die of this signal, as the real command did (or would have, on a
    /// closed pipe).
    Signal(i32),
}

/// Finds `command` on each `PATH` in turn, skipping the shim folder.
pub fn find_real(command: &str, paths: &[&str], shim_dir: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    paths
        .iter()
        .flat_map(|path| std::env::split_paths(path).collect::<Vec<_>>())
        .filter(|dir| dir != shim_dir && !dir.as_os_str().is_empty())
        .map(|dir| dir.join(command))
        .find(|p| p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// What one output stream did.
#[derive(Debug, Default)]
struct Copied {
    kept: Vec<u8>,
    truncated: bool,
    reader_gone: bool,
}

/// Copies `from` to `to` as it arrives, keeping the first `cap` bytes.
fn tee(mut from: impl Read, mut to: impl Write, cap: usize) -> Copied {
    let mut copied = Copied::default();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                if !copied.reader_gone {
                    let wrote = to.write_all(&chunk[..n]).and_then(|()| to.flush());
                    copied.reader_gone = wrote.is_err();
                }
                let room = cap.saturating_sub(copied.kept.len());
                copied.kept.extend_from_slice(&chunk[..n.min(room)]);
                copied.truncated |= n > room;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    copied
}

/// Inside a passthrough of `command` (see [`PASSTHROUGH_ENV`]), a call of
/// that same command runs the real one in this process's place, unseen by
/// the controller. `None`: not such a call.
pub fn exec_real_if_nested(
    command: &str,
    args: &[OsString],
    shim_dir: &Path,
    lookup: &str,
) -> Option<String> {
    use std::os::unix::process::CommandExt;
    if std::env::var_os(PASSTHROUGH_ENV).is_none_or(|outer| outer != command) {
        return None;
    }
    let callers = std::env::var_os("PATH").unwrap_or_default();
    let callers = crate::shims::path_without(&callers, shim_dir).to_string_lossy().into_owned();
    let Some(real) = find_real(command, &[&callers, lookup], shim_dir) else {
        return Some(format!("{command}: command not found on the original PATH"));
    };
    // exec only returns on failure.
    let error = Command::new(&real).args(args).exec();
    Some(format!("{command}: cannot run {}: {error}", real.display()))
}

/// The real command's pid, for the signal handler: a handler can reach
/// nothing but a static. Set once per shim process, before handlers exist.
static CHILD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn forward(signal: libc::c_int) {
    let pid = CHILD.load(std::sync::atomic::Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, signal) };
    }
}

/// Sends TERM, INT, HUP and QUIT that reach the shim on to the real command:
/// `kill $pid` of a spied command stops the command, not only its shim
/// (which then dies of the same signal, as the command did).
fn forward_signals_to(pid: u32) {
    CHILD.store(i32::try_from(pid).unwrap_or(0), std::sync::atomic::Ordering::SeqCst);
    let handler = forward as extern "C" fn(libc::c_int);
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT] {
        // SAFETY: the handler only reads an atomic and calls kill, both
        // async-signal-safe; sigaction gets a zeroed, valid struct.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// Runs the real `command`; returns what to report and how to end.
pub fn passthrough(
    command: &str,
    args: &[OsString],
    stdin: Option<Vec<u8>>,
    lookup_path: &str,
    shim_dir: &Path,
    env: &BTreeMap<String, String>,
    id: u64,
) -> (PassthroughResult, Ending) {
    let started = Instant::now();
    let fail = |code: i32, message: String| {
        let _ = writeln!(std::io::stderr(), "{message}");
        let result = PassthroughResult {
            id,
            stdout: Bytes::default(),
            stderr: Bytes::from(format!("{message}\n")),
            exit_code: code,
            duration_ms: started.elapsed().as_millis() as u64,
            truncated: false,
        };
        (result, Ending::Code(code))
    };
    let callers = std::env::var_os("PATH").unwrap_or_default();
    let callers = crate::shims::path_without(&callers, shim_dir).to_string_lossy().into_owned();
    let Some(real) = find_real(command, &[&callers, lookup_path], shim_dir) else {
        return fail(
            EXIT_NOT_FOUND,
            format!("noot-shim: {command}: command not found on the original PATH"),
        );
    };
    let mut child = Command::new(&real);
    child.args(args).envs(env).stdout(Stdio::piped()).stderr(Stdio::piped());
    child.env(PASSTHROUGH_ENV, command);
    if std::env::var_os("PATH").is_none() {
        child.env("PATH", lookup_path);
    }
    child.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::inherit() });
    let mut child = match child.spawn() {
        Ok(child) => child,
        Err(e) => {
            return fail(126, format!("noot-shim: {command}: cannot run {}: {e}", real.display()));
        }
    };
    forward_signals_to(child.id());
    let feeder = match (stdin, child.stdin.take()) {
        // A command that stops reading early is not an error (EPIPE is
        // returned, SIGPIPE is ignored).
        (Some(bytes), Some(mut pipe)) => Some(std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })),
        _ => None,
    };
    let out = child
        .stdout
        .take()
        .map(|pipe| std::thread::spawn(move || tee(pipe, std::io::stdout(), CAPTURE_BYTES)));
    let err = child
        .stderr
        .take()
        .map(|pipe| std::thread::spawn(move || tee(pipe, std::io::stderr(), CAPTURE_BYTES)));
    let collect = |handle: Option<std::thread::JoinHandle<Copied>>| {
        handle.and_then(|h| h.join().ok()).unwrap_or_default()
    };
    let stdout = collect(out);
    let stderr = collect(err);
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    let status = child.wait().ok();
    // Its pid may be reused from here on: forward nothing more.
    CHILD.store(0, std::sync::atomic::Ordering::SeqCst);
    let signal = status.and_then(|s| s.signal());
    let exit_code = match (status.and_then(|s| s.code()), signal) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 1,
    };
    let ending = match signal {
        Some(signal) => Ending::Signal(signal),
        None if stdout.reader_gone => Ending::Signal(libc::SIGPIPE),
        None => Ending::Code(exit_code),
    };
    let result = PassthroughResult {
        id,
        stdout: Bytes(stdout.kept),
        stderr: Bytes(stderr.kept),
        exit_code,
        duration_ms: started.elapsed().as_millis() as u64,
        truncated: stdout.truncated || stderr.truncated,
    };
    (result, ending)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tee_keeps_a_capped_head_and_copies_everything() {
        let mut copy = Vec::new();
        let copied = tee(&b"abcdef"[..], &mut copy, 4);
        assert_eq!(
            (copied.kept.as_slice(), copied.truncated, copy.as_slice()),
            (&b"abcd"[..], true, &b"abcdef"[..])
        );
    }

    #[test]
    fn tee_keeps_draining_when_its_reader_goes_away() {
        struct Gone;
        impl Write for Gone {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let copied = tee(&b"abcdef"[..], Gone, 64);
        assert!(copied.reader_gone);
        assert_eq!(copied.kept, b"abcdef");
    }

    #[test]
    fn the_shim_folder_is_skipped_and_later_paths_are_tried() {
        let found = find_real("sh", &["/nonexistent", "/bin:/usr/bin"], Path::new("/bin"));
        assert_eq!(found.as_deref(), Some(Path::new("/usr/bin/sh")));
    }
}
