//! One build of a Rust project with every viable mutant in it.
//!
//! The project is copied into the mutated tree (its `target/`, `.git/` and
//! `.noot/` left out), each source file with mutants replaced by its
//! schemata ([`super::schemata`]) and every crate root given the runtime
//! module. `cargo test --no-run --message-format=json` then builds the
//! test binaries once, with `--cap-lints=warn` so a crate that denies
//! warnings still builds. A compiler error inside a mutant's branch makes
//! that mutant unviable: it is switched off and the build runs again
//! while a round finds new ones, at most [`ROUNDS_PER_CRATE`] times per
//! crate root. An error inside no branch (a mutant that
//! broke type inference around it) switches off the mutants of the
//! function it is in, or of its file when those are off already, each
//! reported as such.
//!
//! The files rustc read are taken from the dep-info file beside each
//! artifact of the project's own packages ([`Built::sources`]): a file no
//! artifact read (a module behind `#[cfg(feature = "serde")]`) is not in
//! this build, and its mutants can be neither killed nor survive.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use tree_sitter::Node;

use super::Mutation;
use super::cap_lints;
use super::cargo_config::CargoConfig;
use super::crates;
use super::dev_deps;
use super::doctests::{self, Example};
use super::schemata::{self, Switched};
use crate::engine::digest::Digest;
use crate::engine::ports::Procs;
use crate::engine::procs::{Keep, ProcResult, ProcStatus, SpawnRequest};

/// Build rounds allowed per crate root of the project before noot gives
/// up on the remaining errors. Each round must switch off a mutant (or
/// drop a doc example) to be followed by another; the rounds add up per
/// crate because cargo builds a crate only once those it depends on
/// build, so a chain of members shows its unviable mutants one member per
/// round, and rustc shows borrow-checking errors only once a crate's
/// types check.
pub const ROUNDS_PER_CRATE: usize = 5;

/// One source file and its mutations, numbered.
#[derive(Debug, Clone)]
pub struct PlannedFile {
    /// Path relative to the project root.
    pub rel: String,
    /// Its original text.
    pub source: String,
    /// Its mutations with their switch numbers.
    pub mutations: Vec<(u32, Mutation)>,
    /// Whether it is a crate root (gets the runtime module).
    pub crate_root: bool,
    /// Its package's folder, relative to the project root.
    pub package_dir: String,
}

/// A test executable cargo built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestBinary {
    /// The package it tests.
    pub package: String,
    /// The target's name (the crate for unit tests, the file for `tests/`).
    pub target: String,
    /// The executable.
    pub path: PathBuf,
    /// Its package's folder (where its `Cargo.toml` is): `cargo test`
    /// runs a test binary there, and tests read files relative to it.
    pub dir: PathBuf,
}

/// What the build gave.
#[derive(Debug, Default)]
pub struct Built {
    /// The test binaries.
    pub binaries: Vec<TestBinary>,
    /// Switch numbers found unviable, with the compiler's first line.
    pub unviable: BTreeMap<u32, String>,
    /// How many times cargo ran.
    pub rounds: usize,
    /// How long each round's cargo took, in ms.
    pub round_ms: Vec<u64>,
    /// Whether the last round compiled any of the project's own crates (not
    /// a round where cargo found everything fresh).
    pub compiled: bool,
    /// The files of the mutated copy that rustc read, relative to it;
    /// empty when no dep-info file could be read (then nothing is taken
    /// for not built; see [`Built::compiles`]).
    pub sources: BTreeSet<PathBuf>,
    /// Every file of the project as `path\0digest`, in path order.
    pub project_files: Vec<String>,
    /// Doc examples built as tests.
    pub doc_examples: usize,
    /// Doc examples that do not build as tests, with the compiler's word.
    pub doc_dropped: Vec<(String, String)>,
    /// Dev-dependencies left out of the copy: no test names them.
    pub dev_deps_left_out: Vec<String>,
}

impl Built {
    /// Whether this build compiles `rel` (relative to the project root);
    /// `true` when the dep-info could not be read.
    pub fn compiles(&self, rel: &str) -> bool {
        self.sources.is_empty() || self.sources.contains(Path::new(rel))
    }
}

/// The name of the test target that holds a package's doc examples.
pub const DOC_TARGET: &str = "__noot_doc_examples";
/// Its file, in the package's folder of the mutated copy.
const DOC_FILE: &str = ".noot-doc-examples.rs";

