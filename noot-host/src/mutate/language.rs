//! Which language a project's mutants are in: `[mutate] language`, or
//! detected. A Cargo.toml without a Python project beside it (no
//! pyproject.toml, setup.py or setup.cfg, no `[mutate] paths`) is a Rust
//! project; anything else is Python, as before Rust support, so a Python
//! package built with PyO3 or maturin stays a Python project unless
//! `language = "rust"` says otherwise.

use std::path::Path;

use crate::config::mutate::MutateSettings;

/// A language noot mutates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Python, tested with pytest.
    Python,
    /// Rust, tested with cargo.
    Rust,
}

/// The language of the project at `root`.
pub fn detect(root: &Path, settings: &MutateSettings) -> Language {
    match settings.language.as_str() {
        "python" => Language::Python,
        "rust" => Language::Rust,
        _ => {
            let python = !settings.paths.is_empty()
                || ["pyproject.toml", "setup.py", "setup.cfg"]
                    .iter()
                    .any(|f| root.join(f).is_file());
            if root.join("Cargo.toml").is_file() && !python {
                Language::Rust
            } else {
                Language::Python
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_alone_is_rust_and_a_python_project_beside_it_stays_python() {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = MutateSettings::default();
        assert_eq!(detect(dir.path(), &settings), Language::Python, "nothing: Python, as before");
        std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"x\"\n").expect("write");
        assert_eq!(detect(dir.path(), &settings), Language::Rust);
        std::fs::write(dir.path().join("pyproject.toml"), "[project]\nname = \"x\"\n")
            .expect("write");
        assert_eq!(detect(dir.path(), &settings), Language::Python, "a PyO3 package");
        let rust = MutateSettings { language: "rust".into(), ..MutateSettings::default() };
        assert_eq!(detect(dir.path(), &rust), Language::Rust);
    }
}
