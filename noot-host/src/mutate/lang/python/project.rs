//! The project as mutation testing sees it: which Python files are source
//! (and their module names), which are tests, what the import roots are,
//! and which files make up the tree that is copied to the mutated tree
//! (`.noot/mutants/` by default).
//!
//! With no `[mutate] paths`, the source is `src/PKG` packages if `src/`
//! exists, else every top-level package (a folder with `__init__.py`) that
//! is not a test folder. Tests, conftest files and excluded paths or
//! function names are never mutated.
//!
//! With no `[mutate] tests`, the tests are `tests/` (or `test/`); without
//! such a folder pytest finds them itself (its `testpaths`, else the
//! project), as long as there is something to find. What was detected and
//! why is what `noot config show` prints.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::config::error::Location;
use crate::mutate::catalog::SourceFile;
use crate::mutate::excludes::Excludes;

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
    /// Reading the tree failed.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

fn is_test_file(name: &str) -> bool {
    name == "conftest.py" || name.starts_with("test_") || name.ends_with("_test.py")
}

fn is_skipped_dir(path: &Path, name: &str, mutants_dir: &Path) -> bool {
    SKIPPED_DIRS.contains(&name)
        || (name.starts_with('.') && name != ".")
        || path == mutants_dir
        || path.join("pyvenv.cfg").is_file()
        || is_mutated_tree(path)
}

/// A mutated copy of the project that another run left: an older noot's
/// `mutants/` (before the default moved under `.noot/`) or mutmut's.
/// Copied into noot's tree, its mutants and its copies of the tests would
/// be collected as if they were the project's.
pub fn is_mutated_tree(path: &Path) -> bool {
    path.join(super::tree::SUPPORT_DIR).is_dir()
        || path.join("mutmut-stats.json").is_file()
        || path.join("mutmut-cicd-stats.json").is_file()
}

/// The mutated trees of other runs at the top of the project (see
/// [`is_mutated_tree`]), relative: noot leaves them out, but a plain
/// `pytest` may still collect them.
pub fn foreign_mutated_trees(root: &Path, mutants_dir: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(root)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir() && p != mutants_dir && is_mutated_tree(p))
                .map(|p| rel_of(root, &p))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

fn rel_of(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).to_string_lossy().replace('\\', "/")
}

/// Walks `dir`, calling `visit` with every file (sorted, skipping the
/// folders noot never touches).
fn walk(dir: &Path, mutants_dir: &Path, visit: &mut dyn FnMut(&Path)) -> Result<(), DiscoverError> {
    walk_until(dir, mutants_dir, &mut |path| {
        visit(path);
        ControlFlow::Continue(())
    })
    .map(|_| ())
}

/// Every file of the project noot copies into the mutated tree, relative,
/// with `/` (unreadable folders are passed over).
pub fn files(root: &Path, mutants_dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let _ = walk(root, mutants_dir, &mut |path| files.push(rel_of(root, path)));
    files
}

/// [`walk`], stopping as soon as `visit` breaks.
fn walk_until(
    dir: &Path,
    mutants_dir: &Path,
    visit: &mut dyn FnMut(&Path) -> ControlFlow<()>,
) -> Result<ControlFlow<()>, DiscoverError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| DiscoverError::Io(dir.display().to_string(), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let flow = if path.is_dir() {
            if is_skipped_dir(&path, &name, mutants_dir) {
                ControlFlow::Continue(())
            } else {
                walk_until(&path, mutants_dir, visit)?
            }
        } else if path.is_file() {
            visit(&path)
        } else {
            ControlFlow::Continue(())
        };
        if flow.is_break() {
            return Ok(flow);
        }
    }
    Ok(ControlFlow::Continue(()))
}

/// The module name and import root of a Python file: climb while the
/// folder is a package (has `__init__.py`), staying inside the project.
fn module_of(root: &Path, file: &Path) -> (String, String) {
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
    (parts.join("."), rel_of(root, &dir))
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
            let (module, import_root) = module_of(root, path);
            if module.is_empty() {
                return;
            }
            project.sources.push(SourceFile { rel, module, root: import_root });
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
    let mut roots: Vec<String> = project.sources.iter().map(|s| s.root.clone()).collect();
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

/// The source paths noot mutates when `[mutate] paths` is not set, relative
/// to `root`, and where they came from (for `noot config show`).
pub fn default_paths(root: &Path) -> (Vec<String>, String) {
    let paths: Vec<String> = default_source_roots(root).iter().map(|p| rel_of(root, p)).collect();
    let origin = match (paths.is_empty(), root.join("src").is_dir()) {
        (true, _) => "none found: put the package in src/PKG or PKG/ (a folder with __init__.py), or set [mutate] paths".to_owned(),
        (false, true) => "detected: the packages and modules in src/".to_owned(),
        (false, false) => "detected: the top-level packages".to_owned(),
    };
    (paths, origin)
}

/// The test paths a session gives pytest, and how they were chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tests {
    /// Paths relative to the project root; empty: pytest's own discovery.
    pub paths: Vec<String>,
    /// How they were chosen.
    pub from: TestsFrom,
}