/// A library package's doc examples, as one test target.
struct DocTarget {
    /// The package's folder, relative to the project root (`""` or `core/`).
    dir: String,
    /// Its examples.
    examples: Vec<Example>,
    /// Where rustdoc would find examples that noot does not read (file,
    /// line): reported as not used.
    unread: Vec<(String, usize)>,
}

/// Each library package's examples: those in the files under its `src/`.
fn doc_targets(root: &Path, files: &[PlannedFile]) -> Vec<DocTarget> {
    files
        .iter()
        .filter_map(|root| Some(root.rel.strip_suffix("src/lib.rs")?.to_owned()))
        .map(|dir| {
            let src = format!("{dir}src/");
            let sources = || files.iter().filter(|f| f.rel.starts_with(&src));
            let mut examples: Vec<Example> =
                sources().flat_map(|f| doctests::examples(&f.rel, &f.source)).collect();
            let unread = sources()
                .flat_map(|f| {
                    doctests::unread_examples(&f.source).into_iter().map(|l| (f.rel.clone(), l))
                })
                .collect();
            // A README included as the crate's documentation is run by
            // rustdoc too.
            for file in sources() {
                let folder = Path::new(&file.rel).parent().unwrap_or(Path::new(""));
                for included in doctests::included_docs(&file.source) {
                    let rel = lexical(&folder.join(&included));
                    let rel = rel.to_string_lossy().replace('\\', "/");
                    if let Ok(text) = std::fs::read_to_string(root.join(&rel)) {
                        examples.extend(doctests::markdown_examples(&rel, &text));
                    }
                }
            }
            DocTarget { dir, examples, unread }
        })
        .collect()
}

/// A written file of examples: its path in the copy, and each example's
/// byte range in it.
type DocFile = (String, Vec<(Range<usize>, Example)>);

/// Writes each target's examples (less those `dropped`) and its manifest
/// (its text in `manifests`, by package folder) with the test target
/// added; returns each file's example ranges.
fn write_doc_targets(
    root: &Path,
    into: &Path,
    targets: &[DocTarget],
    dropped: &BTreeSet<(String, usize)>,
    manifests: &BTreeMap<String, String>,
) -> io::Result<Vec<DocFile>> {
    let mut written = Vec::new();
    for target in targets {
        let kept: Vec<Example> = target
            .examples
            .iter()
            .filter(|e| !dropped.contains(&(e.rel.clone(), e.line)))
            .cloned()
            .collect();
        let library = lib_name(&root.join(&target.dir).join("Cargo.toml"));
        let (text, ranges) = doctests::test_file(library.as_deref(), &kept);
        write_if_changed(&into.join(&target.dir).join(DOC_FILE), &text)?;
        let manifest = manifests.get(&target.dir).map_or("", String::as_str);
        let manifest = format!(
            "{manifest}\n# Added by noot in its mutated copy: the doc examples as tests.\n\
             [[test]]\nname = \"{DOC_TARGET}\"\npath = \"{DOC_FILE}\"\n"
        );
        write_if_changed(&into.join(&target.dir).join("Cargo.toml"), &manifest)?;
        written.push((format!("{}{DOC_FILE}", target.dir), ranges.into_iter().zip(kept).collect()));
    }
    Ok(written)
}

/// Whether the package in `dir` (relative to `root`) is of edition 2024,
/// inherited from the workspace or its own.
fn edition_2024(root: &Path, dir: &str) -> bool {
    let read = |path: PathBuf| crates::read_manifest(&path).ok();
    let Some(manifest) = read(root.join(dir).join("Cargo.toml")) else { return false };
    let edition = manifest.get("package").and_then(|p| p.get("edition"));
    let edition = match edition {
        Some(toml::Value::Table(t)) if t.get("workspace").is_some() => {
            let workspace = read(root.join("Cargo.toml"));
            workspace.and_then(|r| {
                r.get("workspace")?.get("package")?.get("edition")?.as_str().map(str::to_owned)
            })
        }
        Some(value) => value.as_str().map(str::to_owned),
        None => None,
    };
    edition.as_deref() == Some("2024")
}

