//! The Rust analyser read a function's modifiers only when they came
//! first, so `pub(crate) const fn` and `pub unsafe fn` (a visibility
//! before the modifiers) were mutated: semver 1.0.28's `identifier.rs`
//! then failed to build ("cannot call non-const function `on` in constant
//! functions") and all 50 of its mutants were reported unviable.

use super::noot_run;

/// An empty crate `name` of `edition` in a temporary folder; its files
/// are written by the test.
pub(super) fn crate_dir(name: &str, edition: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
    let manifest =
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"{edition}\"\n");
    std::fs::write(dir.path().join("Cargo.toml"), manifest).expect("write");
    dir
}

/// `noot run --list --format json` in `dir`, parsed.
fn listed(dir: &std::path::Path) -> serde_json::Value {
    let (code, stdout, stderr) = noot_run(dir, &["run", "--list", "--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    serde_json::from_str(&stdout).expect("json")
}

#[test]
fn const_and_unsafe_functions_after_a_visibility_are_skipped() {
    let dir = crate_dir("mods", "2021");
    std::fs::write(
        dir.path().join("src/lib.rs"),
        "pub(crate) const fn empty() -> u8 {\n    !0\n}\n\n\
         pub unsafe fn raw(x: u8) -> u8 {\n    x + 1\n}\n\n\
         pub(super) const unsafe fn both() -> u8 {\n    1 + 1\n}\n\n\
         pub fn plain(x: u8) -> u8 {\n    x + 1\n}\n",
    )
    .expect("write");
    let listed = listed(dir.path());
    let functions: Vec<&str> = listed["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .filter_map(|m| m["function"].as_str())
        .collect();
    assert!(functions.iter().all(|f| *f == "mods::plain"), "{functions:?}");
    assert!(!functions.is_empty());
    let skipped: Vec<(&str, &str)> = listed["skipped_functions"]
        .as_array()
        .expect("skipped")
        .iter()
        .filter_map(|s| Some((s["function"].as_str()?, s["reason"].as_str()?)))
        .collect();
    assert_eq!(
        skipped,
        [
            ("mods::empty", "const fn: evaluated at compile time"),
            ("mods::raw", "unsafe fn"),
            ("mods::both", "const fn: evaluated at compile time"),
        ]
    );
}

#[test]
fn operators_in_a_let_statement_are_mutated_and_let_chains_are_not() {
    let dir = crate_dir("lets", "2024");
    std::fs::write(
        dir.path().join("src/lib.rs"),
        "pub fn pad(m: usize, len: usize) -> usize {\n    let p = m - len;\n    p\n}\n\n\
         pub fn chain(x: Option<u8>, y: bool) -> bool {\n    if let Some(v) = x && y {\n        return v > 1;\n    }\n    false\n}\n",
    )
    .expect("write");
    let listed = listed(dir.path());
    let operators: Vec<(u64, &str)> = listed["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .filter(|m| m["operator"] == "binary_operator")
        .filter_map(|m| Some((m["line"].as_u64()?, m["replacement"].as_str()?)))
        .collect();
    // `m - len` gets cargo-mutants' two swaps; `v > 1` its three; the
    // chain's `&&` none.
    assert_eq!(operators, [(2, "+"), (2, "/"), (8, "=="), (8, "<"), (8, ">=")]);
}

#[test]
fn a_function_of_main_rs_and_one_of_lib_rs_have_ids_of_their_own() {
    let dir = crate_dir("both", "2021");
    std::fs::write(dir.path().join("src/lib.rs"), "pub fn run() -> u8 {\n    1\n}\n")
        .expect("write");
    std::fs::write(
        dir.path().join("src/main.rs"),
        "fn run() -> u8 {\n    2\n}\n\nfn main() {\n    run();\n}\n",
    )
    .expect("write");
    let listed = listed(dir.path());
    let ids: Vec<&str> = listed["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    assert!(
        ids.contains(&"both::run__noot_1") && ids.contains(&"both::main::run__noot_1"),
        "{ids:?}"
    );
}

/// `noot config show` in a crate detected Python paths and tests: it said
/// "paths = []  # none found: put the package in src/PKG …", advice for a
/// Python project, and listed keys a Rust run refuses.
#[test]
fn config_show_in_a_crate_says_rust_and_shows_only_the_keys_a_rust_run_reads() {
    let dir = crate_dir("shown", "2021");
    std::fs::write(dir.path().join("src/lib.rs"), "pub fn one() -> u8 {\n    1\n}\n")
        .expect("write");
    std::fs::write(dir.path().join("noot.toml"), "[mutate]\nexclude_tests = [\"e2e::*\"]\n")
        .expect("write");
    let (code, stdout, stderr) = noot_run(dir.path(), &["config", "show"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("language = \"rust\"  # detected: Cargo.toml"), "{stdout}");
    assert!(stdout.contains("exclude_tests = [\"e2e::*\"]  # "), "{stdout}");
    let mutate = stdout.split("[mutate]").nth(1).unwrap_or_default();
    assert!(!mutate.contains("src/PKG"), "{stdout}");
    for python_only in ["paths = ", "tests = ", "python = "] {
        assert!(!mutate.lines().any(|l| l.starts_with(python_only)), "{python_only} in {stdout}");
    }
    let (code, stdout, stderr) = noot_run(dir.path(), &["config", "show", "--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let shown: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(shown["mutate"]["language"], "rust", "{shown}");
    // Nor does the JSON list what a Rust run refuses.
    for python_only in ["paths", "tests", "python", "pytest_args"] {
        assert!(shown["mutate"].get(python_only).is_none(), "{python_only} in {shown}");
        let origin = format!("mutate.{python_only}");
        assert!(shown["origins"].get(&origin).is_none(), "{origin} in {shown}");
    }
    assert_eq!(shown["mutate"]["exclude_tests"], serde_json::json!(["e2e::*"]), "{shown}");
}

/// Doc examples were found by reading every line that starts with `///`,
/// so a test's string literal holding Rust source with doc comments gave
/// an "example" that failed to build (noot's own workspace warned "1 of 6
/// doc examples are not used … expected one of `!` or `[`"). rustdoc
/// reads comments, not strings, and never sees `#[cfg(test)]` code.
#[test]
fn doc_examples_are_read_from_comments_not_from_strings_or_test_modules() {
    let source = r#"/// ```
/// assert_eq!(one(), 1);
/// ```
pub fn one() -> u8 {
    1
}

/// ```
/// documents_a_test_only_item();
/// ```
#[cfg(test)]
mod more_tests {}

#[cfg(test)]
mod tests {
    /// ```
    /// this_is_a_test_helpers_doc();
    /// ```
    fn helper() {}

    #[test]
    fn reads_sources() {
        let text = "\
/// ```
/// ## not rust
/// ```
fn f() {}
";
        assert!(!text.is_empty());
    }
}
"#;
    let found = noot::mutate::lang::rust::doctests::examples("src/lib.rs", source);
    let lines: Vec<usize> = found.iter().map(|e| e.line).collect();
    assert_eq!(lines, [1], "{found:?}");
    // A file that is test code as a whole has no examples rustdoc runs.
    let test_file = format!("#![cfg(test)]\n{source}");
    assert!(noot::mutate::lang::rust::doctests::examples("src/t.rs", &test_file).is_empty());
}

/// Writes `text` to `rel` under `root`, making its folders.
fn write_file(root: &std::path::Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// The functions a `--list` report has mutants in.
fn mutated_functions(listed: &serde_json::Value) -> std::collections::BTreeSet<&str> {
    listed["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .filter_map(|m| m["function"].as_str())
        .collect()
}

/// The modules of a test module loaded through a `#[path]` were analysed
/// as library code (their helpers mutated): rustc looks for them beside
/// that file, as for a `mod.rs`, and they are test code as it is. Nor did
/// a library module loaded through a `#[path]` have its own test module
/// looked for beside it.
#[test]
fn the_modules_of_a_test_file_loaded_by_path_are_test_code() {
    let dir = crate_dir("paths", "2021");
    let write = |rel: &str, text: &str| write_file(dir.path(), rel, text);
    write(
        "src/lib.rs",
        "pub fn one() -> u8 {\n    1\n}\n\n#[cfg(test)]\n#[path = \"lib_tests.rs\"]\nmod tests;\n\n\
         #[path = \"sys/unix.rs\"]\nmod imp;\n",
    );
    write(
        "src/lib_tests.rs",
        "mod helpers;\n\n#[test]\nfn one_is_one() {\n    assert_eq!(super::one(), helpers::helper());\n}\n",
    );
    write("src/helpers.rs", "pub fn helper() -> u8 {\n    1 + 0\n}\n");
    write("src/sys/unix.rs", "pub fn two() -> u8 {\n    2\n}\n\n#[cfg(test)]\nmod tests;\n");
    write("src/sys/tests.rs", "pub fn unix_helper() -> u8 {\n    2 + 0\n}\n");
    let listed = listed(dir.path());
    let functions = mutated_functions(&listed);
    assert!(!functions.iter().any(|f| f.contains("helper")), "{functions:?}");
    assert!(functions.contains("paths::one"), "{functions:?}");
}

/// A test module in a file of its own (`#[cfg(test)] mod tests;`, the
/// layout noot's own crates use) was analysed as library code: every
/// `.rs` file under `src/` was read, so the helpers of `src/tests.rs` were
/// mutated and its doc comments searched for examples, although rustdoc
/// never compiles them and `#[cfg(test)]` code is never mutated inline.
#[test]
fn a_test_module_in_a_file_of_its_own_is_test_code() {
    let dir = crate_dir("split", "2021");
    let write = |rel: &str, text: &str| write_file(dir.path(), rel, text);
    write(
        "src/lib.rs",
        "pub fn one() -> u8 {\n    1\n}\n\n#[cfg(test)]\nmod tests;\n\n\
         #[cfg(test)]\n#[path = \"checks/extra.rs\"]\nmod extra;\n\n\
         mod only_tests;\n\n#[cfg(test_utils)]\nmod fixtures;\n\n\
         pub mod inner {\n    #[cfg(test)]\n    mod deep;\n\n    pub fn two() -> u8 {\n        2\n    }\n}\n",
    );
    let helper = |name: &str| {
        format!(
            "/// ```\n/// assert!(false, \"rustdoc never runs this\");\n/// ```\n\
             pub fn {name}() -> u8 {{\n    1 + 0\n}}\n"
        )
    };
    write(
        "src/tests.rs",
        &format!(
            "mod more;\n\n{}\n#[test]\nfn one_is_one() {{\n    assert_eq!(super::one(), helper());\n}}\n",
            helper("helper")
        ),
    );
    write("src/tests/more.rs", &helper("more_helper"));
    write("src/checks/extra.rs", &helper("extra_helper"));
    write("src/inner/deep.rs", &helper("deep_helper"));
    write("src/only_tests.rs", &format!("#![cfg(test)]\n\n{}", helper("only_helper")));
    // `cfg(test_utils)` is not `cfg(test)`: library code behind a cfg.
    write("src/fixtures.rs", "pub fn fixture() -> u8 {\n    1 + 0\n}\n");
    let listed = listed(dir.path());
    let functions = mutated_functions(&listed);
    assert_eq!(
        functions,
        ["split::fixtures::fixture", "split::inner::two", "split::one"].into(),
        "{listed}"
    );
    let skipped_files: std::collections::BTreeSet<&str> = listed["skipped_functions"]
        .as_array()
        .expect("skipped")
        .iter()
        .filter(|s| s["reason"].as_str().is_some_and(|r| r.starts_with("test code")))
        .filter_map(|s| s["file"].as_str())
        .collect();
    assert_eq!(
        skipped_files,
        [
            "src/checks/extra.rs",
            "src/inner/deep.rs",
            "src/only_tests.rs",
            "src/tests.rs",
            "src/tests/more.rs"
        ]
        .into(),
        "{listed}"
    );
    // Their doc examples are not run: each would fail.
    let (code, stdout, stderr) = noot_run(dir.path(), &["run", "--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(
        report["summary"]["total"],
        listed["mutants"].as_array().map(Vec::len).unwrap_or(0),
        "{report}"
    );
    assert!(!stderr.contains("doc examples are not used"), "{stderr}");
}

/// `noot --help` still said "Mutation testing for Python (Rust: not yet)
/// … Rust projects are not supported yet", and `noot run --help` "Mutation-
/// test a Python project", while `noot run` mutation-tests crates.
#[test]
fn the_help_says_noot_run_mutation_tests_crates_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, top, _) = noot_run(dir.path(), &["--help"]);
    assert_eq!(code, Some(0));
    assert!(!top.contains("not yet") && !top.contains("not supported"), "{top}");
    let (code, run, _) = noot_run(dir.path(), &["run", "--help"]);
    assert_eq!(code, Some(0));
    let first = run.lines().next().unwrap_or_default();
    assert!(first.contains("Rust"), "{first}");
    assert!(run.contains("cargo noot run"), "{run}");
}

/// A crate whose `[lib] path` (or `[[bin]] path`) is not under `src/`
/// had no mutants: only `src/` was searched. Its files are found as rustc
/// finds them now, from each target's root down its `mod` declarations.
#[test]
fn a_crate_whose_targets_are_not_under_src_is_mutated() {
    let dir = crate_dir("rootlib", "2021");
    let write = |rel: &str, text: &str| write_file(dir.path(), rel, text);
    std::fs::remove_dir(dir.path().join("src")).expect("no src");
    write(
        "Cargo.toml",
        "[package]\nname = \"rootlib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [lib]\npath = \"lib.rs\"\n\n[[bin]]\nname = \"cli\"\npath = \"tools/cli.rs\"\n",
    );
    write(
        "lib.rs",
        "mod util;\n\npub fn double(x: u32) -> u32 {\n    util::twice(x)\n}\n\n\
         #[cfg(test)]\nmod tests {\n    #[test]\n    fn doubles() {\n        assert_eq!(super::double(3), 6);\n    }\n}\n",
    );
    write("util.rs", "pub fn twice(x: u32) -> u32 {\n    x * 2\n}\n");
    write("tools/cli.rs", "fn main() {\n    println!(\"{}\", rootlib::double(2));\n}\n");
    let listed = listed(dir.path());
    let functions = mutated_functions(&listed);
    assert_eq!(
        functions,
        ["cli::main", "rootlib::double", "rootlib::util::twice"].into_iter().collect(),
        "{listed}"
    );
    let (code, stdout, stderr) = noot_run(dir.path(), &["run", "--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    for mutant in report["mutants"].as_array().expect("mutants") {
        let expected = if mutant["function"] == "cli::main" { "no_tests" } else { "killed" };
        assert_eq!(mutant["status"], expected, "{mutant}");
    }
}
