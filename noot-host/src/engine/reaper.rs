//! Nothing noot starts outlives it, even when noot is killed with
//! `kill -9` and cannot clean up after itself.
//!
//! Process groups let noot kill a child and what the child started while
//! noot is alive. They do not help when noot itself dies without warning,
//! and a test's background process can leave the group (`setsid`, a double
//! fork). So the commands that run other people's code (`noot run`,
//! `noot experiment run`) first label their own environment with a
//! variable unique to this invocation, `NOOT_REAP_<token>`, which every
//! process they start inherits, and start a reaper: a second noot in a
//! session of its own that only waits for the end of a pipe whose other
//! end this noot holds. However this noot ends, the kernel closes the
//! pipe; the reaper then kills every process whose environment carries the
//! label, in rounds until none is left (a process may fork while it is
//! being killed), and exits. After a normal exit it finds nothing to kill.
//!
//! This is how Jenkins' ProcessTreeKiller finds a build's strays. A process
//! that starts its children with an empty environment escapes the label;
//! processes meant to outlive noot (a detached experiment helper) are
//! started without it ([`unlabel`]).
//!
//! noot may also tell the reaper, through the same pipe, of a `pids`
//! cgroup it made ([`also_remove`], see [`super::process_bound`]): the
//! reaper kills what is left in it too, label or not, and removes it.

use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::process_bound::CGROUP_PREFIX;

/// The hidden first argument that makes `noot` act as a reaper.
pub const REAPER_ARG: &str = "__noot-reaper";

/// Every label starts with this.
const LABEL_PREFIX: &str = "NOOT_REAP_";

/// How long the reaper keeps killing a tree that keeps forking.
const KILL_ROUNDS_FOR: Duration = Duration::from_secs(5);

/// What the reaper reads from its pipe at most: a few lines naming cgroups.
const MESSAGES_CAP: usize = 64 * 1024;

/// Before a line naming a cgroup the reaper removes.
const CGROUP_LINE: &str = "cgroup ";

/// This noot's end of the reaper's pipe, for [`also_remove`].
static PIPE: Mutex<Option<ChildStdin>> = Mutex::new(None);

/// This noot's label and its reaper. Dropping it closes the pipe and waits
/// for the reaper, so everything this noot started is gone when it returns.
pub struct Guard {
    reaper: Child,
}

impl Drop for Guard {
    fn drop(&mut self) {
        drop(PIPE.lock().map(|mut pipe| pipe.take()));
        let _ = self.reaper.wait();
    }
}

/// Asks this noot's reaper, if it has one, to kill what is left in the
/// cgroup `dir` and remove it once this noot has ended.
pub fn also_remove(dir: &Path) {
    if let Ok(mut pipe) = PIPE.lock() {
        if let Some(pipe) = pipe.as_mut() {
            let _ = writeln!(pipe, "{CGROUP_LINE}{}", dir.display());
        }
    }
}

/// Labels this process's environment and starts `program` (this noot's
/// own binary) as its reaper.
///
/// # Safety
/// Changes the process environment: call it before this process starts
/// any thread.
pub unsafe fn start(program: &Path) -> io::Result<Guard> {
    let label = format!("{LABEL_PREFIX}{}", token()?);
    // SAFETY: the caller guarantees no other thread exists yet, so nothing
    // reads the environment while it changes.
    unsafe { std::env::set_var(&label, std::process::id().to_string()) };
    let mut command = Command::new(program);
    command
        .arg(REAPER_ARG)
        .arg(&label)
        .env_remove(&label)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid and sigaction are async-signal-safe and are the only
    // calls between fork and exec. A session of its own keeps Ctrl-C at
    // the terminal, a closing terminal and a kill of noot's process group
    // away from the reaper; ignored signals survive exec.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
                libc::signal(signal, libc::SIG_IGN);
            }
            Ok(())
        });
    }
    let mut reaper = command.spawn()?;
    if let Ok(mut pipe) = PIPE.lock() {
        *pipe = reaper.stdin.take();
    }
    Ok(Guard { reaper })
}

/// Starts `command` without this noot's label, for a process meant to
/// outlive it.
pub fn unlabel(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with(LABEL_PREFIX) {
            command.env_remove(name);
        }
    }
}

/// The reaper's whole life: wait for the pipe on stdin to close, then kill
/// every process labelled `label`, and what is left in the cgroups noot
/// named on the pipe, and remove those. Returns how many it killed.
pub fn serve(label: &str) -> usize {
    if !label.starts_with(LABEL_PREFIX) {
        return 0;
    }
    let mut messages = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut stdin = io::stdin().lock();
    loop {
        match stdin.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) if messages.len() < MESSAGES_CAP => messages.extend_from_slice(&chunk[..n]),
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    let mut killed = kill_labelled(label);
    for dir in cgroups_named(&String::from_utf8_lossy(&messages)) {
        killed += empty_and_remove(&dir);
    }
    killed
}

