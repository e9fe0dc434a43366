//! Rust runs that differed from `cargo test`.
//!
//! Test binaries ran in the root of the mutated copy, where `cargo test`
//! runs each in its package's folder (and sets `CARGO_MANIFEST_DIR`): a
//! workspace member's test that read `data/…` failed the stats run.
//!
//! The doc examples a mutant selected ran in one process, where rustdoc
//! runs each alone: the second of two examples that each set up something
//! once (a logger, a global pool) failed, and a survivor was called killed.
//! An example's own `fn main() -> Result` had its `Err` ignored, and one
//! with `#[macro_use] extern crate` did not build inside its test.

use serde_json::Value;

use super::rust_analysis::crate_dir;
use super::{mutate_fixture, noot_command, noot_run};

fn status_of(report: &Value, id: &str) -> String {
    report["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .find(|m| m["id"] == id)
        .and_then(|m| m["status"].as_str())
        .unwrap_or_else(|| panic!("no {id} in {report}"))
        .to_owned()
}

#[test]
fn a_members_tests_run_in_its_folder_as_under_cargo_test() {
    let dir = mutate_fixture("rust-workspace");
    let report = run_report(dir.path());
    assert_eq!(report["summary"]["score"], 100.0, "{report}");
}

#[test]
fn doc_examples_run_each_alone_and_an_err_from_main_fails_one() {
    let dir = crate_dir("once", "2021");
    std::fs::write(
        dir.path().join("src/lib.rs"),
        r#"use std::sync::atomic::{AtomicBool, Ordering};

static DONE: AtomicBool = AtomicBool::new(false);

/// Once per process:
///
/// ```
/// once::init();
/// assert_eq!(once::triple(0), 0);
/// ```
pub fn init() {
    assert!(!DONE.swap(true, Ordering::SeqCst), "init twice");
}

/// ```
/// once::init();
/// assert_eq!(once::triple(0) * 2, 0);
/// ```
///
/// rustdoc lifts a `#[macro_use] extern crate` out of the example to the
/// crate root, where alone it may be; so does noot:
///
/// ```
/// #[macro_use] extern crate once;
/// fn main() { assert_eq!(once::triple(0), 0); }
/// ```
pub fn triple(x: u32) -> u32 {
    x * 3
}

/// ```
/// fn main() -> Result<(), String> {
///     if once::double(1) == 2 { Ok(()) } else { Err("wrong".into()) }
/// }
/// ```
pub fn double(x: u32) -> u32 {
    x << 1
}
"#,
    )
    .expect("write");
    let (code, stdout, stderr) = noot_run(dir.path(), &["run", "--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("doc example"), "all four are used: {stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("json");
    // `x / 3` is 0 for 0: both examples that reach it pass, each alone.
    let triple = report["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .find(|m| m["function"] == "once::triple" && m["replacement"] == "/")
        .and_then(|m| m["id"].as_str())
        .expect("x / 3")
        .to_owned();
    assert_eq!(status_of(&report, &triple), "survived", "{report}");
    // The body `1` makes double(1) 1: only the example whose main then
    // returns Err sees it.
    let one = report["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .find(|m| m["function"] == "once::double" && m["replacement"] == "{ 1 }")
        .and_then(|m| m["id"].as_str())
        .expect("body 1")
        .to_owned();
    assert_eq!(status_of(&report, &one), "killed", "{report}");
}

/// `noot run --format json` in `dir`, which must end with 0, parsed.
fn run_report(dir: &std::path::Path) -> Value {
    let (code, stdout, stderr) = noot_run(dir, &["run", "--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    serde_json::from_str(&stdout).expect("json")
}

/// A crate where `x > 0` made `x < 0` sends the only test to `neg`, which
/// the stats run (without the mutant) never sees.
const SIGNS: &str = "pub fn sign(x: i32) -> i32 {\n    if x > 0 { 1 } else { neg(x) }\n}\n\n\
                     pub fn neg(_x: i32) -> i32 {\n    -1\n}\n\n\
                     #[cfg(test)]\nmod tests {\n    #[test]\n    fn positive() {\n        assert_eq!(super::sign(5), 1);\n    }\n}\n";

/// The status of [`SIGNS`]' `x < 0` mutant, and whether it was reused.
fn flipped(report: &Value) -> (String, bool) {
    let m = report["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .find(|m| m["function"] == "signs::sign" && m["replacement"] == "<")
        .expect("x < 0")
        .clone();
    (m["status"].as_str().unwrap_or("").to_owned(), m["reused"] == true)
}

/// A verdict was reused while a function only the mutant's own run
/// reached had changed: `x > 0` made `x < 0` sends `sign(5)` to `neg`,
/// which the stats run (without the mutant) never saw, so an edit to `neg`
/// kept the old "killed" although the mutant now survives.
#[test]
fn an_edit_to_a_function_only_the_mutant_reached_runs_it_again() {
    let dir = crate_dir("signs", "2021");
    let lib = SIGNS;
    std::fs::write(dir.path().join("src/lib.rs"), lib).expect("write");
    let report = run_report(dir.path());
    assert_eq!(flipped(&report), ("killed".to_owned(), false));
    // neg now returns 1: under the mutant, sign(5) is 1 again.
    std::fs::write(dir.path().join("src/lib.rs"), lib.replace("    -1\n", "    1\n"))
        .expect("write");
    let report = run_report(dir.path());
    assert_eq!(flipped(&report), ("survived".to_owned(), false));
}

/// semver 1.0.28: a second `noot run` with nothing changed ran 80 of its
/// 302 mutants again. Each verdict was stored under a key made before the
/// run, and a mutant whose own run reached more than the stats run saw
/// (`x < 0` sends `sign(5)` to `neg`) got a new key next time, from the
/// reach journal. The verdict is now stored under the key that covers what
/// its run reached, so it is reused at once.
#[test]
fn a_second_run_with_nothing_changed_reuses_a_mutant_that_reached_more_than_its_tests() {
    let dir = crate_dir("signs", "2021");
    std::fs::write(dir.path().join("src/lib.rs"), SIGNS).expect("write");
    let report = run_report(dir.path());
    assert_eq!(flipped(&report), ("killed".to_owned(), false));
    let report = run_report(dir.path());
    assert_eq!(flipped(&report), ("killed".to_owned(), true), "{report}");
    assert_eq!(report["summary"]["tested"], 0, "{report}");
}

/// A review found that the opt-level decision was made again on every
/// run, against that run's last build round, and never checked: a warm
/// run's round takes a tenth of a second, so tests of a few seconds (here
/// they sleep, which no optimisation speeds up) switched the crate to an
/// optimised build, which changed every key (all mutants ran again) and
/// stuck. The decision is now made once, on the first build, and an
/// optimised build is kept only if it halves the tests' time.
#[test]
fn an_io_bound_suite_is_not_switched_to_an_optimised_build_on_a_later_run() {
    let dir = crate_dir("sleepy", "2021");
    std::fs::write(
        dir.path().join("src/lib.rs"),
        "pub fn wait(ms: u64) -> u64 {\n    std::thread::sleep(std::time::Duration::from_millis(ms));\n    ms + 1\n}\n\n\
         #[cfg(test)]\nmod tests {\n    #[test]\n    fn waits() {\n        assert_eq!(super::wait(600), 601);\n    }\n}\n",
    )
    .expect("write");
    for run in ["first", "second"] {
        let (code, stdout, stderr) = noot_run(dir.path(), &["run", "--format", "json"]);
        assert_eq!(code, Some(0), "{run}: {stderr}");
        let report: Value = serde_json::from_str(&stdout).expect("json");
        let reason = report["summary"]["runner_reason"].as_str().unwrap_or_default();
        assert!(!reason.contains("the workspace's crates at opt-level 1"), "{run}: {reason}");
        if run == "second" {
            assert_eq!(report["summary"]["tested"], 0, "{report}");
        }
    }
    let decided = std::fs::read_to_string(dir.path().join(".noot/mutate/rust-build.json"))
        .expect("decided on the first run");
    assert!(decided.contains("\"optimised\": false"), "{decided}");
}

/// Ctrl-C during the mutants wrote `--cargo-mutants-out` lists of the
/// mutants run so far over whatever complete lists were there.
#[test]
fn an_interrupted_run_writes_no_cargo_mutants_lists() {
    let dir = crate_dir("slow", "2021");
    std::fs::write(
        dir.path().join("src/lib.rs"),
        "pub fn add(a: u32, b: u32) -> u32 {\n    a + b\n}\n\n\
         #[cfg(test)]\nmod tests {\n    #[test]\n    fn adds_slowly() {\n        \
         std::thread::sleep(std::time::Duration::from_secs(3));\n        \
         assert!(super::add(2, 2) > 0);\n    }\n}\n",
    )
    .expect("write");
    let out = dir.path().join("lists");
    let child = super::noot_command(
        dir.path(),
        &["run", "-j", "1", "--cargo-mutants-out", out.to_str().expect("utf-8")],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("noot");
    // The first of add's four mutants is done (3 s each, one at a time):
    // the next is running.
    let journal = dir.path().join(".noot/mutate/results.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let running = || std::fs::metadata(&journal).is_ok_and(|m| m.len() > 0);
    while !running() {
        assert!(std::time::Instant::now() < deadline, "no mutant started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SAFETY: kill(2) on the child's pid with SIGINT.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("left as it was"), "{stderr}");
    assert!(!out.join("missed.txt").exists(), "partial lists were written");
}

/// A workspace whose members depend on each other in a chain: cargo
/// builds a member only once the one it depends on builds, so each
/// member's unviable mutants showed up one build round after the last
/// one's, and six members gave up after five rounds with "the mutated
/// copy does not build" (noot's own workspace did).
#[test]
fn a_chain_of_members_each_with_an_unviable_mutant_still_builds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    let members: Vec<String> = (1..=6).map(|n| format!("m{n}")).collect();
    write(
        "Cargo.toml",
        &format!(
            "[workspace]\nresolver = \"2\"\nmembers = [{}]\n",
            members.iter().map(|m| format!("\"{m}\"")).collect::<Vec<_>>().join(", ")
        ),
    );
    for (index, member) in members.iter().enumerate() {
        let dependency = index
            .checked_sub(1)
            .map(|previous| format!("m{0} = {{ path = \"../m{0}\" }}\n", previous + 1))
            .unwrap_or_default();
        write(
            &format!("{member}/Cargo.toml"),
            &format!(
                "[package]\nname = \"{member}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{dependency}"
            ),
        );
        // `Point` has no Default: replacing `origin`'s body with
        // `Default::default()` does not build.
        write(
            &format!("{member}/src/lib.rs"),
            "pub struct Point {\n    pub x: i32,\n}\n\npub fn origin() -> Point {\n    Point { x: 0 }\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn at_zero() {\n        assert_eq!(super::origin().x, 0);\n    }\n}\n",
        );
    }
    let report = run_report(dir.path());
    for member in &members {
        assert_eq!(status_of(&report, &format!("{member}::origin__noot_1")), "unviable");
    }
}

/// A binary's selected tests ran in one process, and libtest runs every
/// test it is given: a mutant its fastest test kills still waited for
/// every slower test of the binary (on noot's own workspace, mutants the
/// first test killed took seconds of cargo-building tests after it).
/// Tests run in chunks now, and nothing after the failing chunk runs.
#[test]
fn a_killed_mutant_stops_at_the_chunk_that_failed() {
    let dir = crate_dir("chunks", "2021");
    std::fs::write(
        dir.path().join("src/lib.rs"),
        r#"pub fn double(x: u32) -> u32 {
    x * 2
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_kills() {
        assert_eq!(super::double(3), 6);
    }

    /// Slower than `a_kills`, so selected after it; says under which
    /// mutant it ran.
    #[test]
    fn b_slow() {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let _ = super::double(0);
        let mutant = std::env::var("NOOT_MUTANT").unwrap_or_default();
        std::fs::write(format!("ran-under-{mutant}"), "").unwrap();
    }
}
"#,
    )
    .expect("write");
    let report = run_report(dir.path());
    assert_eq!(report["summary"]["killed"], 4, "{report}");
    let copy = dir.path().join(".noot/mutants");
    assert!(copy.join("ran-under-0").exists(), "the stats run ran it");
    let ran: Vec<String> = std::fs::read_dir(&copy)
        .expect("copy")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("ran-under-") && name != "ran-under-0")
        .collect();
    assert!(ran.is_empty(), "b_slow ran under killed mutants: {ran:?}");
}

/// A Rust run's tests that wrote into the user's project (through an
/// absolute path) went unreported: only Python runs compared the project's
/// files before and after. Writes into the working directory (the package's
/// folder in the mutated copy) are the test's own business.
#[test]
fn writes_into_the_project_by_a_rust_test_are_reported() {
    let dir = crate_dir("escapes", "2021");
    std::fs::write(
        dir.path().join("src/lib.rs"),
        r#"pub fn double(x: u32) -> u32 {
    x * 2
}

#[cfg(test)]
mod tests {
    #[test]
    fn doubles() {
        std::fs::write("scratch.txt", "in the working directory").unwrap();
        let project = std::env::var("ESCAPE_TO").unwrap();
        std::fs::write(format!("{project}/escaped.log"), "x").unwrap();
        assert_eq!(super::double(3), 6);
    }
}
"#,
    )
    .expect("write");
    let out = super::noot_command(dir.path(), &["run", "--format", "json"])
        .env("ESCAPE_TO", dir.path())
        .output()
        .expect("noot runs");
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(report["summary"]["project_writes"], serde_json::json!(["new escaped.log"]));
    assert!(
        stderr.contains("files of your project changed while noot ran (new escaped.log)"),
        "{stderr}"
    );
    assert!(!dir.path().join("scratch.txt").exists(), "the working directory is the copy");
}

/// A loop in a mutant's first, quickest test burned the CPU budget of the
/// whole job, six times every selected test's time: on semver, where one
/// selected test takes half a second, each such loop cost 3.4 s. Each
/// process of a job now gets the share of the budget its own tests take
/// (at least 250 ms), and the timeout is still confirmed against the
/// whole job without the mutant, not re-run with generous limits.
#[test]
fn a_loop_in_the_quickest_test_costs_its_own_share_of_the_budget() {
    let dir = crate_dir("share", "2021");
    std::fs::write(
        dir.path().join("src/lib.rs"),
        r#"pub fn steps(mut n: u32) -> u64 {
    let mut steps = 0;
    while n > 0 {
        n -= 1;
        steps += 1;
    }
    steps
}

#[cfg(test)]
mod tests {
    #[test]
    fn quick() {
        assert_eq!(super::steps(3), 3);
    }

    #[test]
    fn slow() {
        std::thread::sleep(std::time::Duration::from_millis(800));
        assert_eq!(super::steps(1), 1);
    }
}
"#,
    )
    .expect("write");
    let report = run_report(dir.path());
    let timeouts: Vec<&Value> = report["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .filter(|m| m["status"] == "timeout")
        .collect();
    assert!(!timeouts.is_empty(), "`n -= 1` → `n /= 1` loops: {report}");
    for mutant in timeouts {
        let detail = mutant["detail"].as_str().unwrap_or_default();
        assert!(detail.starts_with("CPU-time limit of 250 ms (of the job's"), "{detail}");
        assert!(!detail.contains("generous"), "confirmed without a generous re-run: {detail}");
    }
}

/// `noot ARGS` in `dir` without the flag variables that make cargo ignore
/// a config file's `rustflags` (a coverage run or CI may set them).
fn noot_run_without_flag_variables(
    dir: &std::path::Path,
    args: &[&str],
) -> (Option<i32>, String, String) {
    let mut command = noot_command(dir, args);
    for name in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_RUSTFLAGS"] {
        command.env_remove(name);
    }
    super::noot_cmd::run_to_end(command)
}

/// A crate whose test needs `--cfg outer`, in `proj/` of a folder whose
/// `.cargo/` the test fills: (the folder, the crate).
fn crate_under_a_cargo_config() -> (tempfile::TempDir, std::path::PathBuf) {
    let outer = tempfile::tempdir().expect("tempdir");
    let dir = outer.path().join("proj");
    std::fs::create_dir_all(dir.join("src")).expect("mkdir");
    std::fs::create_dir_all(outer.path().join(".cargo")).expect("mkdir");
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"flags\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("src/lib.rs"),
        "#![deny(warnings)]\n\npub fn double(x: u32) -> u32 {\n    x * 2\n}\n\n\
         #[cfg(test)]\nmod tests {\n    #[test]\n    fn doubles() {\n        \
         assert!(cfg!(outer), \"built without the config's --cfg outer\");\n        \
         assert_eq!(super::double(2), 4);\n    }\n}\n",
    )
    .expect("write");
    (outer, dir)
}

/// noot added `--cap-lints=warn` through `RUSTFLAGS`, which makes cargo
/// ignore every `rustflags` of the `.cargo/config.toml` files: a crate
/// whose config sets `--cfg` built differently than under `cargo test`
/// (here its test failed "without any mutant"). And a change to a config
/// file outside the project reused every verdict.
#[test]
fn the_rustflags_of_a_cargo_config_above_the_project_are_kept_and_keyed() {
    let (outer, dir) = crate_under_a_cargo_config();
    let config = outer.path().join(".cargo/config.toml");
    std::fs::write(&config, "[build]\nrustflags = [\"--cfg\", \"outer\"]\n").expect("write");
    let run = || {
        let (code, stdout, stderr) =
            noot_run_without_flag_variables(&dir, &["run", "--format", "json"]);
        assert_eq!(code, Some(0), "{stderr}");
        serde_json::from_str::<Value>(&stdout).expect("json")
    };
    let first = run();
    assert!(first["summary"]["killed"].as_u64().is_some_and(|k| k > 0), "{first}");
    assert_eq!(first["summary"]["reused"], 0, "{first}");
    std::fs::write(&config, "[build]\nrustflags = [\"--cfg\", \"outer\", \"--cfg\", \"other\"]\n")
        .expect("write");
    let second = run();
    assert_eq!(second["summary"]["reused"], 0, "{second}");
    assert_eq!(second["summary"]["tested"], first["summary"]["tested"], "{second}");
}

/// The same stale verdict under a runner plugin: only the built-in
/// `libtest` runner recorded what a mutant's own runs reached, so under
/// the example `command` runner an edit to `neg` (which only the mutant
/// reaches) still reused "killed". The host now records it around any
/// runner, through the job's `env` hint.
#[test]
fn an_edit_only_the_mutant_reached_runs_it_again_under_a_runner_plugin() {
    let library = super::plugins_check::build_cdylib("noot-example-command-runner");
    let dir = crate_dir("signs", "2021");
    // `other` is a function the mutant's run never reaches: an edit to it
    // must leave the verdict alone, which holds only if the run's reach
    // was recorded (without it every function counts as reached).
    let lib = format!("{SIGNS}\npub fn other() -> i32 {{\n    7\n}}\n");
    std::fs::write(dir.path().join("src/lib.rs"), &lib).expect("write");
    let script = r#"printf '%s\n' "$NOOT_TESTS" | while IFS="$(printf '\t')" read -r bin name; do "$bin" --exact "$name" -q >/dev/null 2>&1 || exit 1; done"#;
    std::fs::write(
        dir.path().join("noot.toml"),
        format!(
            "[plugins]\npaths = [{:?}]\n\n[mutate]\nrunner = \"command\"\n\n\
             [mutate.runner_options.command]\nargv = [\"sh\", \"-c\", {script:?}]\npass_tests = false\n",
            library.display().to_string()
        ),
    )
    .expect("write");
    let report = run_report(dir.path());
    assert_eq!(report["runner"], "command");
    assert_eq!(flipped(&report), ("killed".to_owned(), false));
    // Its verdict was stored under a key that covers what its run
    // reached: with nothing changed, it is reused.
    let report = run_report(dir.path());
    assert_eq!(flipped(&report), ("killed".to_owned(), true), "reused as it is");
    std::fs::write(dir.path().join("src/lib.rs"), lib.replace("    7\n", "    8\n"))
        .expect("write");
    let report = run_report(dir.path());
    assert_eq!(flipped(&report), ("killed".to_owned(), true), "its reach was recorded");
    let lib = lib.replace("    7\n", "    8\n");
    std::fs::write(dir.path().join("src/lib.rs"), lib.replace("    -1\n", "    1\n"))
        .expect("write");
    let report = run_report(dir.path());
    assert_eq!(flipped(&report), ("survived".to_owned(), false));
}

/// itoa 1.0.19: a `#![no_std]` crate did not build, since the switch
/// runtime noot adds to every crate root named `std` without `extern crate
/// std;` ("cannot find module or crate `std` in this scope"), and the run
/// stopped telling the user to make `cargo test --no-run` pass, which it
/// did.
/// (Edition 2015 too, where a `use` path starts at the crate root: a
/// review found `use std::…` in the module still failed there.)
#[test]
fn a_no_std_crate_builds_and_its_mutants_run() {
    for edition in ["2015", "2021"] {
        let dir = crate_dir("bare", edition);
        std::fs::write(
            dir.path().join("src/lib.rs"),
            "#![no_std]\n\npub fn double(x: u32) -> u32 {\n    x * 2\n}\n\n\
             #[cfg(test)]\nmod tests {\n    #[test]\n    fn doubles() {\n        assert_eq!(super::double(3), 6);\n    }\n}\n",
        )
        .expect("write");
        let (code, stdout, stderr) = noot_run(dir.path(), &["run", "--format", "json"]);
        assert_eq!(code, Some(0), "edition {edition}: {stderr}");
        let report: Value = serde_json::from_str(&stdout).expect("json");
        assert_eq!(report["summary"]["survived"], 0, "{report}");
        assert!(report["summary"]["killed"].as_u64().is_some_and(|k| k >= 3), "{report}");
    }
}

/// `noot report --stryker` wrote `"language": "python"` for every file,
/// `.rs` files too, so the HTML view highlighted Rust as Python.
#[test]
fn the_stryker_report_names_a_rust_files_language() {
    let dir = crate_dir("lang", "2021");
    std::fs::write(
        dir.path().join("src/lib.rs"),
        "pub fn double(x: u32) -> u32 {\n    x * 2\n}\n\n\
         #[cfg(test)]\nmod tests {\n    #[test]\n    fn doubles() {\n        assert_eq!(super::double(3), 6);\n    }\n}\n",
    )
    .expect("write");
    let (code, _, stderr) = noot_run(dir.path(), &["run"]);
    assert_eq!(code, Some(0), "{stderr}");
    let out = dir.path().join("stryker.json");
    let (code, _, stderr) =
        noot_run(dir.path(), &["report", "--stryker", out.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{stderr}");
    let document: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("json");
    assert_eq!(document["files"]["src/lib.rs"]["language"], "rust", "{document}");
}

/// A review of the fix above: noot added its flag to
/// `target.<host>.rustflags` whenever any target section set rustflags,
/// one for `wasm32` too, and so made cargo drop `build.rustflags` again.
/// The flag now goes through a rustc wrapper for the workspace's own
/// crates, and no rustflags of the user's are touched.
#[test]
fn a_target_section_for_another_platform_keeps_the_build_rustflags() {
    let (outer, dir) = crate_under_a_cargo_config();
    std::fs::write(
        outer.path().join(".cargo/config.toml"),
        "[build]\nrustflags = [\"--cfg\", \"outer\"]\n\n\
         [target.wasm32-unknown-unknown]\nrustflags = [\"--cfg\", \"web\"]\n",
    )
    .expect("write");
    let (code, stdout, stderr) =
        noot_run_without_flag_variables(&dir, &["run", "--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("json");
    assert!(report["summary"]["killed"].as_u64().is_some_and(|k| k > 0), "{report}");
}

/// A mutant that sent its first, quickest test into a loop was a
/// `timeout` even when a later test of the job failed under it: which of
/// the two came first decided, and that order comes from measured times
/// and from which tests killed the mutants judged just before (on
/// fastrand, 12 of 245 mutants flipped between `killed` and `timeout`
/// from one run to the next). After a test hits the CPU-time limit the
/// job's other tests still run, so a failing test anywhere kills.
#[test]
fn a_test_that_fails_after_another_looped_kills_the_mutant() {
    let dir = crate_dir("loop_then_fail", "2021");
    std::fs::write(
        dir.path().join("src/lib.rs"),
        r#"pub fn step(n: u32) -> u32 {
    n + 1
}

#[cfg(test)]
mod tests {
    /// Quick, so it runs first; under most mutants of `step` it never ends.
    #[test]
    fn a_counts() {
        let mut i = 0;
        while i < 3 {
            i = super::step(i);
        }
    }

    #[test]
    fn b_checks() {
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(super::step(1), 2);
    }
}
"#,
    )
    .expect("write");
    let report = run_report(dir.path());
    let statuses: Vec<(String, String)> = report["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .map(|m| {
            (
                m["replacement"].as_str().unwrap_or_default().to_owned(),
                status_of(&report, m["id"].as_str().unwrap_or_default()),
            )
        })
        .collect();
    assert!(statuses.len() >= 3, "{report}");
    assert!(statuses.iter().all(|(_, status)| status == "killed"), "{statuses:?}");
}
