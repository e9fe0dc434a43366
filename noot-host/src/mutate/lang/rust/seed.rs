//! A first build that starts from the dependencies the user's own `cargo
//! test` built. noot builds in `.noot/target/`; on a project's first run
//! that folder is empty and cargo would build every dependency again (on
//! semver 1.0.28, 19.8 s of a 27.6 s run). cargo's fingerprints of
//! registry and git dependencies do not depend on where the target folder
//! is, so the user's `debug/deps`, `debug/build` and `debug/.fingerprint`
//! copied there, times kept, are fresh for noot's build as they were for
//! the user's: only the workspace's own crates compile.
//!
//! Copied, never linked: cargo writes into `.noot/target/` and must never
//! write into the user's folder. Only the units of the packages the
//! project's `Cargo.lock` names, the workspace's own left out (noot's copy
//! of the workspace builds its own): a unit's `.fingerprint/PKG-HASH`
//! folder gives its hash, and its files in `deps/` and `build/` carry the
//! same one. So a target folder shared by many projects gives only the
//! units of the packages this one locks (every version and feature set of
//! them that is there), and `incremental/` (the workspace's own) is never
//! read.
//! Not copied at all when the user's folder was built by
//! another toolchain (nothing in it would be fresh), or holds more than
//! [`MAX_BYTES`] (a target folder shared by many projects). The copy goes
//! to a scratch folder renamed into place, with a file in it ([`MARKER`])
//! that says the folder was seeded, so an interrupted copy leaves nothing
//! half-done; the build then keeps the user's debug-info setting, which
//! the copied fingerprints were made with (a cold build turns debug info
//! off: no verdict needs it, and it costs time). No copy while cargo
//! holds the folder's build lock, and none when a file changes while it
//! is copied.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::store::write_atomic;

/// In the profile folder of `.noot/target/`: it was seeded. Inside it,
/// so the rename that puts the copy in place records it too.
pub const MARKER: &str = "debug/noot-seed.json";
/// A user's target folder larger than this is not copied.
pub const MAX_BYTES: u64 = 4 << 30;
/// The profile folder `cargo test` builds in.
const PROFILE_DIR: &str = "debug";
/// What is copied of it.
const PARTS: [&str; 3] = ["deps", "build", ".fingerprint"];

/// What was copied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seeded {
    /// Version of this file's layout.
    pub schema_version: u32,
    /// The user's target folder.
    pub from: PathBuf,
    /// Bytes copied.
    pub bytes: u64,
    /// Files copied.
    pub files: u64,
}

/// Why nothing was copied, when there was something to copy: each says
/// so as the warning the run shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skipped {
    /// Built by another toolchain.
    #[error("{} was built by another toolchain: noot builds the dependencies itself", .0.display())]
    OtherToolchain(PathBuf),
    /// Larger than [`MAX_BYTES`].
    #[error(
        "the dependencies in {} come to {} MB (more than {} MB, a folder shared by projects?): noot builds them itself",
        .0.display(), .1 >> 20, MAX_BYTES >> 20
    )]
    TooLarge(PathBuf, u64),
    /// cargo is building in it, or a file changed while it was copied.
    #[error(
        "cargo was building in {} (or a file there changed while noot copied it): noot builds the dependencies itself",
        .0.display()
    )]
    Busy(PathBuf),
}

/// Whether `target_dir` (noot's) was seeded, on this run or an earlier one.
pub fn is_seeded(target_dir: &Path) -> bool {
    target_dir.join(MARKER).is_file()
}