/// Whether the package's examples become a test target: not with
/// `[lib] doctest = false` (cargo does not run them either), nor where
/// the manifest gives `test` as an inline array, which a `[[test]]` table
/// appended after it would redefine.
fn doc_examples_wanted(manifest: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(manifest) else { return false };
    // A top-level key comes before the first table header.
    let inline_tests = text
        .lines()
        .map(str::trim_start)
        .take_while(|l| !l.starts_with('['))
        .any(|l| l.split('=').next().is_some_and(|key| key.trim() == "test"));
    let Ok(table) = text.parse::<toml::Table>() else { return false };
    let doctest = table.get("lib").and_then(|l| l.get("doctest")).and_then(toml::Value::as_bool);
    doctest != Some(false) && !inline_tests
}

/// The library's crate name: `[lib] name`, else the package's with `_`.
fn lib_name(manifest: &Path) -> Option<String> {
    let table = crates::read_manifest(manifest).ok()?;
    match table.get("lib").and_then(|l| l.get("name")).and_then(|n| n.as_str()) {
        Some(lib) => Some(lib.replace('-', "_")),
        None => crates::package_name(&table),
    }
}

fn write_if_changed(path: &Path, text: &str) -> io::Result<()> {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        crate::engine::store::write_atomic(path, text.as_bytes())?;
    }
    Ok(())
}

/// Why the build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// cargo could not run, or the tree could not be written.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Errors no mutant explains, after every round.
    #[error("the mutated copy does not build:\n{0}")]
    Compile(String),
    /// Ctrl-C or SIGTERM during the build.
    #[error("interrupted during the build")]
    Interrupted,
}

/// How cargo is run for the build.
pub struct Cargo<'a> {
    /// Where its output goes.
    pub target_dir: &'a Path,
    /// `--features …` and the like.
    pub feature_args: &'a [String],
    /// The user's cargo configuration, which the build must keep.
    pub config: &'a CargoConfig,
    /// The noot program, run by cargo around rustc to cap the workspace's
    /// lints ([`cap_lints`]); `None` leaves them as they are.
    pub cap_lints_by: Option<&'a Path>,
    /// The workspace's packages to build optimised ([`super::optimise`]);
    /// none: as `cargo test` builds them.
    pub optimised: &'a [String],
}

