//! Runs the command under test with the shims on its `PATH`.
//!
//! The command gets a process group of its own, so Ctrl-C (noot kills the
//! group) stops it and everything it started, and a parent-death signal, so
//! `kill -9` of noot stops the command itself (what it started in the
//! background may survive that). When noot's stdin is a terminal the
//! command stays in noot's group instead: a group of its own would be in
//! the background and stop at its first read of the terminal (a prompt, a
//! password); the terminal's Ctrl-C then reaches both. Its stdin is noot's;
//! its stdout is noot's too, unless noot's stdout is reserved for a JSON
//! document, when it goes to stderr.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use noot_mox::Mox;

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this code (128 + N after signal N).
    Exited(i32),
    /// noot was interrupted and killed it.
    Interrupted,
}

/// Runs `argv` under `mox` and waits for it, or for `interrupted`.
pub fn run_command(
    mox: &Mox,
    argv: &[OsString],
    stdout_to_stderr: bool,
    interrupted: &AtomicBool,
) -> Result<Ended, String> {
    let (program, args) =
        argv.split_first().ok_or("no command given: noot mox run … -- CMD ARGS")?;
    let mut command = mox.command(program);
    command.args(args).stdin(Stdio::inherit());
    let own_group = !std::io::stdin().is_terminal();
    if own_group {
        command.process_group(0);
    }
    if stdout_to_stderr {
        let err = std::io::stderr();
        let fd = std::os::fd::AsFd::as_fd(&err).try_clone_to_owned().map_err(|e| e.to_string())?;
        command.stdout(Stdio::from(fd));
    }
    // SAFETY: between fork and exec the closure calls only prctl and
    // getppid, both async-signal-safe.
    unsafe {
        let parent = libc::getpid();
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // noot died between fork and prctl: do not outlive it.
            if libc::getppid() != parent {
                libc::_exit(137);
            }
            Ok(())
        });
    }
    let mut child =
        command.spawn().map_err(|e| format!("cannot run `{}`: {e}", program.to_string_lossy()))?;
    let pid = child.id() as i32;
    // In noot's own group, signal the command alone.
    let target = if own_group { -pid } else { pid };
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            // The command is done; whatever it left in its group goes too.
            if own_group {
                signal(target, libc::SIGKILL);
            }
            let code = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
            return Ok(Ended::Exited(code));
        }
        if interrupted.load(Ordering::SeqCst) {
            signal(target, libc::SIGTERM);
            let grace = Instant::now() + Duration::from_millis(500);
            while Instant::now() < grace {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            signal(target, libc::SIGKILL);
            let _ = child.wait();
            return Ok(Ended::Interrupted);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `kill(target, signal)`: a negative target is a process group.
fn signal(target: i32, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions; ESRCH (gone
    // already) is a fine outcome.
    unsafe {
        libc::kill(target, signal);
    }
}
