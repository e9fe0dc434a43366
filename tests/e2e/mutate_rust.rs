//! `noot run` in a Cargo project: the crate's mutants listed by id
//! (cargo-mutants' operators), built once with real cargo and each run
//! against the tests that reach it.

use std::path::Path;

use serde_json::Value;

use crate::snapshot;
use crate::support::{cargo_noot, copy_fixture, noot, statuses};

/// What differs between runs and machines: durations.
fn stable(mut report: Value) -> Value {
    report["summary"]["duration_ms"] = Value::from(0);
    report["summary"]["runner_reason"] = Value::from("<build and stats times>");
    for m in report["mutants"].as_array_mut().expect("mutants") {
        m["duration_ms"] = Value::from(0);
        // A CPU budget's milliseconds come from the measured baseline.
        if m["status"] == "timeout" {
            m["detail"] = Value::from("<CPU budget>");
        }
        // Tests run fastest first, and equal times come in either order.
        if let Some(tests) = m["tests_run"].as_array_mut() {
            tests.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            if tests.len() > 1 && m["status"] == "killed" {
                m["detail"] = Value::from("<the first selected test to fail>");
            }
        }
        // rustc's wording changes between releases.
        if m["status"] == "unviable" {
            m["detail"] = Value::from("does not build: <rustc's error>");
        }
    }
    report
}