/// How the test paths were chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestsFrom {
    /// `[mutate] tests`.
    Config,
    /// A `tests/` or `test/` folder.
    Folder,
    /// None given: pytest finds them itself, from its `testpaths` or the
    /// project root, as a plain `pytest` would; `why` says what told noot
    /// there is something to find.
    Pytest {
        /// A test file seen, or the pytest setting that says where tests are.
        why: String,
    },
}

impl Tests {
    /// Where the paths came from, as `noot config show` lists it (`None`
    /// for `[mutate] tests`, whose origin is its place in the file).
    pub fn origin(&self) -> Option<String> {
        match &self.from {
            TestsFrom::Config => None,
            TestsFrom::Folder => Some(format!("detected: the {}/ folder", self.paths.join(", "))),
            TestsFrom::Pytest { why } => Some(format!(
                "detected: no tests/ folder; pytest finds the tests (its testpaths, else the project root): {why}"
            )),
        }
    }
}

/// Why the test paths cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TestsError {
    /// A `[mutate] tests` entry that does not exist.
    #[error("[mutate] tests: \"{entry}\" does not exist")]
    Missing {
        /// Its index in the list.
        index: usize,
        /// As written.
        entry: String,
        /// The project root it is relative to.
        root: String,
        /// The existing folder or file whose path is closest, if any is close.
        closest: Option<String>,
    },
    /// pytest's `testpaths` names only folders that do not exist, and no
    /// test file is anywhere else (pytest then searches from the root).
    #[error(
        "pytest's testpaths names {}, {}, and there is no test file elsewhere",
        quoted(.missing),
        if .missing.len() == 1 { "which does not exist" } else { "none of which exists" }
    )]
    PytestPathsMissing {
        /// Where the setting is.
        location: Location,
        /// Its entries, as written.
        missing: Vec<String>,
    },
    /// No tests key, no tests folder, and nothing pytest would collect.
    #[error(
        "no tests found in {root}: noot looked for a tests/ or test/ folder, for test_*.py and *_test.py files, and for testpaths or python_files in the pytest configuration"
    )]
    NoneFound {
        /// The project root.
        root: String,
    },
}

impl TestsError {
    /// The `[mutate]` location key the error is about (see
    /// `MutateSettings::locations`), if it is about one.
    pub fn location_key(&self) -> Option<String> {
        match self {
            Self::Missing { index, .. } => Some(format!("tests.{index}")),
            Self::PytestPathsMissing { .. } | Self::NoneFound { .. } => None,
        }
    }

    /// Where the error is: the `[mutate]` key's place among `locations`
    /// (`MutateSettings::locations`), or pytest's own setting in its file.
    pub fn location(&self, locations: &BTreeMap<String, Location>) -> Option<Location> {
        self.location_key()
            .and_then(|key| locations.get(&key).cloned())
            .or_else(|| self.file_location())
    }

    /// Where the error is when it is not about a `[mutate]` key: pytest's
    /// own setting, in its file.
    pub fn file_location(&self) -> Option<Location> {
        match self {
            Self::PytestPathsMissing { location, .. } => Some(location.clone()),
            Self::Missing { .. } | Self::NoneFound { .. } => None,
        }
    }

    /// What to do.
    pub fn help(&self) -> String {
        match self {
            Self::Missing { root, closest: Some(closest), .. } => format!(
                "did you mean \"{closest}\"? test paths are relative to {root}, the folder of the config file"
            ),
            Self::Missing { root, closest: None, .. } => format!(
                "name test folders or files that exist, relative to {root} (the folder of the config file), or remove the key: noot then uses tests/ or lets pytest find the tests"
            ),
            Self::PytestPathsMissing { .. } => "create the folder with test_*.py files in it, or point testpaths at the folders that hold the tests (or tell noot alone: [mutate] tests = [\"path/to/tests\"] in noot.toml)".to_owned(),
            Self::NoneFound { .. } => "write tests pytest collects (test_*.py files), or tell noot where they are: [mutate] tests = [\"path/to/tests\"] in noot.toml (or [tool.noot.mutate] in pyproject.toml)".to_owned(),
        }
    }
}

