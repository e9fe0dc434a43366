//! The crates of a Cargo project and their source files: the root
//! package and the workspace's members (`members = ["crates/*"]` globs
//! included), each with the root files of its library and binaries (the
//! manifest's `[lib] path` and `[[bin]] path`, or cargo's defaults), from
//! which [`super::module_tree`] finds the rest; and each member's `src/`
//! tree with the module path every file's place suggests (`src/lib.rs` is
//! the crate root, `src/a/mod.rs` and `src/a.rs` are `a`, `src/a/b.rs` is
//! `a::b`), for files no `mod` declaration reaches. Tests, benches,
//! examples and build scripts are not the crate's code and are left out.

use std::path::{Path, PathBuf};

use crate::mutate::catalog::SourceFile;

/// One package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crate {
    /// `[package] name`, with `-` as `_` (as code names it).
    pub name: String,
    /// `[package] name` as cargo names it.
    pub package: String,
    /// Its folder, relative to the project root (`""` for the root).
    pub dir: String,
    /// `[lib] proc-macro = true`: its code runs inside rustc.
    pub proc_macro: bool,
    /// The root files of its library and binaries.
    pub roots: Vec<SourceFile>,
}

/// Why no crate was found.
#[derive(Debug, thiserror::Error)]
pub enum CratesError {
    /// No Cargo.toml at the root.
    #[error("no Cargo.toml in {0}")]
    NoManifest(String),
    /// A manifest that cannot be read.
    #[error("{path}: {message}")]
    BadManifest {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A workspace without packages.
    #[error("{0} names no package and no workspace member with one")]
    NoPackage(String),
    /// `--package NAME` names no member.
    #[error("--package {name}: no package of this workspace is called that (there are: {members})")]
    UnknownPackage {
        /// The name asked for.
        name: String,
        /// The packages there are.
        members: String,
    },
}

/// The crates of `all` that `packages` name (`-` and `_` alike); all of
/// them when `packages` is empty.
pub fn only(all: Vec<Crate>, packages: &[String]) -> Result<Vec<Crate>, CratesError> {
    if packages.is_empty() {
        return Ok(all);
    }
    for name in packages {
        if !all.iter().any(|c| c.name == name.replace('-', "_")) {
            let members: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
            return Err(CratesError::UnknownPackage {
                name: name.clone(),
                members: members.join(", "),
            });
        }
    }
    Ok(all.into_iter().filter(|c| packages.iter().any(|p| c.name == p.replace('-', "_"))).collect())
}

/// The packages of the project at `root`.
pub fn crates(root: &Path) -> Result<Vec<Crate>, CratesError> {
    let manifest = root.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(CratesError::NoManifest(root.display().to_string()));
    }
    let table = read_manifest(&manifest)?;
    let mut found = Vec::new();
    if let Some(package) = raw_package_name(&table) {
        let name = package.replace('-', "_");
        found.push(Crate {
            roots: target_roots(root, "", &name, &package, &table),
            name,
            package,
            dir: String::new(),
            proc_macro: is_proc_macro(&table),
        });
    }
    let members = table
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(toml::Value::as_array)
        .cloned()
        .unwrap_or_default();
    for member in members.iter().filter_map(toml::Value::as_str) {
        for dir in expand_member(root, member) {
            let Ok(relative) = dir.strip_prefix(root) else { continue };
            let manifest = dir.join("Cargo.toml");
            if !manifest.is_file() || relative.as_os_str().is_empty() {
                continue;
            }
            let table = read_manifest(&manifest)?;
            if let Some(package) = raw_package_name(&table) {
                let dir = relative.to_string_lossy().replace('\\', "/");
                let name = package.replace('-', "_");
                found.push(Crate {
                    roots: target_roots(root, &dir, &name, &package, &table),
                    name,
                    package,
                    dir,
                    proc_macro: is_proc_macro(&table),
                });
            }
        }
    }
    if found.is_empty() {
        return Err(CratesError::NoPackage(manifest.display().to_string()));
    }
    Ok(found)
}

