//! The one build: cargo's messages read, compiler errors traced to the
//! mutant whose branch holds them, and a real crate built with cargo.

use std::process::Command;

use std::sync::atomic::AtomicBool;

use super::*;

#[test]
fn package_ids_of_every_cargo_spelling_give_the_name() {
    assert_eq!(package_name("path+file:///tmp/p/geo-kit#0.1.0"), "geo-kit");
    assert_eq!(package_name("path+file:///tmp/p/crates/a#geo-kit@0.1.0"), "geo-kit");
    assert_eq!(package_name("geo-kit 0.1.0 (path+file:///tmp/p)"), "geo-kit");
}

#[test]
fn test_binaries_and_errors_are_read_from_cargos_messages() {
    let stdout = br#"{"reason":"compiler-artifact","package_id":"path+file:///p#geo@0.1.0","target":{"name":"geo"},"profile":{"test":true},"executable":"/t/debug/deps/geo-1234","manifest_path":"/p/Cargo.toml"}
{"reason":"compiler-artifact","package_id":"path+file:///p#geo@0.1.0","target":{"name":"geo"},"profile":{"test":false},"executable":null}
{"reason":"compiler-message","message":{"level":"error","message":"mismatched types","spans":[{"file_name":"src/lib.rs","byte_start":40,"is_primary":true}]}}
{"reason":"compiler-message","message":{"level":"warning","message":"unused","spans":[]}}
not json
"#;
    let (binaries, errors, artifacts, _) = parse_messages(stdout);
    // Both artifacts of the local package; none names a file.
    assert_eq!(artifacts, Vec::<PathBuf>::new());
    assert_eq!(
        binaries,
        [TestBinary {
            package: "geo".into(),
            target: "geo".into(),
            path: "/t/debug/deps/geo-1234".into(),
            dir: "/p".into(),
        }]
    );
    assert_eq!(
        errors,
        [CompileError {
            file: "src/lib.rs".into(),
            byte_start: 40,
            message: "mismatched types".into()
        }]
    );
}

/// A workspace whose root is a package: an error in `core/src/lib.rs`
/// is not one in the root's `src/lib.rs`, though the one path ends with
/// the other.
#[test]
fn an_error_names_its_file_exactly() {
    let into = Path::new("/tmp/copy");
    assert!(same_file(into, "src/lib.rs", "src/lib.rs"));
    assert!(!same_file(into, "core/src/lib.rs", "src/lib.rs"));
    assert!(same_file(into, "/tmp/copy/core/src/lib.rs", "core/src/lib.rs"));
    assert!(!same_file(into, "/elsewhere/src/lib.rs", "src/lib.rs"));
}

/// rustc's dep-info lists each input as a rule of its own, relative to
/// the workspace root or absolute; a library's is `NAME-HASH.d` for
/// `libNAME-HASH.rlib`.
#[test]
fn the_files_rustc_read_come_from_the_dep_info_beside_each_artifact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let deps = root.join("target/debug/deps");
    std::fs::create_dir_all(&deps).expect("mkdir");
    let absolute = root.join("member/src/lib.rs");
    std::fs::write(
        deps.join("geo-12.d"),
        format!(
            "{0}/libgeo-12.rlib: src/lib.rs src/a\\ b.rs\n\nsrc/lib.rs:\nsrc/a\\ b.rs:\n{1}:\n/elsewhere/x.rs:\n",
            deps.display(),
            absolute.display()
        ),
    )
    .expect("write");
    // An uplifted binary's dep-info, cargo's single rule, with a `#[path]`.
    let debug = root.join("target/debug");
    std::fs::write(
        debug.join("tool.d"),
        format!(
            "{0}/tool: {1}/src/bin/tool.rs {1}/src/bin/../shared.rs\n",
            debug.display(),
            root.display()
        ),
    )
    .expect("write");
    let sources = read_sources(
        root,
        &[
            deps.join("libgeo-12.rlib"),
            deps.join("libgeo-12.rmeta"),
            deps.join("missing-1"),
            debug.join("tool"),
        ],
    );
    let sources: Vec<&Path> = sources.iter().map(PathBuf::as_path).collect();
    assert_eq!(
        sources,
        [
            Path::new("member/src/lib.rs"),
            Path::new("src/a b.rs"),
            Path::new("src/bin/tool.rs"),
            Path::new("src/lib.rs"),
            Path::new("src/shared.rs"),
        ]
    );
}

#[test]
fn an_error_in_a_branch_names_its_mutant_and_one_outside_names_none() {
    let text = "fn f() -> u8 { if crate::__noot_rt::on(3) { Default::default() } else { (if crate::__noot_rt::on(4) { 1 - 2 } else { 1 + 2 }) } }";
    let at = |needle: &str| text.find(needle).expect("in text");
    assert_eq!(culprits(text, at("Default")), [3]);
    assert_eq!(culprits(text, at("1 - 2")), [4], "the innermost");
    assert_eq!(culprits(text, at("1 + 2")), Vec::<u32>::new(), "the original's code");
    assert_eq!(culprits(text, at("-> u8")), Vec::<u32>::new());
}

