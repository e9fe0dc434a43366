//! A bound on how many processes and threads one `noot run` may have at
//! once: noot itself, its runner's workers, the tests and everything they
//! start. A fork bomb in a mutant or a test then ends in a refused fork,
//! which the test reports, instead of a full process table and a machine
//! that no longer starts anything (this machine's `pid_max` is 32,768).
//!
//! The kernel offers two bounds, and which one works depends on who runs:
//! - **Not root**: `RLIMIT_NPROC`. It counts every task (thread) of the
//!   user, not of this run, so the limit set is the user's tasks now plus
//!   the bound. noot sets it on itself; every child inherits it.
//! - **Root** (CI containers, build machines): the kernel ignores
//!   `RLIMIT_NPROC` for root, so noot makes a `pids` cgroup of its own
//!   (cgroup v1's `pids` hierarchy, or v2 where its cgroup hands the `pids`
//!   controller down), sets `pids.max`, and moves itself in; children are
//!   born inside. At the end noot moves itself back and removes the cgroup;
//!   after `kill -9`, the reaper removes it ([`super::reaper::also_remove`]).
//!
//! Where neither applies (root without a writable `pids` cgroup), the run
//! goes on unbounded and the caller says so.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The bound `noot run` applies unless `[mutate] max_processes` says
/// otherwise: far above what a test suite needs (threads count too), far
/// below what takes a machine down.
pub const DEFAULT_MAX_PROCESSES: u64 = 4096;

/// Every cgroup noot makes is named `noot-…`; the reaper removes no other.
pub const CGROUP_PREFIX: &str = "noot-";

/// What bounds this process and its children.
#[derive(Debug)]
pub enum Bound {
    /// `RLIMIT_NPROC` set to `limit` user tasks (`max` more than there were).
    Rlimit {
        /// The soft limit now set.
        limit: u64,
        /// The bound asked for.
        max: u64,
    },
    /// A `pids` cgroup of this run, removed when this is dropped.
    Cgroup(Cgroup),
    /// Nothing could be set, and why.
    Unbounded(String),
}

impl Bound {
    /// One line for the run's diagnostics.
    pub fn describe(&self) -> String {
        match self {
            Self::Rlimit { limit, max } => {
                format!("at most {max} more processes and threads (RLIMIT_NPROC {limit})")
            }
            Self::Cgroup(cgroup) => format!(
                "at most {} processes and threads (pids cgroup {})",
                cgroup.max,
                cgroup.dir.display()
            ),
            Self::Unbounded(why) => format!("processes are not bounded: {why}"),
        }
    }
}

/// A `pids` cgroup this process moved into; dropping it moves the process
/// back where it was and removes the cgroup.
#[derive(Debug)]
pub struct Cgroup {
    dir: PathBuf,
    home: PathBuf,
    max: u64,
}

impl Cgroup {
    /// The cgroup's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // Back home first: a cgroup with a process in it cannot be removed.
        let _ = fs::write(self.home.join("cgroup.procs"), std::process::id().to_string());
        // Children that escaped their process group may still be inside;
        // the reaper kills them and removes the cgroup then.
        let _ = fs::remove_dir(&self.dir);
    }
}

/// Bounds this process and every process it starts from now on to `max`
/// processes and threads, by whichever means works here.
pub fn apply(max: u64) -> Bound {
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    if uid != 0 {
        return match set_nproc(uid, max) {
            Ok(limit) => Bound::Rlimit { limit, max },
            Err(e) => Bound::Unbounded(format!("setting RLIMIT_NPROC failed: {e}")),
        };
    }
    match own_cgroup(max) {
        Ok(cgroup) => {
            super::reaper::also_remove(&cgroup.dir);
            Bound::Cgroup(cgroup)
        }
        Err(why) => Bound::Unbounded(format!(
            "running as root, where RLIMIT_NPROC does not apply, and {why}"
        )),
    }
}

/// Lowers the soft `RLIMIT_NPROC` to the user's tasks now plus `max`
/// (never raises it), and returns the limit in force.
fn set_nproc(uid: libc::uid_t, max: u64) -> io::Result<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NPROC, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let wanted = user_tasks(uid).saturating_add(max);
    if limit.rlim_cur != libc::RLIM_INFINITY && limit.rlim_cur <= wanted {
        return Ok(limit.rlim_cur);
    }
    limit.rlim_cur = wanted;
    // SAFETY: setrlimit reads the struct we own.
    if unsafe { libc::setrlimit(libc::RLIMIT_NPROC, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(wanted)
}

/// The tasks (threads) whose real user is `uid`: what `RLIMIT_NPROC`
/// counts.
fn user_tasks(uid: libc::uid_t) -> u64 {
    let entries = fs::read_dir("/proc").into_iter().flatten().flatten();
    entries
        .filter(|entry| entry.file_name().to_str().is_some_and(|n| n.parse::<u32>().is_ok()))
        .filter_map(|entry| fs::read_to_string(entry.path().join("status")).ok())
        .filter_map(|status| tasks_of(&status, uid))
        .sum()
}

/// From a `/proc/PID/status`: its thread count if its real user is `uid`.
fn tasks_of(status: &str, uid: libc::uid_t) -> Option<u64> {
    let field =
        |name: &str| status.lines().find_map(|line| line.strip_prefix(name)).map(str::trim_start);
    let real: libc::uid_t = field("Uid:")?.split_whitespace().next()?.parse().ok()?;
    let threads: u64 = field("Threads:")?.trim().parse().ok()?;
    (real == uid).then_some(threads)
}

/// Makes a `pids` cgroup below this process's own, bounded to `max`, and
/// moves this process into it.
fn own_cgroup(max: u64) -> Result<Cgroup, String> {
    let memberships = fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| format!("/proc/self/cgroup cannot be read: {e}"))?;
    let mounts = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("/proc/self/mountinfo cannot be read: {e}"))?;
    let home = pids_cgroup_dir(&memberships, &mounts).ok_or_else(|| {
        "no pids cgroup controller is mounted where noot may use it (cgroup v1 `pids`, or v2 \
         with `pids` in this cgroup's cgroup.subtree_control)"
            .to_owned()
    })?;
    let dir = home.join(format!("{CGROUP_PREFIX}{}-{}", std::process::id(), nonce()));
    fs::create_dir(&dir).map_err(|e| format!("{} cannot be made: {e}", dir.display()))?;
    let enter = || -> io::Result<()> {
        fs::write(dir.join("pids.max"), max.to_string())?;
        fs::write(dir.join("cgroup.procs"), std::process::id().to_string())
    };
    if let Err(e) = enter() {
        let _ = fs::remove_dir(&dir);
        return Err(format!("the cgroup {} cannot be used: {e}", dir.display()));
    }
    Ok(Cgroup { dir, home, max })
}

