//! What cargo's configuration does to the build, for the result keys:
//! a verdict must be judged again when the flags the tests are built with
//! change. The config files cargo reads (from the build's folder up to the
//! root, then `$CARGO_HOME`), the toolchain and the variables that set
//! flags or profiles are part of every mutant's key. (noot's own flag for
//! the build, `--cap-lints=warn`, goes through a rustc wrapper and leaves
//! all of these alone: [`super::cap_lints`].)

use std::path::{Path, PathBuf};

/// One configuration file cargo reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

/// The build's view of cargo's configuration.
#[derive(Debug, Clone, Default)]
pub struct CargoConfig {
    /// The config files, nearest first.
    pub files: Vec<ConfigFile>,
    /// The environment's variables.
    pub vars: Vec<(String, String)>,
    /// `rustc -vV`.
    pub rustc_version: String,
}

impl CargoConfig {
    /// The configuration cargo sees when it runs in `dir`.
    pub fn read(dir: &Path, vars: Vec<(String, String)>, rustc_version: String) -> CargoConfig {
        let var = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let cargo_home = var("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| var("HOME").map(|home| Path::new(&home).join(".cargo")));
        let mut folders: Vec<PathBuf> = dir.ancestors().map(|d| d.join(".cargo")).collect();
        // `~/.cargo` is read once, also when the project is under `~`.
        folders.extend(cargo_home.filter(|home| !folders.contains(home)));
        let mut files: Vec<ConfigFile> = Vec::new();
        for folder in folders {
            // cargo reads the older `config` when both are there.
            let found = ["config", "config.toml"].into_iter().find_map(|name| {
                let path = folder.join(name);
                let text = std::fs::read_to_string(&path).ok()?;
                Some(ConfigFile { path, text })
            });
            files.extend(found);
        }
        CargoConfig { files, vars, rustc_version }
    }

    /// A variable of the environment noot runs in.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// What of this decides what the build does, as lines for the result
    /// keys: the toolchain, each config file outside `project` (those
    /// inside are project files, keyed already) and the variables that set
    /// flags or profiles. Sorted, so order never changes a key.
    pub fn key_lines(&self, project: &Path) -> Vec<String> {
        let mut lines = vec![self.rustc_version.clone()];
        for file in self.files.iter().filter(|f| !f.path.starts_with(project)) {
            lines.push(format!("{}\0{}", file.path.display(), file.text));
        }
        let mut vars: Vec<String> = self
            .vars
            .iter()
            .filter(|(name, _)| decides_the_build(name))
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        vars.sort();
        lines.extend(vars);
        lines
    }
}

/// A variable that changes what cargo builds (flags, profiles), not where
/// it puts it or how it reports.
fn decides_the_build(name: &str) -> bool {
    matches!(
        name,
        "RUSTFLAGS" | "CARGO_ENCODED_RUSTFLAGS" | "CARGO_BUILD_RUSTFLAGS" | "CARGO_BUILD_TARGET"
    ) || name.starts_with("CARGO_PROFILE_")
        || name.starts_with("CARGO_TARGET_") && name.ends_with("_RUSTFLAGS")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(files: &[&str], vars: &[(&str, &str)]) -> CargoConfig {
        CargoConfig {
            files: files
                .iter()
                .enumerate()
                .map(|(i, text)| ConfigFile {
                    path: PathBuf::from(format!("/outer{i}/.cargo/config.toml")),
                    text: (*text).to_owned(),
                })
                .collect(),
            vars: vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            rustc_version: "rustc 1.95.0\nhost: x86_64-unknown-linux-gnu\n".into(),
        }
    }

    #[test]
    fn the_keys_see_config_outside_the_project_and_the_flag_variables() {
        let mut seen = config(&["[build]\nrustflags = []\n"], &[("CARGO_TARGET_DIR", "/t")]);
        let before = seen.key_lines(Path::new("/project"));
        assert!(before.iter().any(|l| l.contains("rustflags = []")), "{before:?}");
        assert!(!before.iter().any(|l| l.contains("CARGO_TARGET_DIR")), "{before:?}");
        seen.vars.push(("CARGO_PROFILE_TEST_OPT_LEVEL".into(), "3".into()));
        assert_ne!(before, seen.key_lines(Path::new("/project")));
        // A file inside the project is keyed as a project file.
        assert_eq!(seen.key_lines(Path::new("/outer0")).len(), 2);
    }

    #[test]
    fn config_files_are_found_from_the_folder_up_and_in_cargo_home() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inner = dir.path().join("a/b");
        std::fs::create_dir_all(inner.join(".cargo")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("a/.cargo")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("home")).expect("mkdir");
        std::fs::write(inner.join(".cargo/config.toml"), "near").expect("write");
        std::fs::write(dir.path().join("a/.cargo/config"), "legacy").expect("write");
        std::fs::write(dir.path().join("a/.cargo/config.toml"), "ignored").expect("write");
        std::fs::write(dir.path().join("home/config.toml"), "home").expect("write");
        let home = dir.path().join("home").display().to_string();
        let read = CargoConfig::read(&inner, vec![("CARGO_HOME".into(), home)], String::new());
        let texts: Vec<&str> = read.files.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(texts, ["near", "legacy", "home"]);
    }
}
