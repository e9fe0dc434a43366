use super::*;
use crate::engine::test_tree::write;

/// A package whose benchmarks use `criterion`, whose tests use
/// `serde_json`, whose README's example uses `proptest`, and whose
/// `fuzz-utils` and `criterion` only a link and a word in the README
/// name.
fn package(root: &Path) {
    write(
        root,
        "Cargo.toml",
        "[package]\nname = \"geo\"\nversion = \"0.1.0\"\n\n\
         [dev-dependencies]\nserde_json = \"1\"\nproptest = \"1\"\n\n\
         [target.'cfg(not(miri))'.dev-dependencies.criterion]\nversion = \"0.8\"\n\n\
         [target.'cfg(unix)'.dev-dependencies]\nfuzz-utils = \"0.1\"\n\n\
         [[bench]]\nname = \"speed\"\nharness = false\n",
    );
    write(root, "src/lib.rs", "pub fn f() -> u8 {\n    1\n}\n");
    write(
        root,
        "tests/it.rs",
        "#[test]\nfn parses() {\n    serde_json::from_str::<u8>(\"1\").unwrap();\n}\n",
    );
    write(
        root,
        "README.md",
        "```\nuse proptest::prelude::*;\n```\nSee docs.rs/fuzz_utils/latest, or criterion.\n",
    );
    write(root, "benches/speed.rs", "use criterion::Criterion;\nfn main() {}\n");
    write(root, "target/debug/build/x/out.rs", "criterion fuzz_utils");
}

#[test]
fn dev_dependencies_only_benchmarks_or_nothing_name_are_left_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    package(dir.path());
    let unused = unused_by_tests(dir.path(), &[String::new()]);
    assert_eq!(
        unused,
        BTreeMap::from([(String::new(), vec!["criterion".to_owned(), "fuzz-utils".to_owned()])])
    );
    let stripped = manifest(dir.path(), "", &unused[""]).expect("manifest");
    let table: toml::Table = stripped.parse().expect("still a manifest");
    let dev = table["dev-dependencies"].as_table().expect("dev-dependencies");
    assert!(dev.contains_key("serde_json") && dev.contains_key("proptest"), "{stripped}");
    assert!(!stripped.contains("[target.\"cfg(not(miri))\".dev-dependencies.criterion]"));
    assert!(!table["target"].to_string().contains("criterion"), "{stripped}");
    assert!(!table["target"].to_string().contains("fuzz-utils"), "{stripped}");
    assert_eq!(table["bench"][0]["name"].as_str(), Some("speed"), "the rest is kept");
    let original = std::fs::read_to_string(dir.path().join("Cargo.toml")).expect("read");
    assert_eq!(manifest(dir.path(), "", &[]).expect("manifest"), original);
}

#[test]
fn a_compiler_error_naming_a_dependency_left_out_is_recognised() {
    let left_out = BTreeMap::from([(String::new(), vec!["fuzz-utils".to_owned()])]);
    assert!(names_any("use of unresolved module or unlinked crate `fuzz_utils`", &left_out));
    assert!(names_any("can't find crate for `fuzz_utils`", &left_out));
    assert!(!names_any("cannot find value `fuzz` in this scope", &left_out));
}

#[test]
fn a_crate_counts_as_named_only_where_code_names_it() {
    assert!(names_crate("let v: u8 = rand::random();", "rand"));
    assert!(names_crate("use rand;", "rand"));
    assert!(names_crate("pub use ::rand as r;", "rand"));
    assert!(names_crate("#[macro_use]\nextern crate rand;", "rand"));
    assert!(names_crate("use {\n    rand::Rng,\n};", "rand"));
    assert!(!names_crate("let random = operand::x(); // rand", "rand"));
    assert!(!names_crate("https://docs.rs/rand/latest/rand/seq/", "rand"));
    assert!(!names_crate("use rand_core::RngCore;", "rand"));
}
