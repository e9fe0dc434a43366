//! Every mutant of a Cargo project: each crate's source files analysed
//! ([`super::analyse`]) and their mutants named `module::Type::fn__noot_N`,
//! in the catalog the Python side fills, so `noot run --list` shows both
//! alike.

use std::ops::Range;
use std::path::Path;

use super::crates::{self, CratesError};
use super::module_tree;
use super::test_files::TestFiles;
use super::{AnalysedFile, Mutation};
use crate::engine::digest::Digest;
use crate::mutate::catalog::SourceFile;
use crate::mutate::catalog::{Catalog, ModuleEntry, Mutant, Site, SkippedFunction};
use crate::mutate::excludes::Excludes;

/// The catalog, and each analysed file with its mutations by id, so the
/// build writes the schemata without reading or parsing a file again.
#[derive(Debug, Default)]
pub struct RustCatalog {
    /// What `noot run --list` and the reports show.
    pub catalog: Catalog,
    /// Every file analysed, in catalog order.
    pub files: Vec<AnalysedSource>,
}

/// One analysed source file.
#[derive(Debug)]
pub struct AnalysedSource {
    /// Path relative to the project root.
    pub rel: String,
    /// Its text.
    pub source: String,
    /// Its mutations, by mutant id (excluded functions left out).
    pub mutations: Vec<(String, Mutation)>,
    /// The key and body range of each function mutated (for the keys).
    pub bodies: Vec<(String, Range<usize>)>,
    /// The root file of a library or binary (it gets the runtime module).
    pub crate_root: bool,
    /// Its package's folder, relative to the project root (`""` for the
    /// root package).
    pub package_dir: String,
}

/// Analyses every source file of every crate of the project at `root`.
/// Only the crates `packages` names, when it names any.
pub fn build(
    root: &Path,
    excludes: &Excludes,
    packages: &[String],
) -> Result<RustCatalog, CratesError> {
    let mut found = RustCatalog::default();
    for krate in crates::only(crates::crates(root)?, packages)? {
        // A proc-macro runs inside rustc: no test process reads its switches.
        if krate.proc_macro {
            let manifest = if krate.dir.is_empty() {
                "Cargo.toml".into()
            } else {
                format!("{}/Cargo.toml", krate.dir)
            };
            found.catalog.skipped.push(SkippedFunction {
                function: krate.name.clone(),
                file: manifest,
                line: 1,
                reason: "a proc-macro crate: its code runs inside rustc, where no mutant can be switched on"
                    .into(),
            });
            continue;
        }
        // Every file is analysed before any is added: which files are test
        // code is declared in their parents.
        let mut test_files = TestFiles::default();
        let files = module_tree::files(root, &krate, |file| read_and_analyse(root, file));
        for beside in files.iter().filter(|f| f.modules_beside) {
            test_files.modules_beside(&beside.file.rel);
        }
        let all: Vec<_> = files.into_iter().map(|f| (f.file, f.analysed)).collect();
        // An excluded file still says which of its modules are tests;
        // files loaded through a `#[path]` first, whose modules live
        // beside them.
        let analysed_files = || all.iter().filter_map(|(f, a)| Some((f, &a.as_ref().ok()?.1)));
        for (file, analysed) in analysed_files() {
            for module in analysed.modules.iter().chain(&analysed.test_modules) {
                test_files.loaded_by_path(&file.rel, module);
            }
        }
        for (file, analysed) in analysed_files() {
            for module in &analysed.test_modules {
                test_files.declare(&file.rel, module);
            }
            if analysed.test_only {
                test_files.whole_file(&file.rel);
            }
        }
        // What a test module declares is test code too, down the tree.
        let mut more = true;
        while more {
            more = false;
            for (file, analysed) in analysed_files() {
                more |= test_files.declare_below(&file.rel, &analysed.modules);
            }
        }
        let read: Vec<_> =
            all.into_iter().filter(|(file, _)| !excludes.matches(&file.rel)).collect();
        for (file, analysed) in read {
            if let Some(why) = test_files.why(&file.rel) {
                found.catalog.skipped.push(SkippedFunction {
                    function: file.module.clone(),
                    file: file.rel.clone(),
                    line: 1,
                    reason: why.to_owned(),
                });
                continue;
            }
            match analysed {
                Ok((source, analysed)) => {
                    let crate_root = krate.roots.iter().any(|r| r.rel == file.rel);
                    add_file(&file, crate_root, source, analysed, excludes, &mut found);
                }
                Err(why) => found.catalog.unparsable.push((file.rel, why)),
            }
        }
    }
    Ok(found)
}

/// A source file's text and analysis, or why it has none.
fn read_and_analyse(root: &Path, file: &SourceFile) -> Result<(String, AnalysedFile), String> {
    let source = match std::fs::read(root.join(&file.rel)).map(String::from_utf8) {
        Ok(Ok(text)) => text,
        Ok(Err(_)) => return Err("not UTF-8".into()),
        Err(e) => return Err(e.to_string()),
    };
    let analysed = super::analyse(&source, &file.module).map_err(|e| e.to_string())?;
    Ok((source, analysed))
}