/// The same for a site's `match` on the active switch: an error in an
/// arm names that arm's mutant, one in `_` (the original) none.
#[test]
fn an_error_in_a_chosen_arm_names_its_mutant() {
    let text = "fn f() -> u8 { match crate::__noot_rt::active(&[3, 4]) { 3 => { Default::default() } 4 => { 2 } _ => { (match crate::__noot_rt::active(&[5]) { 5 => { 1 - 2 } _ => { 1 + 2 } }) } } }";
    let at = |needle: &str| text.find(needle).expect("in text");
    assert_eq!(culprits(text, at("Default")), [3]);
    assert_eq!(culprits(text, at("1 - 2")), [5], "the innermost");
    assert_eq!(culprits(text, at("1 + 2")), Vec::<u32>::new(), "the original's code");
    let mut in_f = function_switches(text, at("-> u8"));
    in_f.sort_unstable();
    assert_eq!(in_f, [3, 4, 5]);
}

/// An error no mutant's branch holds goes to the mutants of the function
/// it is in (nested switches and closures included), not its file's.
#[test]
fn an_error_outside_every_branch_names_the_switches_of_its_function() {
    let text = "fn f() -> u8 { let k = |x: u8| if crate::__noot_rt::on(5) { x - 1 } else { x + 1 }; if crate::__noot_rt::on(3) { Default::default() } else { (if crate::__noot_rt::on(4) { k(1) } else { k(2) }) } }\n\nfn g() -> u8 { if crate::__noot_rt::on(6) { 0 } else { 7 } }\n\nconst C: u8 = 1;\n";
    let at = |needle: &str| text.find(needle).expect("in text");
    let mut in_f = function_switches(text, at("let k"));
    in_f.sort_unstable();
    assert_eq!(in_f, [3, 4, 5]);
    assert_eq!(function_switches(text, at("-> u8 { if")), [6]);
    assert_eq!(function_switches(text, at("const C")), Vec::<u32>::new(), "outside any function");
}

/// A crate built for real: the mutant that cannot build is found and
/// switched off, the rest build once, and the one unit-test binary runs
/// each mutant by its number.
#[test]
fn a_crate_builds_once_with_its_viable_mutants_and_runs_each_by_number() {
    let project = tempfile::tempdir().expect("tempdir");
    let root = project.path();
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"geo-kit\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .expect("write");
    // No `#![deny(warnings)]`: the lints are capped by the noot program as
    // cargo's rustc wrapper, which a unit test does not have (the e2e and
    // regression tests build such crates through the real binary).
    let source = "pub struct P { pub x: i32 }\n\npub fn make() -> P { P { x: 1 } }\n\npub fn add(a: i32, b: i32) -> i32 { a + b }\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() { assert_eq!(super::add(2, 3), 5); }\n}\n";
    std::fs::write(root.join("src/lib.rs"), source).expect("write");
    let analysed = super::super::analyse(source, "geo_kit").expect("parses");
    let mut number = 0;
    let mutations: Vec<(u32, Mutation)> = analysed
        .functions
        .iter()
        .flat_map(|f| f.mutations.iter().cloned())
        .map(|m| {
            number += 1;
            (number, m)
        })
        .collect();
    let find = |operator: &str, replacement: &str| {
        mutations
            .iter()
            .find(|(_, m)| m.operator == operator && m.replacement == replacement)
            .map(|(n, _)| *n)
            .unwrap_or_else(|| panic!("no {operator} → {replacement} in {mutations:?}"))
    };
    let (default_make, minus, times) = (
        find("replace_body", "{ Default::default() }"),
        find("binary_operator", "-"),
        find("binary_operator", "*"),
    );
    let planned = [PlannedFile {
        rel: "src/lib.rs".into(),
        source: source.into(),
        mutations: mutations.clone(),
        crate_root: true,
        package_dir: String::new(),
    }];
    let tree = root.join(".noot/mutants");
    let target = root.join(".noot/target");
    let procs = crate::engine::procs::RealProcs::default();
    let stop = AtomicBool::new(false);
    let built = build(
        &procs,
        &stop,
        root,
        &tree,
        &planned,
        &Cargo {
            target_dir: &target,
            feature_args: &[],
            config: &CargoConfig::default(),
            cap_lints_by: None,
            optimised: &[],
        },
        &BTreeMap::new(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        built.unviable.keys().copied().collect::<Vec<_>>(),
        [default_make],
        "{:?}",
        built.unviable
    );
    assert_eq!(built.rounds, 2);
    let unit = built.binaries.iter().find(|b| b.target == "geo_kit").expect("the unit tests");
    assert_eq!(unit.package, "geo-kit");
    let passes = |mutant: u32| {
        Command::new(&unit.path)
            .args(["--exact", "tests::adds", "--quiet"])
            .env("NOOT_MUTANT", mutant.to_string())
            .output()
            .expect("runs")
            .status
            .success()
    };
    assert!(passes(0), "no mutant");
    assert!(!passes(minus), "a - b is caught");
    assert!(!passes(times), "a * b is caught");
    assert!(
        std::fs::read_to_string(root.join("src/lib.rs")).expect("read") == source,
        "the user's file is untouched"
    );
}
