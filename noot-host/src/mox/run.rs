//! Runs the command under test with the shims on its `PATH`.
//!
//! The command gets a process group of its own and a parent-death signal,
//! so Ctrl-C (noot kills the group) and even `kill -9` of noot (the kernel
//! kills the command) leave nothing running. Its stdin is noot's; its
//! stdout is noot's too, unless noot's stdout is reserved for a JSON
//! document, when it goes to stderr.

use std::ffi::OsString;
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
    command.args(args).stdin(Stdio::inherit()).process_group(0);
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
    let group = child.id() as i32;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            // The command is done; whatever it left in its group goes too.
            kill_group(group, libc::SIGKILL);
            let code = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
            return Ok(Ended::Exited(code));
        }
        if interrupted.load(Ordering::SeqCst) {
            kill_group(group, libc::SIGTERM);
            let grace = Instant::now() + Duration::from_millis(500);
            while Instant::now() < grace {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            kill_group(group, libc::SIGKILL);
            let _ = child.wait();
            return Ok(Ended::Interrupted);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn kill_group(group: i32, signal: i32) {
    // SAFETY: killpg has no memory-safety preconditions; ESRCH (the group
    // is gone) is a fine outcome.
    unsafe {
        libc::killpg(group, signal);
    }
}