/// The pytest configuration files that may say where tests are.
const PYTEST_CONFIG_FILES: &[&str] = &[
    "pytest.toml",
    ".pytest.toml",
    "pytest.ini",
    ".pytest.ini",
    "pyproject.toml",
    "tox.ini",
    "setup.cfg",
];

/// The test paths for a session: `configured` (each checked to exist),
/// else [`default_tests`], else none (pytest's own discovery) when there is
/// a test file or a pytest setting that says where the tests are.
pub fn tests_for(
    root: &Path,
    configured: &[String],
    mutants_dir: &Path,
) -> Result<Tests, TestsError> {
    if !configured.is_empty() {
        for (index, entry) in configured.iter().enumerate() {
            // `tests/test_a.py::test_x` names a file; an option and the
            // value after it (`-k`, `slow`) are pytest's business.
            let path = entry.split("::").next().unwrap_or(entry);
            let option_value = index > 0 && {
                let previous = &configured[index - 1];
                previous.starts_with('-') && !previous.contains('=')
            };
            if entry.starts_with('-') || option_value || root.join(path).exists() {
                continue;
            }
            return Err(TestsError::Missing {
                index,
                entry: entry.clone(),
                root: root.display().to_string(),
                closest: closest_path(root, path.trim_end_matches('/'), mutants_dir),
            });
        }
        return Ok(Tests { paths: configured.to_vec(), from: TestsFrom::Config });
    }
    let folder = default_tests(root);
    if !folder.is_empty() {
        return Ok(Tests { paths: folder, from: TestsFrom::Folder });
    }
    let setting = pytest_setting(root);
    if let Some(setting) = &setting {
        if !setting.names_only_missing_paths(root) {
            return Ok(Tests { paths: Vec::new(), from: TestsFrom::Pytest { why: setting.why() } });
        }
    }
    // With testpaths that name nothing, pytest searches from the root.
    match first_test_file(root, mutants_dir) {
        Some(file) => Ok(Tests {
            paths: Vec::new(),
            from: TestsFrom::Pytest { why: format!("found {file}") },
        }),
        None => Err(match setting {
            Some(setting) => TestsError::PytestPathsMissing {
                location: setting.location,
                missing: setting.values,
            },
            None => TestsError::NoneFound { root: root.display().to_string() },
        }),
    }
}