/// Writes the mutated copy of `root` into `into` and builds its tests
/// once, switching unviable mutants off; cargo's own output goes to
/// `target_dir`. cargo runs through `procs`; with `stop` set (its
/// processes killed by whoever set it) the build ends as interrupted.
pub fn build(
    procs: &dyn Procs,
    stop: &AtomicBool,
    root: &Path,
    into: &Path,
    files: &[PlannedFile],
    cargo: &Cargo<'_>,
    known_unviable: &BTreeMap<u32, String>,
) -> Result<Built, BuildError> {
    let mut targets = doc_targets(root, files);
    targets.retain(|t| doc_examples_wanted(&root.join(&t.dir).join("Cargo.toml")));
    // Examples noot does not read are reported with those it drops.
    let mut dropped: BTreeMap<(String, usize), String> = targets
        .iter()
        .flat_map(|t| t.unread.iter().cloned())
        .map(|place| {
            let why = "in a #[doc = \"…\"] attribute or a /** */ comment, which noot does not read";
            (place, why.to_owned())
        })
        .collect();
    targets.retain(|t| !t.examples.is_empty());
    // Dev-dependencies only benchmarks use are not built ([`dev_deps`]).
    let members: Vec<String> = crates::crates(root)
        .map(|all| all.into_iter().map(|c| c.dir).collect())
        .unwrap_or_default();
    let mut left_out = dev_deps::unused_by_tests(root, &members);
    let stripped: Vec<String> =
        left_out.keys().filter(|dir| !targets.iter().any(|t| &&t.dir == dir)).cloned().collect();
    // The manifests noot writes, read once: each package's with what it
    // leaves out, or as it is once they are all put back.
    let written: Vec<String> =
        targets.iter().map(|t| t.dir.clone()).chain(stripped.iter().cloned()).collect();
    let manifests_of =
        |left_out: &BTreeMap<String, Vec<String>>| -> io::Result<BTreeMap<String, String>> {
            written
                .iter()
                .map(|dir| {
                    let names = left_out.get(dir).map_or(&[][..], Vec::as_slice);
                    Ok((dir.clone(), dev_deps::manifest(root, dir, names)?))
                })
                .collect()
        };
    let mut manifest_texts = manifests_of(&left_out)?;
    let manifests: BTreeSet<PathBuf> =
        written.iter().map(|dir| PathBuf::from(dir).join("Cargo.toml")).collect();
    let project_files = copy_project(root, into, &manifests)?;
    // Mutants an earlier build of the same text found unviable start off.
    let mut built = Built { unviable: known_unviable.clone(), ..Built::default() };
    let mut off: BTreeSet<u32> = known_unviable.keys().copied().collect();
    // Read once, not every round: which crate roots are of edition 2024.
    let edition_2024_roots: BTreeSet<&str> = files
        .iter()
        .filter(|f| f.crate_root && edition_2024(root, &f.package_dir))
        .map(|f| f.rel.as_str())
        .collect();
    let crate_roots = files.iter().filter(|f| f.crate_root).count();
    let mut max_rounds = ROUNDS_PER_CRATE * crate_roots.max(1);
    loop {
        built.rounds += 1;
        let texts = write_files(into, files, &off, &edition_2024_roots)?;
        for dir in &stripped {
            let manifest = manifest_texts.get(dir).map_or("", String::as_str);
            write_if_changed(&into.join(dir).join("Cargo.toml"), manifest)?;
        }
        let dropped_keys: BTreeSet<(String, usize)> = dropped.keys().cloned().collect();
        let doc_files = write_doc_targets(root, into, &targets, &dropped_keys, &manifest_texts)?;
        // Ctrl-C while the copy was written killed nothing yet.
        if stop.load(Ordering::SeqCst) {
            return Err(BuildError::Interrupted);
        }
        let output = cargo_test_no_run(procs, into, cargo)?;
        built.round_ms.push(output.elapsed_ms);
        if stop.load(Ordering::SeqCst) {
            return Err(BuildError::Interrupted);
        }
        let (binaries, errors, artifacts, compiled) = parse_messages(&output.stdout);
        built.compiled = compiled;
        if output.status == ProcStatus::Exited(0) {
            built.dev_deps_left_out = left_out.into_values().flatten().collect();
            built.binaries = binaries;
            built.sources = read_sources(into, &artifacts);
            built.project_files = project_files;
            built.doc_examples = doc_files.iter().map(|(_, examples)| examples.len()).sum();
            built.doc_dropped = dropped
                .into_iter()
                .map(|((rel, line), why)| (format!("{rel}:{line}"), why))
                .collect();
            return Ok(built);
        }
        // A build that fails naming a dev-dependency left out gets them
        // all back, in a round of its own.
        if errors.iter().any(|e| dev_deps::names_any(&e.message, &left_out)) {
            left_out.clear();
            manifest_texts = manifests_of(&left_out)?;
            max_rounds += 1;
            continue;
        }
        let mut newly_off = BTreeMap::new();
        let mut unexplained = Vec::new();
        let mut newly_dropped = 0;
        for error in &errors {
            // An example that does not build as a test is dropped; an
            // error outside every example drops the file's examples.
            if let Some((_, examples)) =
                doc_files.iter().find(|(rel, _)| same_file(into, &error.file, rel))
            {
                let culprit = examples.iter().find(|(r, _)| r.contains(&error.byte_start));
                for (_, example) in examples {
                    if culprit.is_none_or(|(_, c)| c == example) {
                        let key = (example.rel.clone(), example.line);
                        if let std::collections::btree_map::Entry::Vacant(entry) =
                            dropped.entry(key)
                        {
                            entry.insert(error.message.clone());
                            newly_dropped += 1;
                        }
                    }
                }
                continue;
            }
            let Some((file, text)) =
                texts.iter().find(|(rel, _)| same_file(into, &error.file, rel))
            else {
                unexplained.push(error.message.clone());
                continue;
            };
            let switches = culprits(text, error.byte_start);
            if switches.is_empty() {
                // No mutant around it (one broke inference or borrowing
                // beside it): the mutants of the function it is in go,
                // or, when they are off already, every mutant of the file.
                let in_function: Vec<u32> = function_switches(text, error.byte_start)
                    .into_iter()
                    .filter(|n| !off.contains(n))
                    .collect();
                if !in_function.is_empty() {
                    for number in in_function {
                        newly_off.entry(number).or_insert_with(|| {
                            format!("its function does not build: {}", error.message)
                        });
                    }
                    continue;
                }
                let planned = files.iter().find(|f| &f.rel == file);
                let all: Vec<u32> = planned
                    .map(|f| f.mutations.iter().map(|(n, _)| *n).collect())
                    .unwrap_or_default();
                if all.iter().all(|n| off.contains(n)) {
                    unexplained.push(error.message.clone());
                }
                for number in all {
                    newly_off
                        .entry(number)
                        .or_insert_with(|| format!("its file does not build: {}", error.message));
                }
            } else {
                for number in switches {
                    newly_off.entry(number).or_insert_with(|| error.message.clone());
                }
            }
        }
        let newly_off: BTreeMap<u32, String> =
            newly_off.into_iter().filter(|(n, _)| !off.contains(n)).collect();
        if (newly_off.is_empty() && newly_dropped == 0) || built.rounds >= max_rounds {
            let mut detail = unexplained;
            if detail.is_empty() {
                detail = errors.iter().map(|e| e.message.clone()).collect();
            }
            if detail.is_empty() {
                detail.push(
                    String::from_utf8_lossy(&output.stderr)
                        .lines()
                        .rev()
                        .take(20)
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
            }
            return Err(BuildError::Compile(detail.join("\n")));
        }
        off.extend(newly_off.keys().copied());
        built.unviable.extend(newly_off);
    }
}

/// Whether rustc's `file` (relative to the workspace root cargo ran it
/// in, or absolute) is `rel` of the copy `into`. Not a suffix test:
/// `core/src/lib.rs` ends with `src/lib.rs` too.
fn same_file(into: &Path, file: &str, rel: &str) -> bool {
    let file = Path::new(file);
    if file.is_relative() {
        return file == Path::new(rel);
    }
    let canonical = into.canonicalize().unwrap_or_else(|_| into.to_path_buf());
    file.strip_prefix(into)
        .or_else(|_| file.strip_prefix(&canonical))
        .is_ok_and(|r| r == Path::new(rel))
}

/// The switches whose mutant's branch holds `offset` in a schemata text,
/// innermost first; empty when the offset is in code of no mutant.
pub fn culprits(schemata_text: &str, offset: usize) -> Vec<u32> {
    let Some(tree) = super::parse(schemata_text) else { return Vec::new() };
    let mut found = Vec::new();
    let mut node = tree.root_node().descendant_for_byte_range(offset, offset);
    while let Some(current) = node {
        if current.kind() == "if_expression" {
            if let (Some(condition), Some(consequence)) = (
                current.child_by_field_name("condition"),
                current.child_by_field_name("consequence"),
            ) {
                if consequence.byte_range().contains(&offset) {
                    if let Some(number) = switch_number(condition, schemata_text) {
                        found.push(number);
                    }
                }
            }
        }
        if let Some(number) = chosen_arm(current, schemata_text) {
            let body = current.child_by_field_name("value");
            if body.is_some_and(|b| b.byte_range().contains(&offset)) {
                found.push(number);
            }
        }
        node = current.parent();
    }
    found.truncate(1);
    found
}

/// `N` for the arm `N => …` of a site's `match` on the active switch
/// ([`schemata::CHOOSE`]); `None` for its `_` arm and any other node.
fn chosen_arm(arm: Node<'_>, text: &str) -> Option<u32> {
    if arm.kind() != "match_arm" {
        return None;
    }
    let matched = arm.parent()?.parent()?;
    let value = matched.child_by_field_name("value")?;
    text.get(value.byte_range())?.strip_prefix(schemata::CHOOSE)?;
    let pattern = arm.child_by_field_name("pattern")?;
    text.get(pattern.byte_range())?.trim().parse().ok()
}

/// Every switch in the innermost function around `offset` of a
/// schemata text (closures are inside their function); empty outside
/// any function.
pub fn function_switches(schemata_text: &str, offset: usize) -> Vec<u32> {
    let Some(tree) = super::parse(schemata_text) else { return Vec::new() };
    let mut node = tree.root_node().descendant_for_byte_range(offset, offset);
    while let Some(current) = node {
        if current.kind() == "function_item" {
            let mut found = Vec::new();
            collect_switches(current, schemata_text, &mut found);
            return found;
        }
        node = current.parent();
    }
    Vec::new()
}

fn collect_switches(node: Node<'_>, text: &str, found: &mut Vec<u32>) {
    if node.kind() == "if_expression" {
        if let Some(number) =
            node.child_by_field_name("condition").and_then(|c| switch_number(c, text))
        {
            found.push(number);
        }
    }
    found.extend(chosen_arm(node, text));
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        collect_switches(child, text, found);
    }
}