/// The cgroups named on the pipe: only noot's own (`noot-…` under
/// `/sys/fs/cgroup`), whatever else a line says.
fn cgroups_named(messages: &str) -> Vec<PathBuf> {
    messages
        .lines()
        .filter_map(|line| line.strip_prefix(CGROUP_LINE))
        .map(PathBuf::from)
        .filter(|dir| {
            dir.starts_with("/sys/fs/cgroup")
                && !dir.components().any(|c| c == std::path::Component::ParentDir)
                && dir
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with(CGROUP_PREFIX))
        })
        .collect()
}

/// Kills every process in the cgroup `dir`, in rounds until it is empty,
/// then removes it. Returns how many it killed.
fn empty_and_remove(dir: &Path) -> usize {
    let until = Instant::now() + KILL_ROUNDS_FOR;
    let mut killed = 0;
    loop {
        let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) else {
            return killed;
        };
        let pids: Vec<libc::pid_t> = procs.lines().filter_map(|l| l.trim().parse().ok()).collect();
        if (pids.is_empty() && std::fs::remove_dir(dir).is_ok()) || Instant::now() >= until {
            return killed;
        }
        for pid in pids {
            // SAFETY: kill has no memory-safety preconditions.
            if pid > 0 && unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
                killed += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Kills every process whose environment holds `label=`, in rounds until a
/// scan finds none.
fn kill_labelled(label: &str) -> usize {
    let needle = format!("{label}=");
    let me = std::process::id();
    let until = Instant::now() + KILL_ROUNDS_FOR;
    let mut killed = 0;
    loop {
        let found: Vec<u32> = labelled(needle.as_bytes()).filter(|&pid| pid != me).collect();
        if found.is_empty() || Instant::now() >= until {
            return killed;
        }
        for pid in found {
            let Ok(pid) = libc::pid_t::try_from(pid) else { continue };
            // SAFETY: kill has no memory-safety preconditions.
            if unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
                killed += 1;
            }
        }
        // Let the kernel finish the kills before looking again, so a dying
        // process is not counted twice.
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The live processes whose initial environment holds `needle` (zombies
/// have none left and are not counted).
fn labelled(needle: &[u8]) -> impl Iterator<Item = u32> + '_ {
    labelled_environments(needle).map(|(pid, _)| pid)
}

/// The live processes whose initial environment holds a variable starting
/// with `needle`, each with that environment (`NAME=value` entries).
pub fn labelled_environments(needle: &[u8]) -> impl Iterator<Item = (u32, Vec<u8>)> + '_ {
    let entries = std::fs::read_dir("/proc").into_iter().flatten().flatten();
    entries.filter_map(move |entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let environ = std::fs::read(entry.path().join("environ")).ok()?;
        environ
            .split(|&byte| byte == 0)
            .any(|variable| variable.starts_with(needle))
            .then_some((pid, environ))
    })
}

/// This noot's label (`NOOT_REAP_<token>`), once [`start`] set it.
pub fn own_label() -> Option<String> {
    std::env::vars_os()
        .map(|(name, _)| name.to_string_lossy().into_owned())
        .find(|name| name.starts_with(LABEL_PREFIX))
}

/// 16 random hex digits: unique among the noots alive on this machine.
fn token() -> io::Result<String> {
    let mut bytes = [0u8; 8];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A label private to one test, on a process that would run for
    /// minutes, found and killed by one call.
    #[test]
    fn a_labelled_process_is_found_and_killed_and_others_are_not() {
        let label = format!("{LABEL_PREFIX}test{}", token().expect("token"));
        let mut labelled_child =
            Command::new("sleep").arg("300").env(&label, "1").spawn().expect("sleep starts");
        let mut other = Command::new("sleep").arg("300").spawn().expect("sleep starts");
        assert_eq!(kill_labelled(&label), 1);
        let status = labelled_child.wait().expect("waits");
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));
        assert!(other.try_wait().expect("try_wait").is_none(), "an unlabelled process lives on");
        let _ = other.kill();
        let _ = other.wait();
    }

    #[test]
    fn only_noots_own_cgroups_are_taken_from_the_pipe() {
        let messages = "cgroup /sys/fs/cgroup/pids/noot-12-ab\n\
                        cgroup /sys/fs/cgroup/pids/user.slice\n\
                        cgroup /etc/noot-1\n\
                        cgroup /sys/fs/cgroup/pids/../../noot-2\n\
                        something else\n";
        assert_eq!(cgroups_named(messages), [PathBuf::from("/sys/fs/cgroup/pids/noot-12-ab")]);
    }

    #[test]
    fn a_label_without_the_prefix_kills_nothing() {
        assert_eq!(serve("PATH"), 0);
    }
}