fn add_file(
    file: &SourceFile,
    crate_root: bool,
    source: String,
    analysed: AnalysedFile,
    excludes: &Excludes,
    found: &mut RustCatalog,
) {
    let catalog = &mut found.catalog;
    for skipped in analysed.skipped {
        catalog.skipped.push(SkippedFunction {
            function: skipped.key,
            file: file.rel.clone(),
            line: skipped.line,
            reason: skipped.reason.to_owned(),
        });
    }
    let mut mutations = Vec::new();
    let mut bodies = Vec::new();
    for function in analysed.functions {
        if excludes.matches(&function.key) {
            catalog.skipped.push(SkippedFunction {
                function: function.key,
                file: file.rel.clone(),
                line: function.line,
                reason: "excluded by [mutate] exclude".into(),
            });
            continue;
        }
        bodies.push((function.key.clone(), function.body.clone()));
        for (index, mutation) in function.mutations.into_iter().enumerate() {
            let mutant = Mutant::of_function(
                &file.rel,
                &source,
                &function.key,
                function.body.clone(),
                index + 1,
                Site {
                    operator: mutation.operator,
                    span: mutation.span.clone(),
                    line: mutation.line,
                    column: mutation.column,
                    replacement: &mutation.replacement,
                },
            );
            mutations.push((mutant.id.clone(), mutation));
            catalog.mutants.push(mutant);
        }
    }
    catalog.modules.push(ModuleEntry {
        source: file.clone(),
        digest: Digest::of(source.as_bytes()),
        lines: source.lines().count(),
        imports: Vec::new(),
        mutated: None,
    });
    found.files.push(AnalysedSource {
        rel: file.rel.clone(),
        source,
        mutations,
        bodies,
        crate_root,
        package_dir: file.root.clone(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A derive crate's code runs inside rustc: its functions are not
    /// mutated, and the run says why.
    #[test]
    fn a_proc_macro_member_is_skipped_as_a_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("derive/src")).expect("mkdir");
        std::fs::create_dir_all(root.join("src")).expect("mkdir");
        std::fs::write(
            root.join("Cargo.toml"),
            "[package]\nname = \"app\"\n[workspace]\nmembers = [\"derive\"]\n",
        )
        .expect("write");
        std::fs::write(root.join("src/lib.rs"), "pub fn one() -> u8 { 1 }\n").expect("write");
        std::fs::write(
            root.join("derive/Cargo.toml"),
            "[package]\nname = \"app-derive\"\n[lib]\nproc-macro = true\n",
        )
        .expect("write");
        std::fs::write(root.join("derive/src/lib.rs"), "pub fn two() -> u8 { 2 }\n")
            .expect("write");
        let catalog = build(root, &Excludes::default(), &[]).expect("catalog").catalog;
        assert!(catalog.mutants.iter().all(|m| m.id.starts_with("app::")), "{:?}", catalog.mutants);
        assert_eq!(catalog.skipped.len(), 1);
        assert_eq!(catalog.skipped[0].function, "app_derive");
        assert!(catalog.skipped[0].reason.starts_with("a proc-macro crate"));
    }

    /// `exclude`ing the file that declares a test module does not make
    /// the test module's file library code.
    #[test]
    fn a_test_module_declared_in_an_excluded_file_stays_test_code() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("src")).expect("mkdir");
        std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"app\"\n").expect("write");
        std::fs::write(
            root.join("src/lib.rs"),
            "pub fn one() -> u8 { 1 }\n#[cfg(test)]\nmod tests;\n",
        )
        .expect("write");
        std::fs::write(root.join("src/tests.rs"), "fn helper() -> u8 { 1 + 1 }\n").expect("write");
        let excludes = Excludes::new(&["src/lib.rs".to_owned()]).expect("excludes");
        let catalog = build(root, &excludes, &[]).expect("catalog").catalog;
        assert!(catalog.mutants.is_empty(), "{:?}", catalog.mutants);
        assert_eq!(catalog.skipped.len(), 1);
        assert_eq!(catalog.skipped[0].file, "src/tests.rs");
    }

    #[test]
    fn a_crates_mutants_are_named_by_module_and_excludes_apply() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("src/shapes")).expect("mkdir");
        std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"geo-kit\"\n").expect("write");
        std::fs::write(
            root.join("src/lib.rs"),
            "pub mod shapes;\npub fn double(x: u32) -> u32 { x * 2 }\n",
        )
        .expect("write");
        std::fs::write(
            root.join("src/shapes/mod.rs"),
            "pub fn is_big(x: u32) -> bool { x > 10 }\npub fn noisy() -> u8 { 1 }\n",
        )
        .expect("write");
        let excludes = Excludes::new(&["geo_kit::shapes::noisy".to_owned()]).expect("excludes");
        let catalog = build(root, &excludes, &[]).expect("catalog").catalog;
        let ids: Vec<&str> = catalog.mutants.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "geo_kit::double__noot_1",
                "geo_kit::double__noot_2",
                "geo_kit::double__noot_3",
                "geo_kit::double__noot_4",
                "geo_kit::shapes::is_big__noot_1",
                "geo_kit::shapes::is_big__noot_2",
                "geo_kit::shapes::is_big__noot_3",
                "geo_kit::shapes::is_big__noot_4",
                "geo_kit::shapes::is_big__noot_5",
            ]
        );
        let star = &catalog.mutants[2];
        assert_eq!((star.file.as_str(), star.line, star.column), ("src/lib.rs", 2, 34));
        assert_eq!((star.original.as_str(), star.replacement.as_str()), ("*", "+"));
        assert_eq!(catalog.skipped.len(), 1);
        assert_eq!(catalog.skipped[0].reason, "excluded by [mutate] exclude");
        assert_eq!(catalog.modules.len(), 2);
    }
}