/// `N` for a condition `crate::__noot_rt::on(N)`.
fn switch_number(condition: Node<'_>, text: &str) -> Option<u32> {
    let condition = text.get(condition.byte_range())?;
    condition.strip_prefix("crate::__noot_rt::on(")?.strip_suffix(')')?.parse().ok()
}

/// Whether a folder entry of this name is part of the project: not
/// cargo's output, git's store or noot's state.
fn is_project_name(name: &std::ffi::OsStr) -> bool {
    !matches!(name.to_str(), Some("target" | ".git" | ".noot"))
}

/// The project under `root`, relative: its folders (parents first) and its
/// files, leaving out what is not source and `copy` (the mutated copy,
/// wherever `[mutate] mutants_dir` puts it). One walk for the copy and
/// for the before-and-after snapshot of the project's files.
fn walk_project(root: &Path, copy: &Path) -> io::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let copy = copy.canonicalize().unwrap_or_else(|_| copy.to_path_buf());
    let (mut dirs, mut files) = (Vec::new(), Vec::new());
    let mut stack = vec![PathBuf::new()];
    while let Some(relative) = stack.pop() {
        for entry in std::fs::read_dir(root.join(&relative))? {
            let entry = entry?;
            let name = entry.file_name();
            if !is_project_name(&name) {
                continue;
            }
            let rel = relative.join(&name);
            let kind = entry.file_type()?;
            if kind.is_dir() {
                // The copy is a folder: only folders need resolving.
                if entry.path().canonicalize().is_ok_and(|c| c == copy) {
                    continue;
                }
                dirs.push(rel.clone());
                stack.push(rel);
            } else if kind.is_file() {
                files.push(rel);
            }
        }
    }
    Ok((dirs, files))
}