/// A test file pytest would collect from `root` by its default names, if
/// any (outside the mutated tree and virtual environments).
fn first_test_file(root: &Path, mutants_dir: &Path) -> Option<String> {
    let mut example = None;
    // A folder that cannot be read hides nothing pytest could collect.
    let _ = walk_until(root, mutants_dir, &mut |path| {
        let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        if name.ends_with(".py") && name != "conftest.py" && is_test_file(&name) {
            example = Some(rel_of(root, path));
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    example
}

fn quoted(entries: &[String]) -> String {
    entries.iter().map(|e| format!("\"{e}\"")).collect::<Vec<_>>().join(", ")
}

/// A pytest setting that says where the tests are.
struct PytestSetting {
    /// `testpaths` or `python_files`.
    key: &'static str,
    /// The configuration file's name.
    file: &'static str,
    /// Where the key is.
    location: Location,
    /// Its values (for `testpaths`; empty if they could not be read).
    values: Vec<String>,
    /// The file asks for doctests, which any module may hold.
    doctests: bool,
}

impl PytestSetting {
    fn why(&self) -> String {
        format!("{} in {}", self.key, self.file)
    }

    /// `testpaths` whose every entry is a plain path that does not exist
    /// (a glob pattern, or values that could not be read, count as found).
    fn names_only_missing_paths(&self, root: &Path) -> bool {
        self.key == "testpaths"
            && !self.doctests
            && !self.values.is_empty()
            && self
                .values
                .iter()
                .all(|value| !value.contains(['*', '?', '[']) && !root.join(value).exists())
    }
}

/// `testpaths` or `python_files` in the pytest configuration file at
/// `root` that pytest reads: then pytest knows where the tests are,
/// whatever their names.
fn pytest_setting(root: &Path) -> Option<PytestSetting> {
    let (name, path, text) = pytest_config_file(root)?;
    ["testpaths", "python_files"].iter().find_map(|key| {
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            let indent = line.len() - line.trim_start().len();
            let Some(value) = line.trim_start().strip_prefix(key) else { continue };
            let Some(value) = value.trim_start().strip_prefix('=') else { continue };
            let value_at = offset - value.len();
            return Some(PytestSetting {
                key,
                file: name,
                location: Location::in_file(&path, &text, start + indent),
                values: setting_values(&text[value_at..]),
                // Doctests are collected from modules of any name.
                doctests: text.contains("--doctest"),
            });
        }
        None
    })
}

/// The configuration file pytest reads at `root`, as pytest picks it: the
/// first of [`PYTEST_CONFIG_FILES`] that is one (a `pytest.ini` always; a
/// `pyproject.toml`, `tox.ini` or `setup.cfg` with its pytest section).
fn pytest_config_file(root: &Path) -> Option<(&'static str, PathBuf, String)> {
    PYTEST_CONFIG_FILES.iter().find_map(|name| {
        let path = root.join(name);
        let text = std::fs::read_to_string(&path).ok()?;
        let headers: &[&str] = match *name {
            "pyproject.toml" => &["[tool.pytest.ini_options]", "[tool.pytest]"],
            "tox.ini" => &["[pytest]"],
            "setup.cfg" => &["[tool:pytest]"],
            _ => &[],
        };
        let read = headers.is_empty()
            || text.lines().any(|line| headers.iter().any(|h| line.trim().starts_with(h)));
        read.then_some((*name, path, text))
    })
}

/// The values of a setting from just after its `=`: a TOML array of
/// strings (`["tests", "it"]`, over several lines, with comments), a TOML
/// string, or an ini value (words, on its line and the indented lines
/// that continue it).
fn setting_values(rest: &str) -> Vec<String> {
    let trimmed = rest.trim_start();
    if let Some(array) = trimmed.strip_prefix('[') {
        return toml_strings(array);
    }
    if trimmed.starts_with(['"', '\'']) {
        return toml_strings(trimmed).into_iter().take(1).collect();
    }
    let mut lines = rest.lines();
    let mut words: Vec<String> =
        lines.next().unwrap_or_default().split_whitespace().map(str::to_owned).collect();
    for line in lines {
        if line.trim().is_empty() || !line.starts_with([' ', '\t']) {
            break;
        }
        words.extend(line.split_whitespace().map(str::to_owned));
    }
    words
}

/// The strings of a TOML array's content, up to its `]`, comments left out.
fn toml_strings(array: &str) -> Vec<String> {
    let mut strings = Vec::new();
    let mut current = String::new();
    let mut quote = None;
    let mut comment = false;
    for c in array.chars() {
        if comment {
            comment = c != '\n';
            continue;
        }
        match quote {
            Some(q) if c == q => {
                strings.push(std::mem::take(&mut current));
                quote = None;
            }
            Some(_) => current.push(c),
            None => match c {
                '#' => comment = true,
                '"' | '\'' => quote = Some(c),
                ']' => break,
                _ => {}
            },
        }
    }
    strings
}

/// The existing folder or file in the project closest to `wanted`: the
/// typo is usually in one component (`tsts/unit` for `tests/unit`), so the
/// first missing component is matched against its existing siblings;
/// failing that, the whole path against the project's paths.
fn closest_path(root: &Path, wanted: &str, mutants_dir: &Path) -> Option<String> {
    closest_by_component(root, wanted, mutants_dir)
        .or_else(|| closest_whole_path(root, wanted, mutants_dir))
}

fn closest_by_component(root: &Path, wanted: &str, mutants_dir: &Path) -> Option<String> {
    let parts: Vec<&str> = wanted.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    let mut base = PathBuf::new();
    for (index, part) in parts.iter().enumerate() {
        if root.join(&base).join(part).exists() {
            base.push(part);
            continue;
        }
        let siblings: Vec<String> = std::fs::read_dir(root.join(&base))
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter_map(|path| {
                let name = path.file_name()?.to_string_lossy().into_owned();
                (!path.is_dir() || !is_skipped_dir(&path, &name, mutants_dir)).then_some(name)
            })
            .collect();
        let names: Vec<&str> = siblings.iter().map(String::as_str).collect();
        base.push(crate::config::error::closest(part, &names)?);
        // The rest of the path, if it exists under the corrected component.
        let rest = parts[index + 1..].join("/");
        if !rest.is_empty() && root.join(&base).join(&rest).exists() {
            base.push(rest);
        }
        return Some(base.to_string_lossy().replace('\\', "/"));
    }
    None
}

fn closest_whole_path(root: &Path, wanted: &str, mutants_dir: &Path) -> Option<String> {
    let mut candidates = std::collections::BTreeSet::new();
    // Folders come from the files inside them; the bound keeps a big
    // tree's walk short.
    let _ = walk_until(root, mutants_dir, &mut |path| {
        let rel = rel_of(root, path);
        let mut parts: Vec<&str> = rel.split('/').collect();
        if parts.len() <= 4 {
            candidates.insert(rel.clone());
        }
        while parts.len() > 1 {
            parts.pop();
            candidates.insert(parts.join("/"));
        }
        if candidates.len() > 20_000 {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    let candidates: Vec<&str> = candidates.iter().map(String::as_str).collect();
    crate::config::error::closest(wanted, &candidates).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A project folder with these files (empty content unless given).
    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (rel, text) in files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        dir
    }

    fn tests_in(dir: &Path, configured: &[&str]) -> Result<Tests, TestsError> {
        let configured: Vec<String> = configured.iter().map(|s| (*s).to_owned()).collect();
        tests_for(dir, &configured, &dir.join(".noot/mutants"))
    }

    #[test]
    fn a_tests_folder_is_the_default() {
        let dir = project(&[("pkg/__init__.py", ""), ("tests/test_a.py", "")]);
        let tests = tests_in(dir.path(), &[]).expect("found");
        assert_eq!(tests.paths, ["tests"]);
        assert_eq!(tests.origin().as_deref(), Some("detected: the tests/ folder"));
    }

    #[test]
    fn without_a_folder_pytest_discovers_tests_it_can_find() {
        let dir = project(&[("pkg/__init__.py", ""), ("test_pkg.py", "")]);
        let tests = tests_in(dir.path(), &[]).expect("found");
        assert!(tests.paths.is_empty(), "pytest's own discovery");
        assert_eq!(tests.from, TestsFrom::Pytest { why: "found test_pkg.py".into() });
        let dir = project(&[
            ("pkg/__init__.py", ""),
            ("pkg/checks/check_a.py", ""),
            ("setup.cfg", "[tool:pytest]\npython_files = check_*.py\n"),
        ]);
        let tests = tests_in(dir.path(), &[]).expect("found");
        assert_eq!(tests.from, TestsFrom::Pytest { why: "python_files in setup.cfg".into() });
    }

    #[test]
    fn no_tests_anywhere_is_an_error_that_says_what_was_looked_for() {
        // A test file inside the mutated tree or a venv does not count.
        let dir = project(&[
            ("pkg/__init__.py", ""),
            ("pkg/core.py", ""),
            (".noot/mutants/test_old.py", ""),
            (".venv/lib/test_x.py", ""),
            ("pyproject.toml", "[project]\nname = \"pkg\"\n# testpaths are not set\n"),
        ]);
        let err = tests_in(dir.path(), &[]).expect_err("none");
        let text = err.to_string();
        assert!(text.starts_with("no tests found in "), "{text}");
        assert!(text.contains("a tests/ or test/ folder") && text.contains("test_*.py"), "{text}");
        assert!(err.help().contains("[mutate] tests = [\"path/to/tests\"]"));
        assert_eq!(err.location_key(), None);
    }

    #[test]
    fn testpaths_naming_only_missing_folders_is_an_error_at_its_line() {
        let pyproject = "[project]\nname = \"pkg\"\n\n[tool.pytest.ini_options]\ntestpaths = [\n  \"tests\",\n  \"it\",\n]\n";
        let dir = project(&[("pkg/__init__.py", ""), ("pyproject.toml", pyproject)]);
        let err = tests_in(dir.path(), &[]).expect_err("missing");
        assert_eq!(
            err.to_string(),
            "pytest's testpaths names \"tests\", \"it\", none of which exists, and there is no test file elsewhere"
        );
        let Some(Location::File { path, line, column }) = err.file_location() else {
            panic!("a file location: {:?}", err.file_location());
        };
        assert_eq!((path, line, column), (dir.path().join("pyproject.toml"), 5, 1));
        assert!(err.help().contains("[mutate] tests"), "{}", err.help());
        // An ini file, on one line; a test file elsewhere: pytest falls
        // back to searching from the root, and finds it.
        let ini = "[pytest]\ntestpaths = tests it\n";
        let dir = project(&[("pkg/__init__.py", ""), ("pytest.ini", ini)]);
        let err = tests_in(dir.path(), &[]).expect_err("missing");
        assert!(err.to_string().starts_with("pytest's testpaths names \"tests\", \"it\""));
        assert_eq!(
            err.file_location().map(|l| l.to_string()),
            Some(format!("{}:2:1", dir.path().join("pytest.ini").display()))
        );
        // Comments and a string value; a stale pyproject.toml setting
        // that pytest does not read (a pytest.ini comes first).
        assert_eq!(setting_values(" [\"a\",  # don't\n 'b'] # c\nx = 1"), ["a", "b"]);
        assert_eq!(setting_values(" \"spec\"\n"), ["spec"]);
        let dir = project(&[
            ("pkg/__init__.py", ""),
            ("pytest.ini", "[pytest]\naddopts = -q\n"),
            ("pyproject.toml", pyproject),
        ]);
        assert!(matches!(tests_in(dir.path(), &[]), Err(TestsError::NoneFound { .. })));
        // Doctests: pytest falls back to the root and finds them.
        let doctests = "[pytest]\ntestpaths = tests\naddopts = --doctest-modules\n";
        let dir = project(&[("pkg/__init__.py", ""), ("pytest.ini", doctests)]);
        assert!(tests_in(dir.path(), &[]).is_ok());
        let dir = project(&[
            ("pkg/__init__.py", ""),
            ("pytest.ini", ini),
            ("check_pkg.py", ""),
            ("test_pkg.py", ""),
        ]);
        let tests = tests_in(dir.path(), &[]).expect("found");
        assert!(tests.paths.is_empty());
    }

    #[test]
    fn a_missing_configured_path_names_its_entry_and_the_closest_folder() {
        let dir = project(&[("pkg/__init__.py", ""), ("tests/unit/test_a.py", "")]);
        let err =
            tests_in(dir.path(), &["tests/unit/test_a.py::test_x", "tsts"]).expect_err("missing");
        assert_eq!(err.to_string(), "[mutate] tests: \"tsts\" does not exist");
        assert_eq!(err.location_key().as_deref(), Some("tests.1"));
        assert!(err.help().starts_with("did you mean \"tests\"? test paths are relative to "));
        let err = tests_in(dir.path(), &["zzzzzz"]).expect_err("missing");
        assert!(err.help().starts_with("name test folders or files that exist"), "{}", err.help());
        let tests = tests_in(dir.path(), &["tests/unit", "-k", "not slow"]).expect("exists");
        assert_eq!(tests.from, TestsFrom::Config);
    }

    #[test]
    fn mutated_trees_of_other_runs_are_left_out() {
        let dir = project(&[
            ("pkg/__init__.py", "def f():\n    return 1\n"),
            ("tests/test_pkg.py", ""),
            ("mutants/.noot/python/_noot_runtime.py", ""),
            ("mutants/pkg/__init__.py", ""),
            ("mutmut_tree/mutmut-stats.json", "{}"),
            ("mutmut_tree/tests/test_pkg.py", ""),
        ]);
        let mutants_dir = dir.path().join(".noot/mutants");
        let found = discover(dir.path(), &[], &mutants_dir, &Excludes::default()).expect("found");
        assert_eq!(found.files, ["pkg/__init__.py", "tests/test_pkg.py"]);
        assert_eq!(foreign_mutated_trees(dir.path(), &mutants_dir), ["mutants", "mutmut_tree"]);
    }

    #[test]
    fn default_paths_say_where_they_came_from() {
        let dir =
            project(&[("src/pkg/__init__.py", ""), ("src/mod.py", ""), ("tests/test_a.py", "")]);
        let (paths, origin) = default_paths(dir.path());
        assert_eq!(paths, ["src/mod.py", "src/pkg"]);
        assert_eq!(origin, "detected: the packages and modules in src/");
        let dir = project(&[("pkg/__init__.py", ""), ("tests/__init__.py", ""), ("setup.py", "")]);
        assert_eq!(
            default_paths(dir.path()),
            (vec!["pkg".to_owned()], "detected: the top-level packages".to_owned())
        );
        let dir = project(&[("notes.txt", "")]);
        let (paths, origin) = default_paths(dir.path());
        assert!(paths.is_empty() && origin.starts_with("none found: "), "{origin}");
    }
}
