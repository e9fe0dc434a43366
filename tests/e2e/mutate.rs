//! `noot run`, `results`, `show` and `report` on fixture projects, with
//! real pytest and both runners: verdicts, ids, the JSON document, resume
//! after Ctrl-C, incremental re-runs, hostile mutants and bad input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::snapshot;
use crate::support::{build_cdylib, copy_fixture, copy_tree, fixture, noot, noot_env, statuses};

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("one JSON document ({e}):\n{stdout}"))
}

/// The calc fixture's verdicts, the same whatever the runner.
fn calc_expected() -> BTreeMap<String, String> {
    let survived = [
        "calc.core.is_adult__noot_1",
        "calc.core.is_adult__noot_2",
        "calc.core.clamp__noot_1",
        "calc.core.clamp__noot_2",
        "calc.core.greet__noot_2",
        "calc.core.greet__noot_3",
        "calc.core.greet__noot_4",
    ];
    let killed = [
        "calc.core.add__noot_1",
        "calc.core.greet__noot_1",
        "calc.core.Counter.__init____noot_1",
        "calc.core.Counter.increment__noot_1",
        "calc.core.Counter.increment__noot_2",
        "calc.core.Counter.doubled__noot_1",
        "calc.core.Counter.doubled__noot_2",
        "calc.text.shout__noot_1",
        "calc.text.shout__noot_2",
        "calc.text.shout__noot_3",
    ];
    let no_tests = ["calc.core.untested__noot_1", "calc.core.untested__noot_2"];
    let mut expected = BTreeMap::new();
    for (ids, status) in
        [(&survived[..], "survived"), (&killed[..], "killed"), (&no_tests[..], "no_tests")]
    {
        for id in ids {
            expected.insert((*id).to_owned(), status.to_owned());
        }
    }
    expected
}

/// Zeroes what differs between machines: durations.
fn stable(mut report: Value) -> Value {
    report["summary"]["duration_ms"] = Value::from(0);
    // Which python3 and where it came from depends on the machine.
    report["summary"]["interpreter"] = Value::from("<python>");
    for m in report["mutants"].as_array_mut().expect("mutants") {
        m["duration_ms"] = Value::from(0);
    }
    report
}

