//! For unit tests that read real files (a Cargo project, a target
//! folder): writing one into a temporary tree. The fakes
//! ([`super::fakes`]) stay off the disk; these tests cannot.

use std::path::Path;

/// Writes `text` to `rel` under `root`, making its folders.
pub fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("a file has a parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}
