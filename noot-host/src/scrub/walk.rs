//! Which files `noot scrub` reads: inputs as named, folders walked in name
//! order with hidden entries (`.git`) passed over.
//!
//! A symbolic link met while walking is not followed unless asked
//! (`--follow`), as in ripgrep and fd: a link may lead out of the tree
//! (`--in-place` would rewrite files nobody named) or back into it (a `..`
//! link read one file 41 times; two links forming a loop walked forever).
//! It is reported as passed over, so nothing goes unscrubbed silently.
//! Followed, links are taken after the input's real entries, so files
//! keep their real paths where they have one, and every folder and file is
//! visited once, known by device and inode: a link back to a folder above
//! it (a loop) or to one already walked reads nothing twice. A link named
//! on the command line is followed, like a file or folder given by any
//! other name; the file it leads to is where an in-place scrub writes.
//!
//! The `Fs` port follows links and cannot tell one from its target, so
//! the link checks here ask the file system directly (a path a fake `Fs`
//! holds is simply not a link).

use std::collections::{HashMap, VecDeque};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{ScrubError, Skipped};
use crate::engine::ports::{PathKind, Ports};

/// Why a link met while walking was not followed.
pub(super) const LINK_NOT_FOLLOWED: &str =
    "symbolic link, not followed (--follow scrubs what links lead to)";

/// One file or folder, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Found {
    /// A file to scrub.
    File {
        /// Its path as reached (through links, if any).
        path: PathBuf,
        /// Named on the command line (bad content is an error), or found in
        /// a folder (skipped).
        explicit: bool,
        /// When `path` itself is a link: the file it leads to, which an
        /// in-place scrub rewrites (replacing `path` would replace the link).
        link_target: Option<PathBuf>,
    },
    /// Something passed over while walking.
    Passed(Skipped),
}

/// A device and inode: one file or folder, whatever the path to it.
type Identity = (u64, u64);

/// Walks inputs in order, remembering what it has seen across all of them.
pub(super) struct Walker<'a> {
    ports: &'a Ports,
    follow: bool,
    folders: HashMap<Identity, PathBuf>,
    files: HashMap<Identity, PathBuf>,
    found: Vec<Found>,
}

impl<'a> Walker<'a> {
    /// A walker that follows links met in folders if `follow`.
    pub(super) fn new(ports: &'a Ports, follow: bool) -> Self {
        Self { ports, follow, folders: HashMap::new(), files: HashMap::new(), found: Vec::new() }
    }

    /// What was found since the last call, in order (what was seen is
    /// still remembered).
    pub(super) fn take(&mut self) -> Vec<Found> {
        std::mem::take(&mut self.found)
    }

    /// Adds one input named on the command line: a file, or a folder and
    /// everything under it.
    pub(super) fn input(&mut self, path: &Path) -> Result<(), ScrubError> {
        match self.ports.fs.kind(path) {
            Some(PathKind::File) => self.file(path, true),
            Some(PathKind::Dir) => {
                let mut links = VecDeque::new();
                self.folder(path, &mut links)?;
                self.follow_links(links)
            }
            Some(PathKind::Other) => Err(input_error(path, "not a regular file or folder".into())),
            None => Err(input_error(
                path,
                match std::fs::read_link(path) {
                    Ok(target) => format!(
                        "a symbolic link to {}, which does not exist (or is a loop of links); \
                         fix or remove the link",
                        target.display()
                    ),
                    Err(_) => "no such file or folder".into(),
                },
            )),
        }
    }

    /// Walks the folders that links found so far lead to (only with
    /// `follow`; each may find more links, queued behind).
    fn follow_links(&mut self, mut links: VecDeque<PathBuf>) -> Result<(), ScrubError> {
        while let Some(link) = links.pop_front() {
            match self.ports.fs.kind(&link) {
                Some(PathKind::File) => self.file(&link, false)?,
                Some(PathKind::Dir) => self.folder(&link, &mut links)?,
                Some(PathKind::Other) => {}
                None => self.pass(&link, "broken symbolic link (what it names does not exist)"),
            }
        }
        Ok(())
    }

