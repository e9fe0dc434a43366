//! Finding what a noot left running: the tests label the noot they start
//! with a variable of their own, `NOOT_KILLS_MARK`, which every process
//! noot starts inherits, and read `/proc/*/environ` for it, so a
//! background sleeper in a session of its own is found too.
//!
//! Shared by the regression suite and the campaigns (`#[path]` modules).

#![allow(dead_code)] // each suite uses its own part

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub const MARK: &str = "NOOT_KILLS_MARK";

/// `command` (noot ARGS in `dir`, as the suite builds it), labelled with
/// `mark`, started.
pub fn start(
    command: impl Fn(&Path, &[&str]) -> std::process::Command,
    dir: &Path,
    args: &[&str],
    mark: &str,
) -> Child {
    command(dir, args)
        .env(MARK, mark)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("noot starts")
}

/// A mark no other test uses.
pub fn fresh_mark(name: &str) -> String {
    format!("{name}-{}-{:?}", std::process::id(), Instant::now())
}

/// Live processes (not zombies) labelled `mark`: pid and command line.
pub fn labelled(mark: &str) -> Vec<(u32, String)> {
    let needle = format!("{MARK}={mark}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        if !environ.split(|&b| b == 0).any(|v| v == needle.as_bytes()) {
            continue;
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with(['Z', 'X']));
        if !zombie {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            found.push((pid, String::from_utf8_lossy(&cmdline).replace('\0', " ")));
        }
    }
    found
}

/// Waits until a process labelled `mark` runs `what`.
pub fn wait_for(mark: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !labelled(mark).iter().any(|(_, cmd)| cmd.contains(what)) {
        assert!(Instant::now() < deadline, "no `{what}` started: {:?}", labelled(mark));
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Asserts that within `grace` nothing labelled `mark` is alive; kills
/// what is (so one failure does not leave sleepers for the next test).
pub fn assert_nothing_left(mark: &str, grace: Duration) {
    let deadline = Instant::now() + grace;
    let mut left = labelled(mark);
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        left = labelled(mark);
    }
    for (pid, _) in &left {
        // SAFETY: kill(2) on a pid this test's noot started.
        unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
    }
    assert!(left.is_empty(), "alive {grace:?} after noot ended: {left:?}");
}

pub fn signal(child: &Child, signal: i32) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, signal) };
}