#[test]
fn calc_verdicts_ids_and_json_with_the_subprocess_runner() {
    let project = copy_fixture("calc");
    let run =
        noot(project.path(), &["run", "--runner", "subprocess", "--format", "json", "-j", "2"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = json(&run.stdout);
    assert_eq!(statuses(&report), calc_expected());
    assert_eq!(report["summary"]["score"].as_f64().map(|s| (s * 10.0).round() / 10.0), Some(52.6));
    let pragma_line_mutated = report["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .any(|m| m["function"] == "calc.core.skipped");
    assert!(!pragma_line_mutated, "`# pragma: no mutate` is honoured");
    // The user's files are never written; the mutated copy is in .noot/mutants/.
    let original = std::fs::read_to_string(project.path().join("src/calc/core.py")).expect("read");
    assert!(!original.contains("_noot_rt"));
    let copy = std::fs::read_to_string(project.path().join(".noot/mutants/src/calc/core.py"))
        .expect("read");
    assert!(!project.path().join("mutants").exists(), "nothing beside the user's files");
    assert!(copy.contains("def _noot_add__1(a, b):"));
    snapshot!("run_json_calc", serde_json::to_string_pretty(&stable(report)).expect("json"));
}

#[test]
fn calc_verdicts_are_the_same_with_the_inprocess_runner() {
    let project = copy_fixture("calc");
    let run =
        noot(project.path(), &["run", "--runner", "inprocess", "--format", "json", "-j", "2"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = json(&run.stdout);
    assert_eq!(report["runner"], "inprocess");
    assert_eq!(statuses(&report), calc_expected());
}

/// The default runner, `auto`, runs mutants in children forked from a warm
/// worker once the whole suite passed there, and in fresh processes when it
/// does not: `forkunsafe` serves calls from a thread started at import,
/// which a forked child lacks. The choice and its reason are reported, and
/// the verdicts are those of the runner chosen.
#[test]
fn the_auto_default_runs_warm_when_the_suite_passes_forked_and_fresh_when_not() {
    let project = copy_fixture("calc");
    let run = noot(project.path(), &["run", "--format", "json", "-j", "2"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = json(&run.stdout);
    assert_eq!(report["runner"], "inprocess");
    assert_eq!(statuses(&report), calc_expected());
    let reason = report["summary"]["runner_reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("auto: the whole suite passed in children forked from a warm worker"),
        "{reason}"
    );

    let project = copy_fixture("forkunsafe");
    let run = noot(project.path(), &["run", "-j", "2"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The human summary names the runner and why.
    assert!(
        run.stdout.contains(
            "runner: subprocess (auto: the suite does not pass in a child forked from a warm worker"
        ) && run.stdout.contains("test_forky.py::test_double"),
        "{}",
        run.stdout
    );
    let run = noot(project.path(), &["run", "--force", "--format", "json", "-j", "2"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = json(&run.stdout);
    assert_eq!(report["runner"], "subprocess");
    let fresh = statuses(&report);
    assert_eq!(fresh.get("forky.double__noot_1").map(String::as_str), Some("killed"));
    assert_eq!(fresh.get("forky.clamp__noot_1").map(String::as_str), Some("survived"));
    // The decision is kept with the stats: the next run does not prove again.
    let again = noot(project.path(), &["run", "--format", "json", "-j", "2"]);
    assert_eq!(json(&again.stdout)["runner"], "subprocess");
    assert_eq!(json(&again.stdout)["summary"]["reused"], 9);
}

/// Functions that also run while the project is imported: their mutants
/// change module state before any test runs. Both runners must see that:
/// `subprocess` by importing afresh, `inprocess` by trying the calling tests
/// in its warm worker and giving the rest a session in a zygote's child.
#[test]
fn import_time_mutants_get_a_fresh_import_with_both_runners() {
    let expected: BTreeMap<String, String> = [
        ("make_table__noot_1", "killed"),
        ("make_table__noot_2", "killed"),
        ("scale__noot_1", "killed"), // seen only in the state built at import
        ("tag__noot_1", "survived"),
        ("limit__noot_1", "killed"),
        ("limit__noot_2", "killed"),
        ("limit__noot_3", "killed"),
        ("limit__noot_4", "killed"),
        ("limit__noot_5", "survived"),
        ("ratio__noot_1", "survived"),
        ("ratio__noot_2", "killed"),
        ("ratio__noot_3", "killed"),
        ("ratio__noot_4", "killed"), // the import itself fails
    ]
    .into_iter()
    .map(|(id, status)| (format!("imptime.table.{id}"), status.to_owned()))
    .collect();
    for runner in ["subprocess", "inprocess"] {
        let project = copy_fixture("imptime");
        let run = noot(project.path(), &["run", "--runner", runner, "--format", "json", "-j", "2"]);
        assert_eq!(run.code, 0, "{runner}: {}", run.stderr);
        let report = json(&run.stdout);
        assert_eq!(statuses(&report), expected, "{runner}");
        let broken_import = report["mutants"]
            .as_array()
            .expect("mutants")
            .iter()
            .find(|m| m["id"] == "imptime.table.ratio__noot_4")
            .expect("ratio__noot_4");
        let detail = broken_import["detail"].as_str().unwrap_or_default();
        assert!(detail.starts_with("collection failed: "), "{runner}: {detail}");
        assert!(detail.contains("ZeroDivisionError"), "{runner}: {detail}");
        if runner == "inprocess" {
            // The import check: `limit` → `min(n, 101)` leaves MAX = 5, so
            // the same state, and the calling test already judged it; `tag`
            // → `lower` changes LABEL, so the whole suite ran.
            let detail = |id: &str| {
                report["mutants"]
                    .as_array()
                    .and_then(|all| all.iter().find(|m| m["id"] == id))
                    .and_then(|m| m["detail"].as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let same = detail("imptime.table.limit__noot_5");
            assert!(same.contains("built the same state as without it"), "{same}");
            let changed = detail("imptime.table.tag__noot_1");
            assert!(
                changed.contains("importing under the mutant changed imptime.table:LABEL"),
                "{changed}"
            );
        }
    }
}

/// A test that kills the warm worker that forked it: that mutant is an
/// `error` (never lost, never a pass), the worker is restarted, and the
/// run goes on.
#[test]
fn a_worker_killed_by_a_test_is_restarted_and_its_mutant_is_an_error() {
    let project = copy_fixture("workerdeath");
    let run =
        noot(project.path(), &["run", "--runner", "inprocess", "--format", "json", "-j", "1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = json(&run.stdout);
    let expected: BTreeMap<String, String> = [
        ("wd.calc.bump__noot_1".to_owned(), "error".to_owned()),
        ("wd.calc.bump__noot_2".to_owned(), "killed".to_owned()),
    ]
    .into_iter()
    .collect();
    assert_eq!(statuses(&report), expected);
    let dead = &report["mutants"][0];
    assert_eq!(dead["id"], "wd.calc.bump__noot_1");
    assert_eq!(dead["detail"], "the worker died; the worker was restarted");
    // The next run starts from a clean slate: an error is never reused.
    let again = json(
        &noot(project.path(), &["run", "--runner", "inprocess", "--format", "json", "-j", "1"])
            .stdout,
    );
    assert_eq!(again["summary"]["reused"], 1);
}

#[test]
fn a_third_party_runner_from_plugins_paths_gives_the_same_verdicts() {
    // The example `command` runner: a cdylib built against the plugin API
    // alone, named in noot.toml, running pytest as a plain command.
    let library = build_cdylib("noot-example-command-runner", &[]);
    let project = copy_fixture("calc");
    let configure = |argv: &str| {
        let config = format!(
            "[plugins]\npaths = [{:?}]\n\n[mutate]\nrunner = \"command\"\n\n\
             [mutate.runner_options.command]\nargv = {argv}\n",
            library.display().to_string()
        );
        std::fs::write(project.path().join("noot.toml"), config).expect("write noot.toml");
    };
    configure(r#"["python3", "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]"#);
    let listed = noot(project.path(), &["plugins", "list"]);
    assert!(listed.stdout.contains("command"), "{}", listed.stdout);
    let run = noot(project.path(), &["run", "--format", "json", "-j", "2"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = json(&run.stdout);
    assert_eq!(report["runner"], "command");
    assert_eq!(statuses(&report), calc_expected());

    // Its configuration errors reach the user, with the fix, as exit 2.
    configure("[]");
    let bad = noot(project.path(), &["run"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("`argv` is empty"), "{}", bad.stderr);
    assert!(bad.stderr.contains("noot.toml:7:1"), "points at the table: {}", bad.stderr);
}

#[test]
fn a_rerun_reuses_results_and_an_edit_reruns_only_what_it_reaches() {
    let project = copy_fixture("calc");
    let first = noot(project.path(), &["run", "--format", "json"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let second = json(&noot(project.path(), &["run", "--format", "json"]).stdout);
    assert_eq!(second["summary"]["tested"], 0);
    assert_eq!(second["summary"]["reused"], 19);

    // Change text.py: its mutants run again, core.py's are reused.
    let text = project.path().join("src/calc/text.py");
    let source = std::fs::read_to_string(&text).expect("read");
    std::fs::write(
        &text,
        source.replace("return text.upper() + \"!\"", "return text.upper() + \"!\"  # edited"),
    )
    .expect("write");
    let third = json(&noot(project.path(), &["run", "--format", "json"]).stdout);
    assert_eq!(third["summary"]["tested"], 3, "{third}");
    assert_eq!(statuses(&third), calc_expected());
    let rerun: Vec<&str> = third["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .filter(|m| m["reused"] == false)
        .map(|m| m["id"].as_str().expect("id"))
        .collect();
    assert!(rerun.iter().all(|id| id.starts_with("calc.text.")), "{rerun:?}");

    // --force re-tests everything.
    let forced = json(&noot(project.path(), &["run", "--force", "--format", "json"]).stdout);
    assert_eq!(forced["summary"]["reused"], 0);
}

#[test]
fn ctrl_c_stops_cleanly_and_the_next_run_resumes() {
    let project = copy_fixture("calc");
    let journal = project.path().join(".noot/mutate/results.jsonl");
    let child = Command::new(env!("CARGO_BIN_EXE_noot"))
        .args(["run", "-j", "1", "--format", "json"])
        .current_dir(project.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let deadline = Instant::now() + Duration::from_secs(120);
    // Wait for a few results (two no_tests come first, then tested ones).
    while std::fs::read_to_string(&journal).map_or(0, |t| t.lines().count()) < 4 {
        assert!(Instant::now() < deadline, "no results arrived");
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: sending SIGINT to our own child.
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    let out = child.wait_with_output().expect("finishes");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let partial = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(partial["summary"]["interrupted"], true);
    let stored: Value = serde_json::from_str(
        &std::fs::read_to_string(project.path().join(".noot/mutate/results.json"))
            .expect("snapshot"),
    )
    .expect("json");
    let kept = stored["results"].as_object().expect("results").len();
    assert!((4..19).contains(&kept), "kept {kept}");
    assert!(no_python_left_in(project.path()), "no test process outlives the interrupt");

    let resumed = json(&noot(project.path(), &["run", "--format", "json"]).stdout);
    assert_eq!(resumed["summary"]["reused"].as_u64(), Some(kept as u64));
    assert_eq!(statuses(&resumed), calc_expected());
}

/// Whether any process still runs with its working directory in `dir`.
fn no_python_left_in(dir: &Path) -> bool {
    let canonical = dir.canonicalize().expect("canonical");
    std::thread::sleep(Duration::from_millis(100));
    let Ok(entries) = std::fs::read_dir("/proc") else { return true };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let pid = entry.file_name().to_string_lossy().parse::<i32>().ok();
        if let (Some(pid), Ok(cwd)) = (pid, std::fs::read_link(path.join("cwd"))) {
            if running(pid) && cwd.starts_with(&canonical) {
                return false;
            }
        }
    }
    true
}

fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(") ").map(|(_, rest)| !rest.starts_with(['Z', 'X'])))
        .unwrap_or(false)
}

fn hostile(runner: &str) {
    let project = copy_fixture("hostile");
    let pidfile: PathBuf = project.path().join("sleepers.pid");
    let run = noot_env(
        project.path(),
        &["run", "--runner", runner, "--format", "json", "-j", "2"],
        &[("NOOT_TEST_PIDFILE", pidfile.to_str().expect("utf-8"))],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = json(&run.stdout);
    let statuses = statuses(&report);
    let expect = |id: &str, status: &str| {
        assert_eq!(statuses.get(id).map(String::as_str), Some(status), "{id} with {runner}");
    };
    expect("hostile.core.count_up__noot_4", "timeout");
    expect("hostile.core.count_up__noot_5", "timeout");
    expect("hostile.core.guard_exit__noot_1", "error");
    expect("hostile.core.guard_kill__noot_1", "killed");
    expect("hostile.core.chatty__noot_1", "survived");
    expect("hostile.core.helper__noot_1", "survived");
    // The megabytes were capped in what is stored.
    let stored: Value = serde_json::from_str(
        &std::fs::read_to_string(project.path().join(".noot/mutate/results.json"))
            .expect("results"),
    )
    .expect("json");
    let output = stored["results"]["hostile.core.chatty__noot_1"]["output"].as_str().unwrap_or("");
    assert!(output.len() > 1000 && output.len() < 70 * 1024, "kept {} bytes", output.len());
    // The sleeper died with its test's process group.
    let pids = std::fs::read_to_string(&pidfile).expect("the sleeper mutant ran");
    for pid in pids.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        assert!(!running(pid), "sleeper {pid} outlived its mutant");
    }
    assert!(no_python_left_in(project.path()));
}

#[test]
fn hostile_mutants_get_verdicts_with_the_subprocess_runner() {
    hostile("subprocess");
}

#[test]
fn hostile_mutants_get_verdicts_with_the_inprocess_runner() {
    hostile("inprocess");
}

#[test]
fn results_show_and_report_read_the_last_run() {
    let project = copy_fixture("calc");
    assert_eq!(noot(project.path(), &["run"]).code, 0);

    let survived = noot(project.path(), &["results", "--status", "survived", "--format", "json"]);
    assert_eq!(survived.code, 0, "{}", survived.stderr);
    let report = json(&survived.stdout);
    assert_eq!(report["mutants"].as_array().expect("mutants").len(), 7);

    let show = noot(project.path(), &["show", "calc.core.is_adult__noot_1"]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(
        show.stdout.contains("--- a/src/calc/core.py\n+++ b/src/calc/core.py\n"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout.contains("-    return age >= 18\n+    return age > 18\n"),
        "{}",
        show.stdout
    );

    let unknown = noot(project.path(), &["show", "calc.core.is_adult__noot_9"]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("did you mean"), "{}", unknown.stderr);

    let report = noot(project.path(), &["report", "--stryker", "out/mutation.json"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let stryker =
        json(&std::fs::read_to_string(project.path().join("out/mutation.json")).expect("json"));
    assert_eq!(stryker["schemaVersion"], "2");
    let mutants = stryker["files"]["src/calc/core.py"]["mutants"].as_array().expect("mutants");
    assert!(mutants.iter().any(|m| m["status"] == "Survived"));
    assert!(mutants.iter().any(|m| m["status"] == "NoCoverage"));
    let html = std::fs::read_to_string(project.path().join("out/mutation.html")).expect("html");
    assert!(html.contains("<mutation-test-report-app"));
    assert!(html.contains("calc.core.is_adult__noot_1"));
}

#[test]
fn fail_under_gates_on_the_score() {
    let project = copy_fixture("calc");
    let run = noot(project.path(), &["run", "--fail-under", "90"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("below --fail-under 90"), "{}", run.stderr);
    assert!(run.stdout.contains("Survived (7):"), "{}", run.stdout);
    let pass = noot(project.path(), &["run", "--fail-under", "50"]);
    assert_eq!(pass.code, 0, "{}", pass.stderr);
}

#[test]
fn a_failing_baseline_stops_with_the_failing_test() {
    let project = copy_fixture("calc");
    let test = project.path().join("tests/test_text.py");
    std::fs::write(
        &test,
        "from calc.text import shout\n\n\ndef test_shout():\n    assert shout('hi') == 'nope'\n",
    )
    .expect("write");
    let run = noot(project.path(), &["run"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.stderr.contains("the test suite fails without any mutant"), "{}", run.stderr);
    assert!(run.stderr.contains("tests/test_text.py::test_shout"), "{}", run.stderr);
}

#[test]
fn tests_that_import_the_original_package_are_explained() {
    let project = copy_fixture("calc");
    let src = project.path().join("src").canonicalize().expect("src");
    std::fs::write(
        project.path().join("tests/conftest.py"),
        format!("import sys\nsys.path.insert(0, {:?})\n", src.display().to_string()),
    )
    .expect("conftest");
    let run = noot(project.path(), &["run"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.stderr.contains("no test reached any mutated function"), "{}", run.stderr);
    assert!(run.stderr.contains("calc.core was imported from"), "{}", run.stderr);
}

#[test]
fn an_unknown_runner_names_its_line_and_the_closest_name() {
    let project = copy_fixture("calc");
    std::fs::write(project.path().join("noot.toml"), "[mutate]\nrunner = \"subproces\"\n")
        .expect("write");
    let run = noot(project.path(), &["run"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("noot.toml:2"), "{}", run.stderr);
    assert!(run.stderr.contains("did you mean `subprocess`"), "{}", run.stderr);
    let cli = noot(project.path(), &["run", "--runner", "nope"]);
    assert_eq!(cli.code, 2);
    assert!(cli.stderr.contains("unknown runner `nope`"), "{}", cli.stderr);
}

#[test]
fn debug_prints_a_command_that_reproduces_the_mutant() {
    let project = copy_fixture("calc");
    let run = noot(project.path(), &["run", "--debug", "calc.core.is_adult__noot_1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("debug: calc.core.is_adult__noot_1:"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    let command = line.split_once("calc.core.is_adult__noot_1: ").map(|(_, c)| c).expect("command");
    assert!(command.contains("MUTANT_UNDER_TEST=calc.core.is_adult__noot_1"), "{command}");
    // Run it by hand: the mutant survives, so pytest passes.
    let status = Command::new("sh").args(["-c", command]).output().expect("sh");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stdout));
}

/// Methods, classmethods, staticmethods, properties, `super()`, decorated
/// functions, generators, coroutines, async generators, positional-only
/// and keyword-only parameters and nested functions: every mutant is
/// killed, so every variant was really reached through its trampoline.
#[test]
fn every_kind_of_function_dispatches_to_its_variants() {
    for runner in ["subprocess", "inprocess"] {
        let project = copy_fixture("kinds");
        let run = noot(project.path(), &["run", "--runner", runner, "--format", "json", "-j", "2"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let report = json(&run.stdout);
        let not_killed: Vec<(String, String)> =
            statuses(&report).into_iter().filter(|(_, status)| status != "killed").collect();
        assert!(not_killed.is_empty(), "{runner}: {not_killed:?}");
        assert_eq!(report["summary"]["killed"], 33, "{runner}");
        assert!(report["skipped_functions"].as_array().expect("skipped").is_empty());
    }
}

/// The ids of the mutants with `status` in a `noot results --format json`.
fn ids_with(project: &Path, status: &str) -> Vec<String> {
    let listed = noot(project, &["results", "--status", status, "--format", "json"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let mut ids: Vec<String> = json(&listed.stdout)["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

/// The page `noot report` writes, opened from `file://` in a real headless
/// Chromium that can reach no network: the viewer renders the file table
/// (names and scores), the survivors and uncovered mutants are marked in
/// the code (read from the rendered shadow DOM, never from the inlined
/// data), clicking a survivor shows why it survived, and the page asked
/// for nothing but itself. A screenshot is left in the target folder.
#[test]
fn the_html_report_renders_offline_in_a_headless_browser() {
    let Some(chromium) = browser::executable() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must render the HTML report in a browser: install Debian's chromium-headless-shell \
             (.ci/run does) or set NOOT_TEST_CHROMIUM to a Chromium executable"
        );
        eprintln!(
            "skipped: no Chromium (apt-get install chromium-headless-shell, or set NOOT_TEST_CHROMIUM)"
        );
        return;
    };
    let project = copy_fixture("calc");
    let run = noot(project.path(), &["run", "-j", "2"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = noot(project.path(), &["report", "--stryker", "out/mutation.json"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let page = project.path().join("out/mutation.html");
    let html = std::fs::read_to_string(&page).expect("html");
    assert!(!html.contains("<script src") && !html.contains("<link"), "loads nothing");

    let mut browser = browser::Browser::start(&chromium);
    let session = browser.open(&format!("file://{}", page.display()));
    let table = browser.wait_for(&session, "the file table", |r| {
        let text = r["text"].as_str().unwrap_or("");
        text.contains("core.py") && text.contains("text.py")
    });
    let text = table["text"].as_str().unwrap_or("");
    // The viewer's own numbers: the whole run's score, core.py's, text.py's.
    for number in ["52.63", "43.75", "100.00"] {
        assert!(text.contains(number), "{number} in the rendered table: {text}");
    }

    browser.eval(&session, "location.hash = '#mutant/core.py'");
    let code = browser.wait_for(&session, "core.py's code", |r| {
        r["survived"].as_array().is_some_and(|a| !a.is_empty())
    });
    let shown = |key: &str| -> Vec<String> {
        code[key]
            .as_array()
            .expect("ids")
            .iter()
            .map(|v| v.as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(shown("survived"), ids_with(project.path(), "survived"), "survivors on screen");
    assert_eq!(shown("noCoverage"), ids_with(project.path(), "no_tests"), "uncovered on screen");
    let source = code["text"].as_str().unwrap_or("");
    assert!(source.contains("Small arithmetic helpers") && source.contains("is_adult"), "{source}");

    browser.eval(
        &session,
        &format!("{}.click()", browser::element_with_mutant_id("calc.core.is_adult__noot_1")),
    );
    let drawer = browser.wait_for(&session, "the survivor's details", |r| {
        r["text"].as_str().unwrap_or("").contains("every selected test passed")
    });
    assert!(drawer["text"].as_str().unwrap_or("").contains("comparison_swap"), "{drawer}");

    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("noot-html-report.png");
    browser.screenshot(&session, &shot);
    eprintln!("screenshot: {}", shot.display());
    let requests = browser.network_requests();
    assert!(
        requests.iter().all(|url| url.starts_with("file:") || url.starts_with("data:")),
        "the page asked the network for {requests:?}"
    );
}

/// A headless Chromium driven over the DevTools protocol on a pipe
/// (`--remote-debugging-pipe`: the browser reads NUL-terminated JSON
/// messages on fd 3 and writes its own on fd 4), so no port, no WebSocket
/// client and no extra crate are needed.
mod browser {
    use std::fs::File;
    use std::io::{BufRead, BufReader, Write};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use serde_json::{Value, json};

    /// Chromium from `NOOT_TEST_CHROMIUM`, else the first of Debian's and
    /// others' names on PATH.
    pub fn executable() -> Option<PathBuf> {
        if let Some(path) = std::env::var_os("NOOT_TEST_CHROMIUM") {
            return Some(PathBuf::from(path));
        }
        let path = std::env::var_os("PATH")?;
        ["chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"]
            .iter()
            .find_map(|name| {
                std::env::split_paths(&path).map(|dir| dir.join(name)).find(|c| c.is_file())
            })
    }

    /// What the page shows, read through every shadow root: its text (no
    /// script, style or noscript), and the ids of the mutants marked
    /// `Survived` and `NoCoverage` in the rendered code.
    const RENDERED: &str = r#"(() => {
      const texts = [], survived = new Set(), noCoverage = new Set();
      if (!document.body) return { text: '', survived: [], noCoverage: [] };
      const walk = (node) => {
        if (node.nodeType === Node.ELEMENT_NODE) {
          if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE'].includes(node.tagName)) return;
          const id = node.getAttribute('data-mutant-id');
          if (id && node.checkVisibility()) {
            if (node.classList.contains('Survived')) survived.add(id);
            if (node.classList.contains('NoCoverage')) noCoverage.add(id);
          }
          if (node.shadowRoot) walk(node.shadowRoot);
        } else if (node.nodeType === Node.TEXT_NODE) {
          const text = node.nodeValue.trim();
          if (text) texts.push(text);
        }
        for (const child of node.childNodes) walk(child);
      };
      walk(document.body);
      return { text: texts.join(' '), survived: [...survived].sort(), noCoverage: [...noCoverage].sort() };
    })()"#;

    /// A JavaScript expression for the first element (through shadow
    /// roots) with this `data-mutant-id`.
    pub fn element_with_mutant_id(id: &str) -> String {
        format!(
            r#"(() => {{
              const find = (node) => {{
                if (node.nodeType === Node.ELEMENT_NODE && node.getAttribute('data-mutant-id') === {id:?}) return node;
                for (const child of [...(node.shadowRoot ? [node.shadowRoot] : []), ...node.childNodes]) {{
                  const found = find(child);
                  if (found) return found;
                }}
                return null;
              }};
              return find(document.body);
            }})()"#
        )
    }

    pub struct Browser {
        child: Child,
        to: File,
        from: BufReader<File>,
        next: u64,
        events: Vec<Value>,
        log: PathBuf,
        _watchdog: mpsc::Sender<()>,
        _profile: tempfile::TempDir,
    }

    impl Drop for Browser {
        fn drop(&mut self) {
            kill_group(self.child.id());
            let _ = self.child.wait();
        }
    }

    fn kill_group(pid: u32) {
        if let Ok(pgid) = i32::try_from(pid) {
            // SAFETY: killpg has no memory-safety preconditions.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
    }

    fn pipe() -> (OwnedFd, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two descriptors into the array it is given.
        let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
        assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors were just opened and are owned here alone.
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
    }

    impl Browser {
        /// Starts the browser in its own process group with a fresh profile,
        /// no network (every host name fails and the proxy is a closed
        /// port), and a watchdog that kills it after two minutes.
        pub fn start(executable: &Path) -> Self {
            let profile = tempfile::tempdir().expect("profile");
            let log = profile.path().join("chromium.log");
            // (read end, write end)
            let (browser_reads, to_browser) = pipe();
            let (from_browser, browser_writes) = pipe();
            let mut command = Command::new(executable);
            command
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-extensions",
                    "--mute-audio",
                    "--proxy-server=127.0.0.1:9",
                    "--host-resolver-rules=MAP * ~NOTFOUND",
                    "--window-size=1280,1400",
                    "--remote-debugging-pipe",
                ])
                .arg(format!("--user-data-dir={}", profile.path().join("profile").display()))
                .arg("about:blank")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(&log).expect("log"))
                .process_group(0);
            let (reads, writes) = (browser_reads.as_raw_fd(), browser_writes.as_raw_fd());
            // SAFETY: between fork and exec only async-signal-safe calls
            // (fcntl, dup2). The ends are first copied above 10 so that
            // placing them on 3 and 4 cannot overwrite one with the other;
            // dup2 clears close-on-exec on the copies the browser keeps.
            unsafe {
                command.pre_exec(move || {
                    let high_reads = libc::fcntl(reads, libc::F_DUPFD_CLOEXEC, 10);
                    let high_writes = libc::fcntl(writes, libc::F_DUPFD_CLOEXEC, 10);
                    if high_reads < 0
                        || high_writes < 0
                        || libc::dup2(high_reads, 3) < 0
                        || libc::dup2(high_writes, 4) < 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            let child = command
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", executable.display()));
            drop((browser_reads, browser_writes));
            let (watchdog, stop) = mpsc::channel::<()>();
            let pid = child.id();
            std::thread::spawn(move || {
                if stop.recv_timeout(Duration::from_secs(120))
                    == Err(mpsc::RecvTimeoutError::Timeout)
                {
                    kill_group(pid);
                }
            });
            Self {
                child,
                to: File::from(to_browser),
                from: BufReader::new(File::from(from_browser)),
                next: 0,
                events: Vec::new(),
                log,
                _watchdog: watchdog,
                _profile: profile,
            }
        }

        fn log_tail(&self) -> String {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            lines[lines.len().saturating_sub(20)..].join("\n")
        }

        /// Sends one command and waits for its answer, keeping the events
        /// that arrive meanwhile.
        pub fn call(&mut self, method: &str, params: Value, session: Option<&str>) -> Value {
            self.next += 1;
            let id = self.next;
            let mut message = json!({"id": id, "method": method, "params": params});
            if let Some(session) = session {
                message["sessionId"] = session.into();
            }
            let mut bytes = serde_json::to_vec(&message).expect("json");
            bytes.push(0);
            if let Err(e) = self.to.write_all(&bytes) {
                panic!("{method}: the browser is gone ({e}):\n{}", self.log_tail());
            }
            loop {
                let mut raw = Vec::new();
                let read = self.from.read_until(0, &mut raw).expect("read the pipe");
                if read == 0 || raw.pop() != Some(0) {
                    panic!("{method}: the browser closed its pipe:\n{}", self.log_tail());
                }
                let reply: Value = serde_json::from_slice(&raw).expect("a JSON message");
                if reply["id"] == id {
                    assert!(reply.get("error").is_none(), "{method}: {reply}");
                    return reply["result"].clone();
                }
                self.events.push(reply);
            }
        }

        /// Opens `url` in a new tab with the network watched; the session id.
        pub fn open(&mut self, url: &str) -> String {
            let target = self.call("Target.createTarget", json!({"url": "about:blank"}), None);
            let target = target["targetId"].as_str().expect("targetId").to_owned();
            let attached = self.call(
                "Target.attachToTarget",
                json!({"targetId": target, "flatten": true}),
                None,
            );
            let session = attached["sessionId"].as_str().expect("sessionId").to_owned();
            self.call("Network.enable", json!({}), Some(&session));
            self.call("Page.enable", json!({}), Some(&session));
            self.call("Page.navigate", json!({"url": url}), Some(&session));
            session
        }

        /// Evaluates an expression in the page; its value.
        pub fn eval(&mut self, session: &str, expression: &str) -> Value {
            let result = self.call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
                Some(session),
            );
            assert!(result.get("exceptionDetails").is_none(), "{expression}: {result}");
            result["result"]["value"].clone()
        }

        /// What the page shows once `ready` holds (30 s at most).
        pub fn wait_for(
            &mut self,
            session: &str,
            what: &str,
            ready: impl Fn(&Value) -> bool,
        ) -> Value {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let rendered = self.eval(session, RENDERED);
                if ready(&rendered) {
                    return rendered;
                }
                if Instant::now() > deadline {
                    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("noot-html-failed.png");
                    self.screenshot(session, &shot);
                    panic!(
                        "{what} never rendered (screenshot {}); the page shows: {rendered}\n{}",
                        shot.display(),
                        self.log_tail()
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }

        /// Saves a PNG of the page.
        pub fn screenshot(&mut self, session: &str, path: &Path) {
            let shot = self.call("Page.captureScreenshot", json!({"format": "png"}), Some(session));
            let png = base64_decode(shot["data"].as_str().expect("data"));
            assert!(png.starts_with(b"\x89PNG"), "a PNG");
            std::fs::write(path, png).expect("write the screenshot");
        }

        /// Every URL the page asked for so far.
        pub fn network_requests(&mut self) -> Vec<String> {
            self.events
                .iter()
                .filter(|e| e["method"] == "Network.requestWillBeSent")
                .filter_map(|e| e["params"]["request"]["url"].as_str().map(str::to_owned))
                .collect()
        }
    }

    fn base64_decode(text: &str) -> Vec<u8> {
        let value = |c: u8| match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        };
        let mut out = Vec::with_capacity(text.len() * 3 / 4);
        let (mut bits, mut count) = (0u32, 0);
        for sextet in text.bytes().filter_map(value) {
            bits = (bits << 6) | u32::from(sextet);
            count += 6;
            if count >= 8 {
                count -= 8;
                out.push(((bits >> count) & 0xFF) as u8);
                bits &= (1 << count) - 1;
            }
        }
        out
    }
}

/// Checks a JUnit file against the schema Jenkins ships (junit-10.xsd:
/// its elements, their attributes, the required ones) and that the counts
/// add up; prints what is wrong, nothing when it is valid.
const JUNIT_CHECK: &str = r#"
import sys
import xml.etree.ElementTree as ET

ALLOWED = {
    "testsuites": ({"name", "time", "tests", "failures", "errors"}, set()),
    "testsuite": ({"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp",
                   "hostname", "id", "package", "file", "log", "url"},
                  {"name", "tests", "failures", "errors"}),
    "properties": (set(), set()),
    "property": ({"name", "value"}, {"name", "value"}),
    "testcase": ({"name", "time", "classname", "group"}, {"name"}),
    "failure": ({"type", "message"}, set()),
    "error": ({"type", "message"}, set()),
    "skipped": ({"type", "message"}, set()),
    "system-out": (set(), set()),
    "system-err": (set(), set()),
}
CHILDREN = {
    "testsuites": {"testsuite"},
    "testsuite": {"testsuite", "properties", "testcase", "system-out", "system-err"},
    "properties": {"property"},
    "testcase": {"skipped", "error", "failure", "system-out", "system-err"},
}
TIME = __import__("re").compile(r"^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?$")
problems = []
root = ET.parse(sys.argv[1]).getroot()
if root.tag != "testsuites":
    problems.append("root is " + root.tag)
for element in root.iter():
    allowed, required = ALLOWED.get(element.tag, (None, None))
    if allowed is None:
        problems.append("unknown element " + element.tag)
        continue
    for name in set(element.attrib) - allowed:
        problems.append(f"{element.tag} has no attribute {name}")
    for name in required - set(element.attrib):
        problems.append(f"{element.tag} lacks {name}")
    for child in element:
        if child.tag not in CHILDREN.get(element.tag, set()):
            problems.append(f"{child.tag} inside {element.tag}")
    if element.tag in ("testsuites", "testsuite") and not TIME.match(element.get("time", "")):
        problems.append(f"time {element.get('time')!r}")
for suite in [root, *root.iter("testsuite")]:
    cases = list(suite.iter("testcase"))
    counted = {
        "tests": len(cases),
        "failures": sum(len(c.findall("failure")) for c in cases),
        "errors": sum(len(c.findall("error")) for c in cases),
    }
    for key, value in counted.items():
        if suite.get(key) != str(value):
            problems.append(f"{suite.tag} {suite.get('name')}: {key}={suite.get(key)}, counted {value}")
print("\n".join(problems))
"#;

/// `noot report --junit` and `--github` on the calc run: a JUnit file that
/// keeps to the schema (checked element by element) with one case per
/// mutant, survivors and uncovered mutants failing with their diff, and
/// one escaped annotation per undetected mutant; both snapshotted.
#[test]
fn junit_and_github_reports_of_a_run() {
    let project = copy_fixture("calc");
    assert_eq!(noot(project.path(), &["run", "-j", "2"]).code, 0);

    let report = noot(project.path(), &["report", "--junit", "out/mutation.xml"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert_eq!(report.stdout, "wrote out/mutation.xml (19 test cases, 9 failing)\n");
    let path = project.path().join("out/mutation.xml");
    let check = Command::new("python3")
        .args(["-c", JUNIT_CHECK])
        .arg(&path)
        .output()
        .expect("python3 runs");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let problems = String::from_utf8_lossy(&check.stdout);
    assert!(problems.trim().is_empty(), "not valid JUnit:\n{problems}");
    let xml = std::fs::read_to_string(&path).expect("junit");
    let times = regex::Regex::new(r#"time="[0-9]+\.[0-9]{3}""#).expect("regex");
    snapshot!("report_junit_calc", times.replace_all(&xml, r#"time="0.000""#));

    // Not a git repository: paths relative to the project, and a warning.
    let github = noot(project.path(), &["report", "--github"]);
    assert_eq!(github.code, 0, "{}", github.stderr);
    assert!(github.stderr.contains("not a git repository"), "{}", github.stderr);
    assert!(github.stderr.contains("9 annotations for undetected mutants"), "{}", github.stderr);
    assert!(github.stdout.lines().all(|l| l.starts_with("::warning file=src/calc/core.py,line=")));
    snapshot!("report_github_calc", github.stdout);

    let json_too = noot(project.path(), &["report", "--github", "--format", "json"]);
    assert_eq!(json_too.code, 2);
    assert!(json_too.stderr.contains("run `noot report` once for each"), "{}", json_too.stderr);
    let nothing = noot(project.path(), &["report"]);
    assert_eq!(nothing.code, 2);
    assert!(nothing.stderr.contains("--stryker"), "{}", nothing.stderr);
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=noot", "-c", "user.email=noot@example.invalid"])
        .args(["-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A project in a subfolder of a git repository, a branch that edits one
/// line: `--github --changed-since main` annotates only the survivors on
/// that line, with paths from the repository's root.
#[test]
fn github_annotations_only_on_lines_changed_since_a_ref() {
    let repo = tempfile::tempdir().expect("tempdir");
    let project = repo.path().join("proj");
    copy_tree(&fixture("mutate/calc"), &project);
    std::fs::write(repo.path().join(".gitignore"), ".noot/\nmutants/\n__pycache__/\n")
        .expect("gitignore");
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "base"]);
    git(repo.path(), &["checkout", "-q", "-b", "feature"]);
    let core = project.join("src/calc/core.py");
    let source = std::fs::read_to_string(&core).expect("read");
    let edited = source.replace("    return age >= 18\n", "    return age >= 18  # adults\n");
    assert_ne!(edited, source);
    std::fs::write(&core, edited).expect("write");
    git(repo.path(), &["commit", "-q", "-am", "edit is_adult"]);

    assert_eq!(noot(&project, &["run", "-j", "2"]).code, 0);
    let github = noot(&project, &["report", "--github", "--changed-since", "main"]);
    assert_eq!(github.code, 0, "{}", github.stderr);
    assert!(
        github.stderr.contains(
            "2 annotations for undetected mutants on lines changed since main (7 more on unchanged lines)"
        ),
        "{}",
        github.stderr
    );
    snapshot!("report_github_changed_since", github.stdout);

    let unknown = noot(&project, &["report", "--github", "--changed-since", "no-such-branch"]);
    assert_eq!(unknown.code, 2, "{}", unknown.stdout);
    assert!(unknown.stderr.contains("`git merge-base no-such-branch HEAD`"), "{}", unknown.stderr);
    assert!(unknown.stderr.contains("fetch-depth: 0"), "{}", unknown.stderr);
    let alone = noot(&project, &["report", "--junit", "x.xml", "--changed-since", "main"]);
    assert_eq!(alone.code, 2, "--changed-since needs --github: {}", alone.stderr);
}

/// `noot results` and `noot run`'s summary show the per-file table, worst
/// score first, and the JSON its `files`; a `--status` listing does not.
#[test]
fn results_end_with_a_table_per_file() {
    let project = copy_fixture("calc");
    let run = noot(project.path(), &["run", "-j", "2"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let results = noot(project.path(), &["results"]);
    assert_eq!(results.code, 0, "{}", results.stderr);
    snapshot!("results_human_calc", results.stdout);
    // `noot run`'s summary has the same table, after the score.
    let table = results.stdout.split_once("\nPer file").map(|(_, t)| t).expect("a table");
    let (score, rest) = run.stdout.split_once("  score ").expect("the score line");
    assert!(!score.contains("Per file"), "the table follows the score");
    assert!(rest.contains(&format!("\nPer file{table}")), "{}", run.stdout);
    let survived = noot(project.path(), &["results", "--status", "survived"]);
    assert!(!survived.stdout.contains("Per file"), "{}", survived.stdout);
    let report = json(&noot(project.path(), &["results", "--format", "json"]).stdout);
    assert_eq!(report["files"][0]["file"], "src/calc/core.py");
    assert_eq!(report["files"][0]["survived"], 7);
    assert_eq!(report["files"][1]["score"], 100.0);
}

/// The import check's soundness on state built at import in every place
/// it must look (a registry, a closure's code, a default argument, a class
/// attribute): `inprocess`, which settles some import-time mutants by
/// comparing what the import built, gives every mutant the verdict of
/// `subprocess`, which runs the whole suite in a fresh import for each.
#[test]
fn the_import_check_gives_the_verdicts_of_a_fresh_whole_suite_run() {
    let mut found = BTreeMap::new();
    let mut details = BTreeMap::new();
    for runner in ["subprocess", "inprocess"] {
        let project = copy_fixture("impstate");
        let run = noot(project.path(), &["run", "--runner", runner, "--format", "json", "-j", "2"]);
        assert_eq!(run.code, 0, "{runner}: {}", run.stderr);
        let report = json(&run.stdout);
        found.insert(runner, statuses(&report));
        details.insert(
            runner,
            report["mutants"]
                .as_array()
                .expect("mutants")
                .iter()
                .map(|m| {
                    (
                        m["id"].as_str().unwrap_or_default().to_owned(),
                        m["detail"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect::<BTreeMap<_, _>>(),
        );
    }
    assert_eq!(found["inprocess"], found["subprocess"]);
    let same: Vec<&String> = details["inprocess"]
        .iter()
        .filter(|(_, detail)| detail.contains("built the same state as without it"))
        .map(|(id, _)| id)
        .collect();
    assert!(!same.is_empty(), "the check settles some: {:?}", details["inprocess"]);
    let killed_by_state = found["subprocess"]
        .iter()
        .filter(|(id, status)| {
            *status == "killed"
                && ["count_sides", "make_scaler", "default_unit", "register"]
                    .iter()
                    .any(|f| id.contains(f))
        })
        .count();
    assert!(killed_by_state >= 4, "state changes are killed: {:?}", found["subprocess"]);
}

/// The warm worker runs a mutant's first test through pytest's call
/// phase alone when nothing else of the protocol could change its outcome,
/// and trusts only a failure from it. Each survivor of the `lean` fixture
/// depends on a part of the protocol (fixtures, package setup, capture,
/// `PYTEST_CURRENT_TEST`, an imperative or marked xfail, `pytest.skip`,
/// `unittest.SkipTest`, which pytest's report phase calls a skip): a runner
/// that ran the test bare would call it killed. Verdicts must be those of
/// whole pytest sessions in fresh processes.
#[test]
fn the_first_test_run_alone_gives_the_verdicts_of_the_whole_protocol() {
    let mut found = BTreeMap::new();
    for runner in ["subprocess", "inprocess"] {
        let project = copy_fixture("lean");
        let run = noot(project.path(), &["run", "--runner", runner, "--format", "json", "-j", "2"]);
        assert_eq!(run.code, 0, "{runner}: {}", run.stderr);
        found.insert(runner, statuses(&json(&run.stdout)));
    }
    assert_eq!(found["inprocess"], found["subprocess"]);
    let survivors = |function: &str| {
        found["subprocess"]
            .iter()
            .filter(|(id, status)| id.contains(&format!(".{function}__")) && *status == "survived")
            .count()
    };
    for function in ["mode", "stream", "region", "unit", "available", "stable", "backend", "halve"]
    {
        assert!(survivors(function) > 0, "{function}: {:?}", found["subprocess"]);
    }
    // A warning the project's filters turn into an error kills, alone too.
    assert_eq!(found["inprocess"]["lean.outcomes.legacy_size__noot_1"], "killed");
}
