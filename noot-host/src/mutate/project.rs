//! The project as mutation testing sees it: which Python files are source
//! (and their module names), which are tests, what the import roots are,
//! and which files make up the tree that is copied to `mutants/`.
//!
//! With no `[mutate] paths`, the source is `src/PKG` packages if `src/`
//! exists, else every top-level package (a folder with `__init__.py`) that
//! is not a test folder. Tests, conftest files and excluded paths or
//! function names are never mutated.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};

/// Folders never copied into the mutated tree nor searched for sources.
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".noot",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "node_modules",
    "target",
    ".eggs",
    "build",
    "dist",
];

/// Folder names that hold tests, not source.
const TEST_DIRS: &[&str] = &["tests", "test", "testing", "docs", "examples", "benchmarks"];

/// A source module to mutate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Path relative to the project root, with `/`.
    pub rel: String,
    /// Dotted module name.
    pub module: String,
    /// Whether it is a package's `__init__.py`.
    pub is_package: bool,
    /// Its import root, relative to the project root (`""` for the root).
    pub import_root: String,
}

/// What discovery found.
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// Files to mutate.
    pub sources: Vec<SourceFile>,
    /// Every file to copy into the mutated tree, relative, with `/`.
    pub files: Vec<String>,
    /// The import roots of the sources, relative (`""` for the root).
    pub import_roots: Vec<String>,
}

/// Why discovery failed.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// A configured path does not exist.
    #[error("[mutate] paths: {0} does not exist")]
    MissingPath(String),
    /// Nothing to mutate.
    #[error("no Python package found to mutate under {0}")]
    NothingFound(String),
    /// A bad exclude pattern.
    #[error("exclude pattern `{0}`: {1}")]
    Pattern(String, String),
    /// Reading the tree failed.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// Exclusions by file path or function name.
#[derive(Debug, Default)]
pub struct Excludes {
    globs: Vec<GlobMatcher>,
    regexes: Vec<regex::Regex>,
}

impl Excludes {
    /// Compiles `[mutate] exclude`.
    pub fn new(patterns: &[String]) -> Result<Self, DiscoverError> {
        let mut excludes = Self::default();
        for pattern in patterns {
            let bad = |e: String| DiscoverError::Pattern(pattern.clone(), e);
            match pattern.strip_prefix("re:") {
                Some(re) => {
                    excludes.regexes.push(regex::Regex::new(re).map_err(|e| bad(e.to_string()))?)
                }
                None => excludes
                    .globs
                    .push(Glob::new(pattern).map_err(|e| bad(e.to_string()))?.compile_matcher()),
            }
        }
        Ok(excludes)
    }

    /// Whether a relative path or a function key is excluded.
    pub fn matches(&self, subject: &str) -> bool {
        self.globs.iter().any(|g| g.is_match(subject))
            || self.regexes.iter().any(|r| r.is_match(subject))
    }
}

fn is_test_file(name: &str) -> bool {
    name == "conftest.py" || name.starts_with("test_") || name.ends_with("_test.py")
}

fn is_skipped_dir(path: &Path, name: &str, mutants_dir: &Path) -> bool {
    SKIPPED_DIRS.contains(&name)
        || (name.starts_with('.') && name != ".")
        || path == mutants_dir
        || path.join("pyvenv.cfg").is_file()
}

fn rel_of(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).to_string_lossy().replace('\\', "/")
}

/// Walks `dir`, calling `visit` with every file (sorted, skipping the
/// folders noot never touches).
fn walk(dir: &Path, mutants_dir: &Path, visit: &mut dyn FnMut(&Path)) -> Result<(), DiscoverError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| DiscoverError::Io(dir.display().to_string(), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if path.is_dir() {
            if !is_skipped_dir(&path, &name, mutants_dir) {
                walk(&path, mutants_dir, visit)?;
            }
        } else if path.is_file() {
            visit(&path);
        }
    }
    Ok(())
}

/// The module name and import root of a Python file: climb while the
/// folder is a package (has `__init__.py`), staying inside the project.
fn module_of(root: &Path, file: &Path) -> (String, bool, String) {
    let is_package = file.file_name().is_some_and(|n| n == "__init__.py");
    let mut parts: Vec<String> = Vec::new();
    if !is_package {
        parts.extend(file.file_stem().map(|s| s.to_string_lossy().into_owned()));
    }
    let mut dir = file.parent().unwrap_or(root).to_path_buf();
    while dir != root && dir.join("__init__.py").is_file() {
        parts.extend(dir.file_name().map(|n| n.to_string_lossy().into_owned()));
        match dir.parent() {
            Some(parent) => dir = parent.to_path_buf(),
            None => break,
        }
    }
    parts.reverse();
    (parts.join("."), is_package, rel_of(root, &dir))
}

/// Finds sources and files.
pub fn discover(
    root: &Path,
    paths: &[String],
    mutants_dir: &Path,
    excludes: &Excludes,
) -> Result<Project, DiscoverError> {
    let mut project = Project::default();
    walk(root, mutants_dir, &mut |path| project.files.push(rel_of(root, path)))?;

    let source_roots: Vec<PathBuf> = if paths.is_empty() {
        default_source_roots(root)
    } else {
        let mut roots = Vec::new();
        for path in paths {
            let full = root.join(path);
            if !full.exists() {
                return Err(DiscoverError::MissingPath(path.clone()));
            }
            roots.push(full);
        }
        roots
    };
    let mut seen = std::collections::BTreeSet::new();
    for source_root in &source_roots {
        let mut add = |path: &Path| {
            let name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let rel = rel_of(root, path);
            if !name.ends_with(".py")
                || is_test_file(&name)
                || excludes.matches(&rel)
                || !seen.insert(rel.clone())
            {
                return;
            }
            let (module, is_package, import_root) = module_of(root, path);
            if module.is_empty() {
                return;
            }
            project.sources.push(SourceFile { rel, module, is_package, import_root });
        };
        if source_root.is_file() {
            add(source_root);
        } else {
            walk(source_root, mutants_dir, &mut add)?;
        }
    }
    if project.sources.is_empty() {
        return Err(DiscoverError::NothingFound(root.display().to_string()));
    }
    let mut roots: Vec<String> = project.sources.iter().map(|s| s.import_root.clone()).collect();
    roots.sort();
    roots.dedup();
    project.import_roots = roots;
    Ok(project)
}

/// `src/*` packages and modules, else top-level packages that are not tests.
fn default_source_roots(root: &Path) -> Vec<PathBuf> {
    let src = root.join("src");
    let base = if src.is_dir() { src } else { root.to_path_buf() };
    let mut found: Vec<PathBuf> = std::fs::read_dir(&base)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    found.sort();
    found
        .into_iter()
        .filter(|path| {
            let name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if path.is_dir() {
                path.join("__init__.py").is_file()
                    && !TEST_DIRS.contains(&name.as_str())
                    && !SKIPPED_DIRS.contains(&name.as_str())
                    && !name.starts_with('.')
            } else {
                // Loose modules only inside src/: at the top level they are
                // setup.py, noxfile.py and friends.
                base != root && name.ends_with(".py")
            }
        })
        .collect()
}

/// The default test paths: `tests/` (or `test/`) if it exists.
pub fn default_tests(root: &Path) -> Vec<String> {
    ["tests", "test"]
        .iter()
        .find(|d| root.join(d).is_dir())
        .map(|d| vec![(*d).to_owned()])
        .unwrap_or_default()
}