/// Seeds `target_dir` from `user_target` when `target_dir` has no profile
/// folder yet and `user_target` has one built by `rustc_version` (`rustc
/// -vV`), with the units of the packages `locked` names (those of the
/// project's `Cargo.lock`) but not `members` (the workspace's packages).
pub fn seed(
    user_target: &Path,
    target_dir: &Path,
    rustc_version: &str,
    locked: &BTreeSet<String>,
    members: &[String],
) -> io::Result<Result<Option<Seeded>, Skipped>> {
    let from = user_target.join(PROFILE_DIR);
    let into = target_dir.join(PROFILE_DIR);
    if into.exists() || !from.join(".fingerprint").is_dir() || same_folder(user_target, target_dir)
    {
        return Ok(Ok(None));
    }
    if !built_by(user_target, rustc_version) {
        return Ok(Err(Skipped::OtherToolchain(user_target.to_path_buf())));
    }
    let wanted = Units::of(&from, locked, members)?;
    let files = unit_files(&from, &wanted)?;
    if files.is_empty() {
        return Ok(Ok(None));
    }
    let bytes: u64 = files.iter().map(|(_, len)| len).sum();
    if bytes > MAX_BYTES {
        return Ok(Err(Skipped::TooLarge(user_target.to_path_buf(), bytes)));
    }
    // cargo holds its build lock while it writes: no copy then, of a
    // half-written library beside a fingerprint that calls it fresh.
    let Some(_lock) = SharedLock::try_new(&from.join(".cargo-lock"))? else {
        return Ok(Err(Skipped::Busy(user_target.to_path_buf())));
    };
    let scratch = target_dir.join(format!("{PROFILE_DIR}.seeding"));
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)?;
    }
    let seeded = Seeded {
        schema_version: 1,
        from: user_target.to_path_buf(),
        bytes,
        files: files.len() as u64,
    };
    let copied = copy_all(&from, &scratch, &files).and_then(|unchanged| {
        if unchanged {
            let marker = serde_json::to_vec_pretty(&seeded).map_err(io::Error::other)?;
            let in_scratch = scratch.join(MARKER.trim_start_matches("debug/"));
            write_atomic(&in_scratch, &marker)?;
            std::fs::rename(&scratch, &into)?;
        }
        Ok(unchanged)
    });
    match copied {
        Ok(true) => Ok(Ok(Some(seeded))),
        other => {
            // Nothing half-done stays behind.
            let _ = std::fs::remove_dir_all(&scratch);
            other.map(|_| Err(Skipped::Busy(user_target.to_path_buf())))
        }
    }
}

/// Copies `files` (relative to `from`) into `into`, times kept; whether
/// none changed while it did (its time and size read before and after).
fn copy_all(from: &Path, into: &Path, files: &[(PathBuf, u64)]) -> io::Result<bool> {
    for (rel, len) in files {
        let source = from.join(rel);
        let before = std::fs::metadata(&source)?;
        copy_with_times(&source, &before, &into.join(rel))?;
        let after = std::fs::metadata(&source)?;
        if after.modified()? != before.modified()? || after.len() != *len {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A shared lock on cargo's build lock of a profile folder, while it
/// lives; `None` when cargo holds it to build. No lock file, no lock
/// needed (nothing builds there).
struct SharedLock {
    /// Held open: closing it lets the lock go.
    _held: Option<std::fs::File>,
}

impl SharedLock {
    fn try_new(path: &Path) -> io::Result<Option<SharedLock>> {
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Some(SharedLock { _held: None }));
            }
            Err(e) => return Err(e),
        };
        if try_lock_shared(&file)? { Ok(Some(SharedLock { _held: Some(file) })) } else { Ok(None) }
    }
}

/// Both paths name one folder (the user pointed `CARGO_TARGET_DIR` at
/// noot's).
fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Whether cargo last ran `rustc_version`'s toolchain for `user_target`:
/// its `.rustc_info.json` keeps what `rustc -vV` printed.
fn built_by(user_target: &Path, rustc_version: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(user_target.join(".rustc_info.json")) else {
        return false;
    };
    let Ok(info) = serde_json::from_str::<serde_json::Value>(&text) else { return false };
    let wanted = rustc_version.trim();
    !wanted.is_empty()
        && info["outputs"].as_object().is_some_and(|outputs| {
            outputs.values().any(|o| o["stdout"].as_str().is_some_and(|s| s.trim() == wanted))
        })
}

/// The units to copy, by hash.
struct Units {
    hashes: BTreeSet<String>,
}