/// The root files of the library and binaries of the package in `dir`
/// (relative to `root`), as cargo finds them: `[lib] path`, else
/// `src/lib.rs`; each `[[bin]]`'s `path`, else `src/bin/NAME.rs`,
/// `src/bin/NAME/main.rs` or `src/main.rs`; and, unless `autobins =
/// false`, `src/main.rs` and every `src/bin/*.rs` and `src/bin/*/main.rs`.
/// The library's module path is the crate's name; a binary's is its own
/// name, or `crate::main` for a `src/main.rs` beside a library (a `run` in
/// both must not share an id).
fn target_roots(
    root: &Path,
    dir: &str,
    name: &str,
    package: &str,
    table: &toml::Table,
) -> Vec<SourceFile> {
    let base = if dir.is_empty() { root.to_path_buf() } else { root.join(dir) };
    let exists = |path: &str| base.join(path).is_file();
    let mut roots: Vec<SourceFile> = Vec::new();
    // A root outside the project (an absolute path, or `..` past its
    // top) is not noot's to copy or mutate.
    let mut add = |path: &str, module: String| {
        let joined = if dir.is_empty() { path.to_owned() } else { format!("{dir}/{path}") };
        let Some(rel) = super::module_tree::within_project(&joined) else { return };
        if !roots.iter().any(|r| r.rel == rel) {
            roots.push(SourceFile { rel, module, root: dir.to_owned() });
        }
    };
    let lib_path = table.get("lib").and_then(|l| l.get("path")).and_then(toml::Value::as_str);
    let has_lib = match lib_path {
        Some(path) => {
            add(path, name.to_owned());
            true
        }
        None if exists("src/lib.rs") => {
            add("src/lib.rs", name.to_owned());
            true
        }
        None => false,
    };
    let main_module = || if has_lib { format!("{name}::main") } else { name.to_owned() };
    // A binary named as the library is `crate::main` too.
    let bin_module = |bin: &str| {
        let module = bin.replace('-', "_");
        if module == name { main_module() } else { module }
    };
    let bins = table.get("bin").and_then(toml::Value::as_array).cloned().unwrap_or_default();
    for bin in &bins {
        let Some(bin_name) = bin.get("name").and_then(toml::Value::as_str) else { continue };
        let module = bin_module(bin_name);
        match bin.get("path").and_then(toml::Value::as_str) {
            Some(path) => add(path, module),
            None => {
                let own = [format!("src/bin/{bin_name}.rs"), format!("src/bin/{bin_name}/main.rs")];
                match own.iter().find(|p| exists(p)) {
                    Some(path) => add(path, module),
                    None if bin_name == package && exists("src/main.rs") => {
                        add("src/main.rs", main_module());
                    }
                    None => {}
                }
            }
        }
    }
    let autobins = table
        .get("package")
        .and_then(|p| p.get("autobins"))
        .and_then(toml::Value::as_bool)
        .unwrap_or(true);
    if autobins {
        if exists("src/main.rs") {
            add("src/main.rs", main_module());
        }
        let mut found: Vec<(String, String)> = std::fs::read_dir(base.join("src/bin"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let file = entry.file_name().to_string_lossy().into_owned();
                let path = entry.path();
                if path.is_dir() && path.join("main.rs").is_file() {
                    Some((format!("src/bin/{file}/main.rs"), file))
                } else {
                    let stem = file.strip_suffix(".rs")?;
                    path.is_file().then(|| (format!("src/bin/{file}"), stem.to_owned()))
                }
            })
            .collect();
        found.sort();
        for (path, bin_name) in found {
            add(&path, bin_module(&bin_name));
        }
    }
    roots
}

pub(super) fn read_manifest(path: &Path) -> Result<toml::Table, CratesError> {
    let bad =
        |message: String| CratesError::BadManifest { path: path.display().to_string(), message };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    text.parse::<toml::Table>().map_err(|e| bad(e.message().to_owned()))
}

fn is_proc_macro(table: &toml::Table) -> bool {
    let lib = table.get("lib");
    let flag = lib.and_then(|l| l.get("proc-macro").or_else(|| l.get("proc_macro")));
    flag.and_then(toml::Value::as_bool).unwrap_or(false)
}

pub(super) fn package_name(table: &toml::Table) -> Option<String> {
    Some(raw_package_name(table)?.replace('-', "_"))
}

fn raw_package_name(table: &toml::Table) -> Option<String> {
    Some(table.get("package")?.get("name")?.as_str()?.to_owned())
}

/// A member entry: a folder, or a folder whose last part is a `*` glob.
fn expand_member(root: &Path, member: &str) -> Vec<PathBuf> {
    let Some((parent, pattern)) = member.rsplit_once('/').filter(|(_, last)| last.contains('*'))
    else {
        return vec![root.join(member)];
    };
    let (prefix, suffix) = pattern.split_once('*').unwrap_or((pattern, ""));
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join(parent))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.starts_with(prefix) && name.ends_with(suffix) && entry.path().is_dir()
        })
        .map(|entry| entry.path())
        .collect();
    dirs.sort();
    dirs
}