/// The project's files (what [`copy_project`] copies), relative to `root`,
/// as `/`-separated text.
pub fn project_files(root: &Path, copy: &Path) -> Vec<String> {
    let (_, files) = walk_project(root, copy).unwrap_or_default();
    files.iter().map(|rel| rel.to_string_lossy().replace('\\', "/")).collect()
}

/// Copies the project into `into`, leaving out what is not source.
/// `own`: files the build writes itself (the manifests given a test target).
/// Returns every file of the project as `path\0digest`, in path order
/// (the keys' view of what is not an analysed source: read here, where
/// each file is read anyway, not in a second walk).
fn copy_project(root: &Path, into: &Path, own: &BTreeSet<PathBuf>) -> io::Result<Vec<String>> {
    std::fs::create_dir_all(into)?;
    let (dirs, project) = walk_project(root, into)?;
    for dir in &dirs {
        std::fs::create_dir_all(into.join(dir))?;
    }
    let mut files = Vec::with_capacity(project.len());
    for rel in project {
        let new = std::fs::read(root.join(&rel))?;
        let rel_text = rel.to_string_lossy().replace('\\', "/");
        files.push(format!("{rel_text}\0{}", Digest::of(&new)));
        if own.contains(&rel) {
            continue;
        }
        let to = into.join(&rel);
        // Unchanged files keep their mtime, so cargo rebuilds less.
        if std::fs::read(&to).ok().as_deref() != Some(new.as_slice()) {
            std::fs::copy(root.join(&rel), &to)?;
        }
    }
    files.sort_unstable();
    Ok(files)
}

/// Writes each planned file's schemata (mutants in `off` left out) and
/// returns the texts written, by relative path.
fn write_files(
    into: &Path,
    files: &[PlannedFile],
    off: &BTreeSet<u32>,
    edition_2024_roots: &BTreeSet<&str>,
) -> io::Result<Vec<(String, String)>> {
    let mut written = Vec::new();
    let switches = files
        .iter()
        .flat_map(|f| f.mutations.iter().map(|(number, _)| *number))
        .max()
        .map_or(1, |n| n.saturating_add(1));
    for file in files {
        let switched: Vec<Switched<'_>> = file
            .mutations
            .iter()
            .filter(|(number, _)| !off.contains(number))
            .map(|(number, mutation)| Switched { number: *number, mutation })
            .collect();
        let mut text =
            schemata::write(&file.source, &switched).unwrap_or_else(|| file.source.clone());
        if file.crate_root {
            let edition_2024 = edition_2024_roots.contains(file.rel.as_str());
            text.push_str(&schemata::runtime(switches, edition_2024));
        }
        let path = into.join(&file.rel);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            crate::engine::store::write_atomic(&path, text.as_bytes())?;
        }
        written.push((file.rel.clone(), text));
    }
    Ok(written)
}