impl Units {
    /// The units in `profile/.fingerprint/` of the packages `locked`
    /// names, `members` left out.
    fn of(profile: &Path, locked: &BTreeSet<String>, members: &[String]) -> io::Result<Self> {
        let mut hashes = BTreeSet::new();
        for entry in std::fs::read_dir(profile.join(".fingerprint"))? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            let Some((package, hash)) = name.rsplit_once('-') else { continue };
            if locked.contains(package) && !members.iter().any(|m| m == package) {
                hashes.insert(hash.to_owned());
            }
        }
        Ok(Self { hashes })
    }

    /// Whether `name`, a `NAME-HASH…` entry of `deps/`, `build/` or
    /// `.fingerprint/` (`libitoa-1a2b.rlib`, `itoa-1a2b`), is a wanted
    /// unit's.
    fn wants(&self, name: &str) -> bool {
        Self::hash(name).is_some_and(|hash| self.hashes.contains(&hash))
    }

    /// The unit hash in a `NAME-HASH…` entry.
    fn hash(name: &str) -> Option<String> {
        let (_, rest) = name.rsplit_once('-')?;
        Some(rest.split_once('.').map_or(rest, |(hash, _)| hash).to_owned())
    }
}

/// The files of the `wanted` units under `from` (the profile folder),
/// with their sizes. A unit with anything but files and folders (a
/// symbolic link, which a build script run again could write through
/// into the user's folder) is left out whole, its fingerprint too: cargo
/// then builds it again.
fn unit_files(from: &Path, wanted: &Units) -> io::Result<Vec<(PathBuf, u64)>> {
    let mut files = Vec::new();
    let mut odd = BTreeSet::new();
    for part in PARTS {
        list(&from.join(part), Path::new(part), wanted, &mut files, &mut odd)?;
    }
    files.retain(|(rel, _)| unit_of(rel).is_none_or(|hash| !odd.contains(&hash)));
    Ok(files)
}

/// The unit hash of a file at `rel` in the profile folder
/// (`deps/libitoa-1a2b.rlib`, `build/itoa-3c4d/out/x.rs`).
fn unit_of(rel: &Path) -> Option<String> {
    Units::hash(&rel.components().nth(1)?.as_os_str().to_string_lossy())
}

/// The files under `dir` (at `rel` in the profile folder) of the
/// `wanted` units, with their sizes; the hash of a unit with something
/// else in it goes to `odd`.
fn list(
    dir: &Path,
    rel: &Path,
    wanted: &Units,
    out: &mut Vec<(PathBuf, u64)>,
    odd: &mut BTreeSet<String>,
) -> io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let top = rel.components().count() == 1;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if top && !wanted.wants(&name) {
            continue;
        }
        let kind = entry.file_type()?;
        let path = rel.join(&name);
        if kind.is_dir() {
            list(&entry.path(), &path, wanted, out, odd)?;
        } else if kind.is_file() {
            out.push((path, entry.metadata()?.len()));
        } else {
            odd.extend(unit_of(&path));
        }
    }
    Ok(())
}

/// The package names a `Cargo.lock` lists (empty when there is none).
pub fn locked_packages(lockfile: &Path) -> BTreeSet<String> {
    let Ok(text) = std::fs::read_to_string(lockfile) else { return BTreeSet::new() };
    let Ok(lock) = text.parse::<toml::Table>() else { return BTreeSet::new() };
    lock.get("package")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| Some(p.get("name")?.as_str()?.to_owned()))
        .collect()
}

/// Takes a shared `flock` on `file` without waiting: whether it got it
/// (cargo holds an exclusive one on its build lock while it builds).
#[cfg(unix)]
fn try_lock_shared(file: &std::fs::File) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this process owns and keeps open.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    if error.kind() == io::ErrorKind::WouldBlock { Ok(false) } else { Err(error) }
}

#[cfg(not(unix))]
fn try_lock_shared(_: &std::fs::File) -> io::Result<bool> {
    Ok(true)
}

/// Copies `from` (whose metadata is `meta`) to `to` (folders made), with
/// `from`'s times: cargo judges freshness by them.
fn copy_with_times(from: &Path, meta: &std::fs::Metadata, to: &Path) -> io::Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::copy(from, to)?;
    let times =
        std::fs::FileTimes::new().set_modified(meta.modified()?).set_accessed(meta.accessed()?);
    // Opened to read: the owner may set a file's times without write access.
    std::fs::File::open(to)?.set_times(times)
}

/// The target folder cargo uses for the project at `root` (`cargo
/// metadata`: `CARGO_TARGET_DIR`, `build.target-dir` or `target/`).
pub fn user_target_dir(root: &Path) -> Option<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline"])
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    metadata["target_directory"].as_str().map(PathBuf::from)
}

#[cfg(test)]
mod tests;
