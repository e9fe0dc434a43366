//! `noot run` in a Cargo project: the crate's mutants listed by id
//! (cargo-mutants' operators), built once with real cargo and each run
//! against the tests that reach it.

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
        "pub fn is_big(x: u32) -> bool {\n    x > 10\n}\n\n// noot: skip\npub fn noisy() -> u8 {\n    1\n}\n",
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
    assert_eq!(reasons, [("geo_kit::shapes::noisy", "// noot: skip")]);
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
fn a_crates_mutants_run_against_the_tests_that_reach_them_and_are_reused_after() {
    let dir = crate_project();
    let run = noot(dir.path(), &["run", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    let status = |id: &str| {
        report["mutants"]
            .as_array()
            .expect("mutants")
            .iter()
            .find(|m| m["id"] == id)
            .map(|m| m["status"].as_str().unwrap_or("").to_owned())
            .unwrap_or_else(|| panic!("no {id}"))
    };
    // double(2) == 4: the values 0 and 1 and `x / 2` are caught, `x + 2` is not.
    assert_eq!(status("geo_kit::double__noot_1"), "killed");
    assert_eq!(status("geo_kit::double__noot_2"), "killed");
    assert_eq!(status("geo_kit::double__noot_3"), "survived");
    assert_eq!(status("geo_kit::double__noot_4"), "killed");
    // No test calls is_big.
    assert_eq!(status("geo_kit::shapes::is_big__noot_1"), "no_tests");
    assert_eq!(report["runner"], "libtest");
    assert_eq!(report["summary"]["killed"], 3);
    assert_eq!(report["summary"]["tested"], 4);
    // Nothing changed: every result is reused.
    let again = noot(dir.path(), &["run", "--format", "json"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let again: serde_json::Value = serde_json::from_str(&again.stdout).expect("json");
    assert_eq!(again["summary"]["tested"], 0);
    assert_eq!(again["summary"]["reused"], 9);
    // The user's files are untouched.
    let lib = std::fs::read_to_string(dir.path().join("src/lib.rs")).expect("read");
    assert!(!lib.contains("__noot_rt"), "{lib}");
    // A key only Python projects use is refused at its line.
    std::fs::write(dir.path().join("noot.toml"), "[mutate]\njobs = 1\npytest_args = [\"-x\"]\n")
        .expect("write");
    let run = noot(dir.path(), &["run"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("noot.toml:3:15: [mutate] pytest_args is for Python projects"),
        "{}",
        run.stderr
    );
    // A language noot does not mutate is refused at its line.
    std::fs::write(dir.path().join("noot.toml"), "[mutate]\nlanguage = \"ruby\"\n").expect("write");
    let run = noot(dir.path(), &["run", "--list"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("noot.toml:2:12: language = \"ruby\""), "{}", run.stderr);
}
