//! A long-lived controller for harnesses in other languages (bats, Go,
//! Node): it prints the environment to export, then serves until the
//! harness asks for verification over the socket (`noot mox verify`), noot
//! is interrupted, or the process it watches (the harness's shell) exits.

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

fn alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Serves until one of [`ServeEnd`] happens.
pub fn serve(mox: &Mox, watch: Option<i32>, interrupted: &AtomicBool) -> ServeEnd {
    let requested = mox.verify_requested();
    loop {
        if requested.wait(Duration::from_millis(100)) {
            mox.mark_verified();
            return ServeEnd::Verified;
        }
        if interrupted.load(Ordering::SeqCst) {
            return ServeEnd::Interrupted;
        }
        if watch.is_some_and(|pid| !alive(pid)) {
            return ServeEnd::WatchedExited;
        }
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
