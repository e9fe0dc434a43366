//! `noot run` in a Cargo project: the crate's mutants are listed by id
//! (cargo-mutants' operators), and a run says plainly that running them is
//! not built yet, instead of "no Python package found".

use std::path::Path;

use crate::support::{cargo_noot, noot};

fn crate_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write("Cargo.toml", "[package]\nname = \"geo-kit\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    write(
        "src/lib.rs",
        "pub mod shapes;\n\npub fn double(x: u32) -> u32 {\n    x * 2\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn doubles() { assert_eq!(super::double(2), 4); }\n}\n",
    );
    write(
        "src/shapes.rs",
        "pub fn is_big(x: u32) -> bool {\n    x > 10\n}\n\n#[mutants::skip]\npub fn noisy() -> u8 {\n    1\n}\n",
    );
    dir
}

#[test]
fn list_names_a_crates_mutants_and_the_functions_it_skips() {
    let dir = crate_project();
    let run = noot(dir.path(), &["run", "--list", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let listed: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    let mutants = listed["mutants"].as_array().expect("mutants");
    let ids: Vec<&str> = mutants.iter().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(ids.len(), 9, "{ids:?}");
    assert_eq!(ids[0], "geo_kit::double__noot_1");
    assert!(ids.contains(&"geo_kit::shapes::is_big__noot_5"), "{ids:?}");
    let star = mutants.iter().find(|m| m["original"] == "*").expect("x * 2");
    assert_eq!((&star["file"], &star["line"]), (&"src/lib.rs".into(), &4.into()));
    let skipped = listed["skipped_functions"].as_array().expect("skipped");
    let reasons: Vec<(&str, &str)> = skipped
        .iter()
        .filter_map(|s| Some((s["function"].as_str()?, s["reason"].as_str()?)))
        .collect();
    // A `#[cfg(test)]` module is not walked at all: its tests are not listed.
    assert_eq!(reasons, [("geo_kit::shapes::noisy", "#[mutants::skip]")]);
    // The same through cargo, and the filter works on Rust ids.
    let run = cargo_noot(dir.path(), &["run", "--list", "geo_kit::shapes::*"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout.lines().filter(|l| l.starts_with("geo_kit::shapes::is_big__noot_")).count(),
        5
    );
    assert!(!Path::new(&dir.path().join(".noot/mutants")).exists(), "listing writes nothing");
}

#[test]
fn a_run_says_running_rust_mutants_is_not_built_yet() {
    let dir = crate_project();
    let run = noot(dir.path(), &["run"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("is a Rust project"), "{}", run.stderr);
    assert!(run.stderr.contains("noot run --list"), "{}", run.stderr);
    assert!(!run.stderr.contains("no Python package"), "{}", run.stderr);
    // A language noot does not mutate is refused at its line.
    std::fs::write(dir.path().join("noot.toml"), "[mutate]\nlanguage = \"ruby\"\n").expect("write");
    let run = noot(dir.path(), &["run", "--list"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("noot.toml:2:12: language = \"ruby\""), "{}", run.stderr);
}