/// `cargo test --no-run` in the copy, through the Procs port: its
/// process group is noot's to kill (Ctrl-C during the build stops it
/// within a second, not when cargo is done), and the reaper sees it.
fn cargo_test_no_run(procs: &dyn Procs, dir: &Path, setup: &Cargo<'_>) -> io::Result<ProcResult> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut args: Vec<String> = ["test", "--no-run", "--workspace", "--message-format=json"]
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
    args.extend(setup.feature_args.iter().cloned());
    args.extend(super::optimise::cargo_args(setup.optimised));
    let mut env = vec![("CARGO_TARGET_DIR".to_owned(), setup.target_dir.display().to_string())];
    // `--cap-lints=warn` for the workspace's crates, by noot as rustc's
    // wrapper: the user's rustflags stay as cargo reads them.
    if let Some(noot) = setup.cap_lints_by {
        let user_wrapper = setup.config.var("RUSTC_WORKSPACE_WRAPPER").map(str::to_owned);
        env.extend(cap_lints::cargo_env(noot, user_wrapper));
    }
    // No debug info: no verdict needs it, and on semver 1.0.28 a cold run
    // took 32.3 s instead of 36.6 s (median of 3, A/B in turn). A value
    // the user set in the environment wins, and so does the user's own
    // setting when the dependencies came from the user's build
    // ([`super::seed`]): their fingerprints were made with it.
    let seeded = super::seed::is_seeded(setup.target_dir);
    for profile in ["CARGO_PROFILE_DEV_DEBUG", "CARGO_PROFILE_TEST_DEBUG"] {
        if std::env::var_os(profile).is_none() && !seeded {
            env.push((profile.to_owned(), "0".to_owned()));
        }
    }
    // cargo runs in a process group of its own, away from the terminal: a
    // git password prompt would wait for ever.
    if std::env::var_os("GIT_TERMINAL_PROMPT").is_none() {
        env.push(("GIT_TERMINAL_PROMPT".to_owned(), "0".to_owned()));
    }
    let handle = procs
        .spawn(&SpawnRequest {
            program: cargo.clone(),
            args,
            env,
            cwd: Some(dir.to_path_buf()),
            // cargo's JSON messages name every artifact and error: kept whole
            // up to a bound far above a large workspace's (noot's own: a few
            // MB), its human stderr by its end.
            output_cap_bytes: 256 << 20,
            keep: Keep::Tail,
            ..SpawnRequest::default()
        })
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run `{cargo} test`: {e}")))?;
    procs.wait(handle, None)
}

/// A compiler error's primary place.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CompileError {
    file: String,
    byte_start: usize,
    message: String,
}

/// The test binaries, the errors and the files of the project's own
/// artifacts in cargo's JSON messages, and whether rustc compiled any of
/// those artifacts (all `fresh`: cargo had nothing to do).
fn parse_messages(stdout: &[u8]) -> (Vec<TestBinary>, Vec<CompileError>, Vec<PathBuf>, bool) {
    let mut binaries = Vec::new();
    let mut errors = Vec::new();
    let mut artifacts = Vec::new();
    let mut compiled = false;
    for line in stdout.split(|&b| b == b'\n') {
        let Ok(message) = serde_json::from_slice::<serde_json::Value>(line) else { continue };
        let local = message["package_id"].as_str().is_some_and(|id| id.starts_with("path+"));
        if local && message["reason"] == "compiler-artifact" {
            let files = message["filenames"].as_array().into_iter().flatten();
            artifacts.extend(files.filter_map(|f| f.as_str()).map(PathBuf::from));
            compiled |= message["fresh"] == false;
        }
        match message["reason"].as_str() {
            Some("compiler-artifact") if message["profile"]["test"] == true => {
                if let Some(path) = message["executable"].as_str() {
                    let package = message["package_id"].as_str().unwrap_or("");
                    binaries.push(TestBinary {
                        package: package_name(package),
                        target: message["target"]["name"].as_str().unwrap_or("").to_owned(),
                        path: PathBuf::from(path),
                        dir: message["manifest_path"]
                            .as_str()
                            .and_then(|m| Path::new(m).parent())
                            .map(Path::to_path_buf)
                            .unwrap_or_default(),
                    });
                }
            }
            Some("compiler-message") if message["message"]["level"] == "error" => {
                let inner = &message["message"];
                let spans = inner["spans"].as_array().cloned().unwrap_or_default();
                let primary = spans.iter().find(|s| s["is_primary"] == true).or(spans.first());
                let Some(span) = primary else { continue };
                errors.push(CompileError {
                    file: span["file_name"].as_str().unwrap_or("").to_owned(),
                    byte_start: span["byte_start"]
                        .as_u64()
                        .and_then(|b| usize::try_from(b).ok())
                        .unwrap_or(0),
                    message: inner["message"].as_str().unwrap_or("").to_owned(),
                });
            }
            _ => {}
        }
    }
    (binaries, errors, artifacts, compiled)
}

