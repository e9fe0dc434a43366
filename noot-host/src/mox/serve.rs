//! A long-lived controller for harnesses in other languages (bats, Go,
//! Node): it prints the environment to export, then serves until the
//! harness asks for verification over the socket (`noot mox verify`), noot
//! is interrupted, or the harness it watches exits. After a verification it stops answering but keeps
//! its shims until the watched harness is gone: a doubled command called
//! after `verify` fails with exit 125 instead of running the real command.

use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use noot_mox::Mox;

/// Why serving stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeEnd {
    /// A harness asked for verification (and got its report).
    Verified,
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// The watched process exited without asking.
    WatchedExited,
}

/// `export NAME='value'` lines for a POSIX shell.
pub fn shell_exports(vars: &[(OsString, OsString)]) -> String {
    vars.iter()
        .map(|(k, v)| {
            format!(
                "export {}={}\n",
                k.to_string_lossy(),
                noot_mox::shims::sh_quote(&v.to_string_lossy())
            )
        })
        .collect()
}

/// What a served controller watches, to stop when the harness is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// Nothing: serve until verified or interrupted.
    Nothing,
    /// This process.
    Pid(i32),
}

impl Watch {
    fn gone(self) -> bool {
        let Self::Pid(pid) = self else { return false };
        // SAFETY: kill with signal 0 only checks that the process exists.
        let rc = unsafe { libc::kill(pid, 0) };
        rc != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EPERM)
    }
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: read after the last ')'.
    stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

fn image(pid: i32) -> Option<(std::path::PathBuf, Vec<u8>)> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some((exe, cmdline))
}

/// The harness that ran noot: noot's parent, or, when that is a subshell
/// (a forked copy of its own parent, as `$(…)` and pipes make), the shell
/// it was forked from. Subshells end as soon as the command substitution
/// does; the shell lives as long as the harness.
pub fn harness_pid() -> i32 {
    // SAFETY: getppid has no preconditions.
    let mut pid = unsafe { libc::getppid() };
    while let Some(parent) = parent_of(pid).filter(|p| *p > 1) {
        match (image(pid), image(parent)) {
            (Some(child), Some(up)) if child == up => pid = parent,
            _ => break,
        }
    }
    pid
}

/// Serves until one of [`ServeEnd`] happens.
pub fn serve(mox: &Mox, watch: Watch, interrupted: &AtomicBool) -> ServeEnd {
    let requested = mox.verify_requested();
    loop {
        if requested.wait(Duration::from_millis(100)) {
            mox.mark_verified();
            return ServeEnd::Verified;
        }
        if interrupted.load(Ordering::SeqCst) {
            return ServeEnd::Interrupted;
        }
        if watch.gone() {
            return ServeEnd::WatchedExited;
        }
    }
}

/// After a verification: keeps the shims (answering nothing) until the
/// watched harness is gone or noot is interrupted.
pub fn linger(watch: Watch, interrupted: &AtomicBool) {
    while watch != Watch::Nothing && !watch.gone() && !interrupted.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_are_quoted_for_sh() {
        let vars = vec![(OsString::from("PATH"), OsString::from("/a b:/c'd"))];
        assert_eq!(shell_exports(&vars), "export PATH='/a b:/c'\\''d'\n");
    }
}