/// `tests/fixtures/mutate/rust-calc`: unit and integration tests, denied
/// warnings and forbidden unsafe code, a mutant that cannot build, two that
/// never end, a function no test calls, a module only a feature builds and
/// a doc example (run as a test). Every verdict is known; the JSON is a
/// snapshot.
#[test]
fn a_crates_verdicts_unviable_loops_and_cfg_gated_files_and_its_json() {
    let dir = copy_fixture("rust-calc");
    let out = dir.path().join("cm-out");
    let run = noot(
        dir.path(),
        &["run", "--format", "json", "--cargo-mutants-out", out.to_str().expect("utf-8")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    let by_status = |status: &str| -> Vec<String> {
        statuses(&report).into_iter().filter(|(_, s)| s == status).map(|(id, _)| id).collect()
    };
    // `n -= 1` made `n += 1` or `n /= 1`: the CPU budget stops both.
    assert_eq!(by_status("timeout"), ["calc::steps__noot_6", "calc::steps__noot_7"]);
    // `Point` has no `Default`; `String - &str` and `String * &str` are no
    // operators.
    assert_eq!(
        by_status("unviable"),
        ["calc::origin__noot_1", "calc::text::shout__noot_3", "calc::text::shout__noot_4"]
    );
    assert_eq!(
        by_status("no_tests"),
        ["calc::text::is_palindrome__noot_1", "calc::text::is_palindrome__noot_2"]
    );
    let skipped = by_status("skipped");
    assert_eq!(skipped.len(), 4, "{skipped:?}");
    assert!(skipped.iter().all(|id| id.starts_with("calc::extra::triple__noot_")), "{skipped:?}");
    let detail = report["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .find(|m| m["status"] == "skipped")
        .map(|m| m["detail"].as_str().unwrap_or("").to_owned())
        .unwrap_or_default();
    assert!(
        detail.starts_with("not built: no target of this build compiles src/extra.rs"),
        "{detail}"
    );
    assert!(by_status("survived").is_empty(), "{:?}", by_status("survived"));
    assert!(by_status("error").is_empty(), "{:?}", by_status("error"));
    // The unit tests and the integration tests both kill.
    let killed = by_status("killed");
    assert!(killed.iter().any(|id| id.starts_with("calc::add__noot_")), "{killed:?}");
    assert!(killed.iter().any(|id| id.starts_with("calc::text::shout__noot_")), "{killed:?}");
    // A doc example is a test like the others: lib.rs's reaches `add`.
    // extra.rs's cannot build without the feature, and rustdoc would not
    // run it either: it is left out without a warning.
    assert!(!run.stderr.contains("doc example"), "{}", run.stderr);
    let add_tests: Vec<&str> = report["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .find(|m| m["id"] == "calc::add__noot_1")
        .and_then(|m| m["tests_run"].as_array())
        .map(|tests| tests.iter().filter_map(|t| t.as_str()).collect())
        .unwrap_or_default();
    assert!(add_tests.contains(&"__noot_doc_examples::src_lib_rs_6"), "{add_tests:?}");
    // cargo-mutants' lists: `no_tests` is missed there.
    let list = |name: &str| std::fs::read_to_string(out.join(name)).expect("list");
    assert_eq!(list("caught.txt").lines().count(), killed.len());
    assert_eq!(list("missed.txt").lines().count(), 2);
    assert!(
        list("timeout.txt").contains("src/lib.rs:26:11: replace -= with /= in steps"),
        "{}",
        list("timeout.txt")
    );
    assert!(
        list("unviable.txt").contains("src/lib.rs:40:26: replace origin with Default::default()")
    );
    snapshot!("run_json_rust_calc", serde_json::to_string_pretty(&stable(report)).expect("json"));
    // With the feature, `extra.rs` is built, and its doc example with it:
    // it kills `triple`'s mutants.
    let run = noot(dir.path(), &["run", "--format", "json", "--features", "extra"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    let triple: Vec<String> = statuses(&report)
        .into_iter()
        .filter(|(id, _)| id.starts_with("calc::extra::triple__noot_"))
        .map(|(_, status)| status)
        .collect();
    assert_eq!(triple, ["killed"; 4]);
    assert!(!run.stderr.contains("doc example"), "{}", run.stderr);
    // The features are in every key: nothing is reused.
    assert_eq!(report["summary"]["reused"], 0);
}

/// `--package` and the feature flags belong to Rust crates.
#[test]
fn cargo_options_in_a_python_project_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("pyproject.toml"), "[project]\nname = \"p\"\n").expect("write");
    std::fs::create_dir_all(dir.path().join("p")).expect("mkdir");
    std::fs::write(dir.path().join("p/__init__.py"), "def f():\n    return 1\n").expect("write");
    let run = noot(dir.path(), &["run", "--list", "--features", "x"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("are for Rust crates"), "{}", run.stderr);
    // Rust's runner too.
    let run = noot(dir.path(), &["run", "--list", "--runner", "libtest"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("runner `libtest` runs Rust test binaries"), "{}", run.stderr);
    // So does `[mutate] exclude_tests`, at its line, with pytest's way.
    std::fs::write(dir.path().join("noot.toml"), "[mutate]\nexclude_tests = [\"*slow*\"]\n")
        .expect("write");
    let run = noot(dir.path(), &["run", "--list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("noot.toml:2:17: [mutate] exclude_tests is for Rust projects"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--deselect"), "{}", run.stderr);
    // `noot config check` says so before any run.
    let check = noot(dir.path(), &["config", "check"]);
    assert_eq!(check.code, 2, "{}", check.stderr);
    assert!(check.stderr.contains("noot.toml:2:17: [mutate] exclude_tests"), "{}", check.stderr);
}

/// A workspace of two members: `core`'s mutants are killed by the tests
/// of `app`, the member that depends on it.
#[test]
fn a_members_mutants_are_killed_by_the_tests_of_the_member_that_uses_it() {
    let dir = copy_fixture("rust-workspace");
    let run = noot(dir.path(), &["run", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    let statuses = statuses(&report);
    let core: Vec<(&String, &String)> =
        statuses.iter().filter(|(id, _)| id.starts_with("half_core::half__noot_")).collect();
    assert_eq!(core.len(), 4, "{statuses:?}");
    assert!(core.iter().all(|(_, s)| *s == "killed"), "{statuses:?}");
    let tests: Vec<String> = report["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .filter(|m| m["id"] == "half_core::half__noot_1")
        .flat_map(|m| m["tests_run"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect();
    assert_eq!(tests, ["quarter::a_quarter_of_eight_is_two"]);
    assert_eq!(report["summary"]["score"], 100.0);
    // One member's mutants, by its package name.
    let run = noot(dir.path(), &["run", "--list", "--format", "json", "-p", "half-core"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let listed: Value = serde_json::from_str(&run.stdout).expect("json");
    let ids: Vec<&str> = listed["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert!(ids.iter().all(|id| id.starts_with("half_core::")), "{ids:?}");
    let run = noot(dir.path(), &["run", "--list", "-p", "nope"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--package nope: no package of this workspace is called that (there are: half_core, half_app)") || run.stderr.contains("--package nope: no package"), "{}", run.stderr);
}

/// Writes `text` to `rel` under `dir`, making its folders.
fn write_in(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn crate_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |path: &str, text: &str| write_in(dir.path(), path, text);
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
    // An edit inside `is_big`, which double's test does not reach: only
    // is_big's mutants are judged again.
    let shapes = dir.path().join("src/shapes.rs");
    let text = std::fs::read_to_string(&shapes).expect("read");
    std::fs::write(&shapes, text.replace("x > 10", "x > 11")).expect("write");
    let edited = noot(dir.path(), &["run", "--format", "json"]);
    assert_eq!(edited.code, 0, "{}", edited.stderr);
    let edited: serde_json::Value = serde_json::from_str(&edited.stdout).expect("json");
    assert_eq!(edited["summary"]["reused"], 4, "double's four mutants are reused");
    // A test edited is outside every body: everything is judged again.
    let lib = dir.path().join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).expect("read");
    std::fs::write(&lib, text.replace("double(2), 4", "double(3), 6")).expect("write");
    let edited = noot(dir.path(), &["run", "--format", "json"]);
    assert_eq!(edited.code, 0, "{}", edited.stderr);
    let edited: serde_json::Value = serde_json::from_str(&edited.stdout).expect("json");
    assert_eq!(edited["summary"]["reused"], 0);
    // The user's files are untouched.
    let lib = std::fs::read_to_string(dir.path().join("src/lib.rs")).expect("read");
    assert!(!lib.contains("__noot_rt"), "{lib}");
    // Tests left out with `exclude_tests` (globs over TARGET::TEST) test
    // nothing: double's only test gone, its mutants are reached by none.
    std::fs::write(
        dir.path().join("noot.toml"),
        "[mutate]\nexclude_tests = [\"geo_kit::tests::*\", \"geo_kit::tets::*\"]\n",
    )
    .expect("write");
    let run = noot(dir.path(), &["run", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("exclude_tests: `geo_kit::tets::*` matches no test"),
        "a typo is named: {}",
        run.stderr
    );
    let excluded: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(excluded["summary"]["no_tests"], 9, "{excluded}");
    assert_eq!(excluded["summary"]["tested"], 0);
    std::fs::write(dir.path().join("noot.toml"), "[mutate]\nexclude_tests = [\"[\"]\n")
        .expect("write");
    let run = noot(dir.path(), &["run", "--list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("noot.toml:2:17: exclude_tests pattern `[`"), "{}", run.stderr);
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
    let check = noot(dir.path(), &["config", "check"]);
    assert_eq!(check.code, 2, "{}", check.stderr);
    assert!(check.stderr.contains("noot.toml:3:15: [mutate] pytest_args"), "{}", check.stderr);
    // A language noot does not mutate is refused at its line.
    std::fs::write(dir.path().join("noot.toml"), "[mutate]\nlanguage = \"ruby\"\n").expect("write");
    let run = noot(dir.path(), &["run", "--list"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("noot.toml:2:12: language = \"ruby\""), "{}", run.stderr);
}

/// A `noot.toml` that loads the example `command` runner from `library`
/// and runs `argv` for each job (the job's tests in its environment only).
fn command_runner(library: &std::path::Path, argv: &[&str]) -> String {
    format!(
        "[plugins]\npaths = [{:?}]\n\n[mutate]\nrunner = \"command\"\n\n\
         [mutate.runner_options.command]\nargv = {argv:?}\npass_tests = false\n",
        library.display().to_string()
    )
}

/// The same runner in a workspace whose member's tests read a file beside
/// their manifest: the job's `dirs` hint (`NOOT_TEST_DIRS` in the example
/// runner) says where each binary runs, as libtest's runner and `cargo
/// test` run it; from the copy's root its check without any mutant fails.
#[test]
fn a_third_party_runner_runs_each_test_binary_in_its_package_folder() {
    let library = crate::support::build_cdylib("noot-example-command-runner", &[]);
    let dir = copy_fixture("rust-workspace");
    let script = r#"tab="$(printf '\t')"
printf '%s\n' "$NOOT_TESTS" | while IFS="$tab" read -r bin name; do
  dir="$(printf '%s\n' "$NOOT_TEST_DIRS" | while IFS="$tab" read -r b d; do [ "$b" = "$bin" ] && printf '%s' "$d"; done)"
  (cd "$dir" && CARGO_MANIFEST_DIR="$dir" "$bin" --exact "$name" -q) >/dev/null 2>&1 || exit 1
done"#;
    std::fs::write(dir.path().join("noot.toml"), command_runner(&library, &["sh", "-c", script]))
        .expect("write");
    let run = noot(dir.path(), &["run", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(report["runner"], "command");
    assert_eq!(report["summary"]["score"], 100.0, "{report}");
}

/// A third-party runner drives Rust test binaries through the same ABI:
/// the example `command` runner (a cdylib built against the plugin API
/// alone) runs a shell loop over the job's `BINARY<TAB>TEST` lines with
/// the job's `env` hint (`NOOT_MUTANT`) set, and gives libtest's verdicts.
#[test]
fn a_third_party_runner_runs_a_crates_mutants_with_the_same_verdicts() {
    let library = crate::support::build_cdylib("noot-example-command-runner", &[]);
    let dir = crate_project();
    let script = r#"printf '%s\n' "$NOOT_TESTS" | while IFS="$(printf '\t')" read -r bin name; do "$bin" --exact "$name" -q >/dev/null 2>&1 || exit 1; done"#;
    std::fs::write(dir.path().join("noot.toml"), command_runner(&library, &["sh", "-c", script]))
        .expect("write");
    let run = noot(dir.path(), &["run", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(report["runner"], "command");
    let statuses = statuses(&report);
    assert_eq!(statuses["geo_kit::double__noot_1"], "killed");
    assert_eq!(statuses["geo_kit::double__noot_3"], "survived", "x + 2 is still 4 for 2");
    assert_eq!(report["summary"]["killed"], 3, "{report}");
    assert_eq!(report["summary"]["no_tests"], 5);
    // Python's runners start pytest: refused in a crate, at the flag.
    let run = noot(dir.path(), &["run", "--runner", "subprocess"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("runner `subprocess` runs pytest"), "{}", run.stderr);
    // A runner that fails the tests without any mutant (here, its command
    // runs nothing and fails) stops the run: its kills would mean nothing.
    std::fs::write(dir.path().join("noot.toml"), command_runner(&library, &["false"]))
        .expect("write");
    let run = noot(dir.path(), &["run", "--force"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("runner `command` does not pass the tests without any mutant"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("noot.toml:5:10"), "at the runner key: {}", run.stderr);
}

/// A crate whose tests are CPU-bound: the first run builds it as `cargo
/// test` does, finds that its mutants' tests outweigh that build many
/// times over, builds its crate again at `opt-level = 1` and says so; the
/// next run starts optimised and reuses every verdict.
#[test]
fn a_crate_whose_tests_outweigh_its_build_is_built_again_optimised() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |path: &str, text: &str| write_in(dir.path(), path, text);
    write(
        "Cargo.toml",
        "[package]\nname = \"heavy-sum\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write(
        "src/lib.rs",
        "pub fn mix(mut x: u64) -> u64 {\n    x ^= x >> 33;\n    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);\n    x ^= x >> 29;\n    x\n}\n\n\
         pub fn checksum(n: u64) -> u64 {\n    let mut acc = 0u64;\n    let mut i = 0;\n    while i < n {\n        acc = acc.wrapping_add(mix(i));\n        i += 1;\n    }\n    acc\n}\n\n\
         #[cfg(test)]\nmod tests {\n    #[test]\n    fn sums() {\n        assert_eq!(super::checksum(20_000_000), 4_087_276_807_472_919_511);\n    }\n}\n",
    );
    let run = noot(dir.path(), &["run", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("json");
    let reason = report["summary"]["runner_reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(
            "the workspace's crates at opt-level 1 (built again so: the mutants' tests take"
        ),
        "{reason}"
    );
    assert_eq!(report["summary"]["survived"], 1, "{report}");
    assert_eq!(report["summary"]["error"], 0, "{report}");
    let remembered = std::fs::read_to_string(dir.path().join(".noot/mutate/rust-build.json"))
        .expect("the choice is remembered");
    assert!(remembered.contains("\"schema_version\": 1"), "{remembered}");
    let again = noot(dir.path(), &["run", "--format", "json"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let report: Value = serde_json::from_str(&again.stdout).expect("json");
    let reason = report["summary"]["runner_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("opt-level 1 (as an earlier run decided;"), "{reason}");
    assert_eq!(report["summary"]["tested"], 0, "{report}");
}

/// A project's first run starts from the dependencies the user's own
/// `cargo test` built: copied into `.noot/target/`, they are fresh for
/// noot's build, so a dependency's build script does not run again.
#[test]
fn a_first_run_reuses_the_dependencies_of_the_users_own_build() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |path: &str, text: &str| write_in(dir.path(), path, text);
    let log = dir.path().join("builds.log");
    // A dependency outside the project (at the same absolute path for the
    // project and for noot's copy of it), whose build script says when it runs.
    write(
        "helper/Cargo.toml",
        "[package]\nname = \"helper\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n",
    );
    write(
        "helper/build.rs",
        &format!(
            "use std::io::Write;\nfn main() {{\n    let mut log = std::fs::OpenOptions::new().create(true).append(true).open({:?}).unwrap();\n    writeln!(log, \"built\").unwrap();\n}}\n",
            log.display().to_string()
        ),
    );
    write("helper/src/lib.rs", "pub fn six() -> u32 {\n    6\n}\n");
    write(
        "project/Cargo.toml",
        &format!(
            "[package]\nname = \"seeded\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dev-dependencies]\nhelper = {{ path = {:?} }}\n\n[workspace]\n",
            dir.path().join("helper").display().to_string()
        ),
    );
    write(
        "project/src/lib.rs",
        "pub fn double(x: u32) -> u32 {\n    x * 2\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn doubles() {\n        assert_eq!(super::double(3), helper::six());\n    }\n}\n",
    );
    let project = dir.path().join("project");
    // The user's own build, in the project's own `target/`.
    let built = std::process::Command::new(env!("CARGO"))
        .args(["test", "--no-run", "--quiet"])
        .current_dir(&project)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("cargo runs");
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    assert_eq!(std::fs::read_to_string(&log).expect("log").lines().count(), 1);
    let run = crate::support::noot_env_removed(
        &project,
        &["run", "--format", "json"],
        &["CARGO_TARGET_DIR"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("json");
    let reason = report["summary"]["runner_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("dependencies as your own build left them in"), "{reason}");
    assert_eq!(report["summary"]["survived"], 0, "{report}");
    assert_eq!(
        std::fs::read_to_string(&log).expect("log").lines().count(),
        1,
        "the dependency was not built again"
    );
    let marker = std::fs::read_to_string(project.join(".noot/target/debug/noot-seed.json"))
        .expect("the seeding is recorded");
    assert!(marker.contains("\"schema_version\": 1"), "{marker}");
}

/// `noot status` lists what `.noot/` holds and the decisions later runs
/// follow; `--forget build` makes the next run decide the build again.
#[test]
fn status_lists_the_remembered_decisions_and_forgets_one() {
    let dir = crate_project();
    let before = noot(dir.path(), &["status"]);
    assert_eq!(before.code, 0, "{}", before.stderr);
    assert!(before.stdout.contains("Nothing stored: no `noot run` here yet."), "{}", before.stdout);
    let run = noot(dir.path(), &["run", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let status = noot(dir.path(), &["status", "--format", "json"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let mut state: Value = serde_json::from_str(&status.stdout).expect("one JSON document");
    assert_eq!(state["decisions"][0]["kind"], "build", "{state}");
    assert_eq!(state["results"], 9, "{state}");
    // Sizes and the folder differ between machines.
    state["root"] = Value::from("<project>");
    for part in state["parts"].as_array_mut().expect("parts") {
        part["bytes"] = Value::from(0);
    }
    let parts = state["parts"].as_array_mut().expect("parts");
    parts.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    snapshot!("status_json_rust", serde_json::to_string_pretty(&state).expect("json"));
    let forgot = noot(dir.path(), &["status", "--forget", "build"]);
    assert_eq!(forgot.code, 0, "{}", forgot.stderr);
    assert!(
        forgot.stdout.contains("forgotten: removed .noot/mutate/rust-build.json"),
        "{}",
        forgot.stdout
    );
    assert!(!dir.path().join(".noot/mutate/rust-build.json").exists());
    assert!(dir.path().join(".noot/mutate/results.json").exists(), "results are kept");
    let wrong = noot(dir.path(), &["status", "--forget", "everything"]);
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("[possible values: build, dependencies, runner, all]"),
        "{}",
        wrong.stderr
    );
}