/// The files under `into` that rustc read for `artifacts`, from the
/// dep-info file beside each (`deps/NAME-HASH.d` for
/// `deps/libNAME-HASH.rlib` or the test executable `deps/NAME-HASH`).
/// rustc lists every input as a rule of its own (`src/serde.rs:`), relative
/// to the workspace root cargo ran it in, or absolute.
fn read_sources(into: &Path, artifacts: &[PathBuf]) -> BTreeSet<PathBuf> {
    let canonical = into.canonicalize().unwrap_or_else(|_| into.to_path_buf());
    let mut sources = BTreeSet::new();
    for artifact in artifacts {
        let Some(name) = artifact.file_name().and_then(|n| n.to_str()) else { continue };
        // `deps/libNAME-HASH.rlib` has `deps/NAME-HASH.d`; an uplifted
        // `debug/libNAME.so` has `debug/libNAME.d`: try both.
        let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
        let candidates = [stem.strip_prefix("lib").unwrap_or(stem), stem];
        let Some(text) = candidates
            .iter()
            .find_map(|s| std::fs::read_to_string(artifact.with_file_name(format!("{s}.d"))).ok())
        else {
            continue;
        };
        for path in dep_info_paths(&text) {
            let absolute = lexical(&if path.is_absolute() { path } else { into.join(path) });
            let relative =
                absolute.strip_prefix(into).or_else(|_| absolute.strip_prefix(&canonical));
            if let Ok(relative) = relative {
                sources.insert(relative.to_path_buf());
            }
        }
    }
    sources
}

/// Every path a dep-info file names: rustc's form lists each input as a
/// rule of its own (`src/serde.rs:`), cargo's uplifted form lists them
/// after the target (`out: a.rs b\ c.rs`); a space in a path is `\ `.
fn dep_info_paths(text: &str) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for line in text.lines() {
        // The target ends at the first `: `, or at a final `:`.
        let Some(colon) = line.find(": ").or_else(|| line.strip_suffix(':').map(str::len)) else {
            continue;
        };
        let target = &line[..colon];
        let deps = line.get(colon + 1..).unwrap_or("");
        if deps.trim().is_empty() {
            paths.push(PathBuf::from(target.replace("\\ ", " ")));
            continue;
        }
        let mut current = String::new();
        let mut chars = deps.trim().chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&' ') => {
                    current.push(' ');
                    chars.next();
                }
                ' ' => {
                    if !current.is_empty() {
                        paths.push(PathBuf::from(std::mem::take(&mut current)));
                    }
                }
                other => current.push(other),
            }
        }
        if !current.is_empty() {
            paths.push(PathBuf::from(current));
        }
    }
    paths
}

/// `a/b/../c` as `a/c`, without asking the file system (`#[path]`
/// modules are named so in dep-info).
pub(super) fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `geo-kit` from a package id: `path+file:///…/geo-kit#0.1.0`,
/// `path+file:///…/dir#geo-kit@0.1.0` when the folder's name differs, or
/// the older `geo-kit 0.1.0 (path+file:///…)`.
fn package_name(id: &str) -> String {
    if let Some((path, fragment)) = id.rsplit_once('#') {
        if let Some((name, _)) = fragment.split_once('@') {
            return name.to_owned();
        }
        return path.rsplit('/').next().unwrap_or(path).to_owned();
    }
    id.split_whitespace().next().unwrap_or(id).to_owned()
}

#[cfg(test)]
mod tests;