    /// Walks a folder unless it was walked already; links in it are queued
    /// in `links` when followed, passed over otherwise.
    fn folder(&mut self, dir: &Path, links: &mut VecDeque<PathBuf>) -> Result<(), ScrubError> {
        if let Some(id) = identity(dir) {
            if let Some(first) = self.folders.get(&id) {
                let reason = if dir != first && dir.starts_with(first) {
                    format!(
                        "a link back to {}, a folder above it: a loop, not walked again",
                        first.display()
                    )
                } else {
                    format!("the same folder as {}, already walked", first.display())
                };
                self.pass(dir, &reason);
                return Ok(());
            }
            self.folders.insert(id, dir.to_path_buf());
        }
        let entries = self
            .ports
            .fs
            .read_dir(dir)
            .map_err(|e| input_error(dir, format!("cannot list folder: {e}")))?;
        for entry in entries {
            if entry.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                continue;
            }
            if is_link(&entry) {
                if self.follow {
                    links.push_back(entry);
                } else {
                    self.pass(&entry, LINK_NOT_FOLLOWED);
                }
                continue;
            }
            match self.ports.fs.kind(&entry) {
                Some(PathKind::File) => self.file(&entry, false)?,
                Some(PathKind::Dir) => self.folder(&entry, links)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Adds a file unless the same file was added already.
    fn file(&mut self, path: &Path, explicit: bool) -> Result<(), ScrubError> {
        if let Some(id) = identity(path) {
            if let Some(first) = self.files.get(&id) {
                let reason = format!("the same file as {}, scrubbed once", first.display());
                self.pass(path, &reason);
                return Ok(());
            }
            self.files.insert(id, path.to_path_buf());
        }
        let link_target = if is_link(path) {
            let target = std::fs::canonicalize(path).map_err(|e| {
                input_error(path, format!("cannot find the file this symbolic link leads to: {e}"))
            })?;
            Some(target)
        } else {
            None
        };
        self.found.push(Found::File { path: path.to_path_buf(), explicit, link_target });
        Ok(())
    }

    fn pass(&mut self, path: &Path, reason: &str) {
        self.found.push(Found::Passed(Skipped {
            path: path.display().to_string(),
            reason: reason.to_string(),
        }));
    }
}

fn input_error(path: &Path, message: String) -> ScrubError {
    ScrubError::Input { path: path.display().to_string(), message }
}

/// Whether `path` itself is a symbolic link.
fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// The device and inode `path` leads to, if it exists on the real file
/// system.
fn identity(path: &Path) -> Option<Identity> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fakes::fake_ports;
    use crate::engine::ports::RealFs;
    use std::os::unix::fs::symlink;
    use std::sync::Arc;

    fn walk(root: &Path, inputs: &[&str], follow: bool) -> Vec<String> {
        let mut ports = fake_ports();
        ports.fs = Arc::new(RealFs);
        let mut walker = Walker::new(&ports, follow);
        for input in inputs {
            walker.input(&root.join(input)).expect("walks");
        }
        let strip = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
        walker
            .take()
            .into_iter()
            .map(|found| match found {
                Found::File { path, link_target, .. } => match link_target {
                    Some(target) => format!("{} -> {}", strip(&path), target.display()),
                    None => strip(&path),
                },
                Found::Passed(s) => {
                    let path = s.path.strip_prefix(&format!("{}/", root.display()));
                    format!("passed {}: {}", path.unwrap_or(&s.path), s.reason)
                }
            })
            .collect()
    }

    #[test]
    fn links_are_passed_over_unless_followed_and_followed_ones_come_after_real_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        std::fs::create_dir_all(root.join("d/sub")).expect("mkdir");
        std::fs::create_dir_all(root.join("out")).expect("mkdir");
        std::fs::write(root.join("d/a.txt"), "a").expect("write");
        std::fs::write(root.join("d/sub/z.txt"), "z").expect("write");
        std::fs::write(root.join("out/o.txt"), "o").expect("write");
        symlink("../out", root.join("d/b_out")).expect("symlink");
        symlink("..", root.join("d/sub/up")).expect("symlink");
        symlink("a.txt", root.join("d/c.txt")).expect("symlink");

        assert_eq!(
            walk(&root, &["d"], false),
            [
                "d/a.txt".to_string(),
                format!("passed d/b_out: {LINK_NOT_FOLLOWED}"),
                format!("passed d/c.txt: {LINK_NOT_FOLLOWED}"),
                format!("passed d/sub/up: {LINK_NOT_FOLLOWED}"),
                "d/sub/z.txt".into(),
            ]
        );
        let d = root.join("d");
        assert_eq!(
            walk(&root, &["d"], true),
            [
                "d/a.txt".to_string(),
                "d/sub/z.txt".into(),
                "d/b_out/o.txt".into(),
                format!("passed d/c.txt: the same file as {}/a.txt, scrubbed once", d.display()),
                format!(
                    "passed d/sub/up: a link back to {}, a folder above it: a loop, not walked again",
                    d.display()
                ),
            ]
        );
    }

    #[test]
    fn a_link_named_as_input_is_followed_and_knows_its_target() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        std::fs::write(root.join("real.txt"), "r").expect("write");
        symlink("real.txt", root.join("link.txt")).expect("symlink");
        symlink("nowhere", root.join("broken")).expect("symlink");
        assert_eq!(
            walk(&root, &["link.txt"], false),
            [format!("link.txt -> {}", root.join("real.txt").display())]
        );
        let ports = Ports { fs: Arc::new(RealFs), ..fake_ports() };
        let error = Walker::new(&ports, false).input(&root.join("broken")).expect_err("broken");
        assert!(error.to_string().contains("a symbolic link to nowhere, which does not exist"));
    }
}