/// The source files of `krate` under `root`, sorted, each with its module
/// path (`crate_name::a::b`) in [`SourceFile::module`].
pub fn sources(root: &Path, krate: &Crate) -> Vec<SourceFile> {
    let base = if krate.dir.is_empty() { root.to_path_buf() } else { root.join(&krate.dir) };
    let src = base.join("src");
    let mut files = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "rs") {
                let Ok(in_src) = path.strip_prefix(&src) else { continue };
                let Ok(rel) = path.strip_prefix(root) else { continue };
                // Beside a `src/lib.rs`, `src/main.rs` is a crate of its
                // own: its functions are `krate::main::…`, or a `run` in
                // both would share an id (and a switch).
                let module = if in_src == Path::new("main.rs") && src.join("lib.rs").is_file() {
                    format!("{}::main", krate.name)
                } else {
                    module_path(&krate.name, in_src)
                };
                files.push(SourceFile {
                    rel: rel.to_string_lossy().replace('\\', "/"),
                    module,
                    root: krate.dir.clone(),
                });
            }
        }
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    files
}

/// `krate::a::b` for `a/b.rs` (or `a/b/mod.rs`) under `src/`; binaries
/// under `src/bin/` are crates of their own, named after the file.
fn module_path(krate: &str, in_src: &Path) -> String {
    let mut parts: Vec<String> =
        in_src.iter().map(|part| part.to_string_lossy().into_owned()).collect();
    if let Some(last) = parts.last_mut() {
        *last = last.trim_end_matches(".rs").to_owned();
    }
    if parts.first().is_some_and(|first| first == "bin") && parts.len() >= 2 {
        parts.remove(0);
        if parts.last().is_some_and(|l| l == "main") && parts.len() >= 2 {
            parts.pop();
        }
        return parts.join("::");
    }
    if matches!(parts.last().map(String::as_str), Some("lib" | "main" | "mod")) {
        parts.pop();
    }
    std::iter::once(krate.to_owned()).chain(parts).collect::<Vec<_>>().join("::")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::test_tree::write;

    #[test]
    fn module_paths_follow_cargos_layout() {
        assert_eq!(module_path("geo", Path::new("lib.rs")), "geo");
        assert_eq!(module_path("geo", Path::new("main.rs")), "geo");
        assert_eq!(module_path("geo", Path::new("shapes.rs")), "geo::shapes");
        assert_eq!(module_path("geo", Path::new("shapes/mod.rs")), "geo::shapes");
        assert_eq!(module_path("geo", Path::new("shapes/circle.rs")), "geo::shapes::circle");
        assert_eq!(module_path("geo", Path::new("bin/tool.rs")), "tool");
        assert_eq!(module_path("geo", Path::new("bin/tool/main.rs")), "tool");
    }

    #[test]
    fn a_workspace_lists_its_root_package_and_its_globbed_members() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(
            root,
            "Cargo.toml",
            "[package]\nname = \"top-level\"\n[workspace]\nmembers = [\"crates/*\", \"tools/gen\"]\n",
        );
        write(root, "src/lib.rs", "pub fn f() {}\n");
        write(root, "crates/alpha/Cargo.toml", "[package]\nname = \"alpha\"\n");
        write(root, "crates/alpha/src/lib.rs", "");
        write(root, "crates/alpha/src/deep/mod.rs", "");
        write(root, "crates/alpha/tests/it.rs", "");
        write(root, "crates/notes/README.md", "");
        write(root, "tools/gen/Cargo.toml", "[package]\nname = \"gen\"\n");
        write(root, "tools/gen/src/main.rs", "");
        let found = crates(root).expect("crates");
        let names: Vec<(&str, &str)> =
            found.iter().map(|c| (c.name.as_str(), c.dir.as_str())).collect();
        assert_eq!(names, [("top_level", ""), ("alpha", "crates/alpha"), ("gen", "tools/gen")]);
        let alpha: Vec<(String, String)> =
            sources(root, &found[1]).into_iter().map(|s| (s.rel, s.module)).collect();
        assert_eq!(
            alpha,
            [
                ("crates/alpha/src/deep/mod.rs".to_owned(), "alpha::deep".to_owned()),
                ("crates/alpha/src/lib.rs".to_owned(), "alpha".to_owned()),
            ],
            "tests/ is not the crate's code"
        );
    }

    #[test]
    fn no_manifest_or_no_package_is_an_error_that_says_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(crates(dir.path()), Err(CratesError::NoManifest(_))));
        write(dir.path(), "Cargo.toml", "[workspace]\nmembers = []\n");
        assert!(crates(dir.path()).expect_err("none").to_string().contains("names no package"));
        write(dir.path(), "Cargo.toml", "[package\n");
        assert!(matches!(crates(dir.path()), Err(CratesError::BadManifest { .. })));
    }
}