/// The folder of this process's cgroup in a hierarchy with the `pids`
/// controller, from `/proc/self/cgroup` and `/proc/self/mountinfo`: v1's
/// `pids` hierarchy first, else v2's if it delegates `pids` to children.
fn pids_cgroup_dir(memberships: &str, mounts: &str) -> Option<PathBuf> {
    let mut v2 = None;
    for line in memberships.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if controllers.split(',').any(|c| c == "pids") {
            if let Some(dir) = mount_dir(mounts, |fstype, options| {
                fstype == "cgroup" && options.split(',').any(|o| o == "pids")
            }) {
                return Some(join_cgroup(&dir, path));
            }
        } else if id == "0" && controllers.is_empty() {
            v2 = mount_dir(mounts, |fstype, _| fstype == "cgroup2").map(|d| join_cgroup(&d, path));
        }
    }
    let v2 = v2?;
    let delegated = fs::read_to_string(v2.join("cgroup.subtree_control")).ok()?;
    delegated.split_whitespace().any(|c| c == "pids").then_some(v2)
}

/// The mount point of the first mount in `mountinfo` whose file system
/// type and super options satisfy `wanted`.
fn mount_dir(mountinfo: &str, wanted: impl Fn(&str, &str) -> bool) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
        let (before, after) = line.split_once(" - ")?;
        let mount_point = before.split(' ').nth(4)?;
        let mut after = after.split(' ');
        let fstype = after.next()?;
        let options = after.nth(1).unwrap_or("");
        wanted(fstype, options).then(|| PathBuf::from(unescape_octal(mount_point)))
    })
}

/// `/proc/self/mountinfo` writes spaces and the like as `\040`.
fn unescape_octal(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).filter(|digits| digits.iter().all(u8::is_ascii_digit));
        match (bytes[i], octal) {
            (b'\\', Some(digits)) => {
                let value = digits.iter().fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn join_cgroup(mount: &Path, path: &str) -> PathBuf {
    mount.join(path.trim_start_matches('/'))
}

/// A few random hex digits, so two noots with recycled pids never share a
/// name.
fn nonce() -> String {
    let mut bytes = [0u8; 4];
    let read =
        fs::File::open("/dev/urandom").and_then(|mut f| io::Read::read_exact(&mut f, &mut bytes));
    if read.is_err() {
        bytes = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
            .to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTS_V1: &str = "\
25 30 0:22 / /sys rw,nosuid - sysfs sysfs rw
40 25 0:35 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
48 40 0:43 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
49 40 0:44 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
50 40 0:45 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn the_v1_pids_hierarchy_is_found_with_this_process_path_in_it() {
        let memberships = "9:name=systemd:/\n8:pids:/ci/job\n4:memory:/x\n0::/\n";
        assert_eq!(
            pids_cgroup_dir(memberships, MOUNTS_V1),
            Some(PathBuf::from("/sys/fs/cgroup/pids/ci/job"))
        );
    }

    #[test]
    fn without_pids_in_either_hierarchy_there_is_none() {
        let mounts = MOUNTS_V1.replace("rw,pids", "rw,cpu");
        // v2 is mounted, but its subtree_control (read from the real file
        // system at a path that does not exist) delegates nothing.
        assert_eq!(pids_cgroup_dir("8:cpu:/\n0::/no/such/noot/cgroup\n", &mounts), None);
    }

    #[test]
    fn a_mount_point_with_a_space_is_unescaped() {
        let mounts = "48 40 0:43 / /sys/fs/my\\040cgroups rw - cgroup cgroup rw,pids\n";
        assert_eq!(
            mount_dir(mounts, |fstype, _| fstype == "cgroup"),
            Some(PathBuf::from("/sys/fs/my cgroups"))
        );
        assert_eq!(unescape_octal("a\\134b\\"), "a\\b\\");
    }

    #[test]
    fn a_status_counts_its_threads_only_for_its_real_user() {
        let status = "Name:\tpython3\nUid:\t1000\t1000\t1000\t1000\nThreads:\t7\n";
        assert_eq!(tasks_of(status, 1000), Some(7));
        assert_eq!(tasks_of(status, 0), None);
        assert_eq!(tasks_of("Name:\tx\n", 1000), None);
    }

    #[test]
    fn this_users_tasks_include_this_test() {
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        assert!(user_tasks(uid) >= 1);
    }
}
