//! Plugins through the binary: listing, third-party libraries from
//! noot.toml, checks, and the refusals (mismatched ABI, fake file, panics,
//! duplicates).

use std::path::Path;

use crate::snapshot;
use crate::support::{build_cdylib, noot, noot_stdin, redact_path};

const EPSILON: &str = "noot-example-epsilon-greedy";
const LONG_HEX: &str = "noot-example-long-hex";

fn project_with_plugins(libraries: &[&Path], extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("plugins")).expect("mkdir");
    let mut paths = Vec::new();
    for library in libraries {
        let name = library.file_name().expect("file name");
        std::fs::copy(library, dir.path().join("plugins").join(name)).expect("copy");
        paths.push(format!("\"plugins/{}\"", name.to_string_lossy()));
    }
    let toml = format!("[plugins]\npaths = [{}]\n{extra}", paths.join(", "));
    std::fs::write(dir.path().join("noot.toml"), toml).expect("write");
    dir
}

#[test]
fn list_json_of_the_built_ins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = noot(dir.path(), &["plugins", "list", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    snapshot!("plugins_list_json", run.stdout);
}

#[test]
fn two_third_party_libraries_load_from_noot_toml_and_stay_distinct() {
    let epsilon = build_cdylib(EPSILON, &[]);
    let long_hex = build_cdylib(LONG_HEX, &[]);
    let extra =
        "[scrub]\nscrubbers = [\"default\", \"long-hex\"]\n[scrub.plugin.long-hex]\nmin_len = 24\n";
    let project = project_with_plugins(&[&epsilon, &long_hex], extra);
    let run = noot(project.path(), &["plugins", "list", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let listed = redact_path(&run.stdout, project.path(), "PROJECT");
    snapshot!("plugins_list_json_third_party", listed);
    let list: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let names: Vec<(&str, &str)> = list["plugins"]
        .as_array()
        .expect("array")
        .iter()
        .map(|p| (p["kind"].as_str().unwrap_or(""), p["name"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        names,
        [
            ("scrubber", "default"),
            ("runner", "subprocess"),
            ("runner", "inprocess"),
            ("strategy", "round-robin"),
            ("strategy", "shadow"),
            ("strategy", "multi-branch"),
            ("shim-backend", "native"),
            ("shim-backend", "script"),
            ("strategy", "epsilon-greedy"),
            ("scrubber", "long-hex")
        ]
    );

    // Both are callable, each with its own behaviour: the second library is
    // not silently the first.
    let session =
        "session=9f8e7d6c5b4a39281726354453627180 token ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9\n";
    let run = noot_stdin(project.path(), &["scrub", "-"], session);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "session=<REDACTED:long-hex> token <REDACTED:github-token>\n");
    let check_epsilon = noot(project.path(), &["plugins", "check", &epsilon.display().to_string()]);
    assert_eq!(check_epsilon.code, 0, "{}{}", check_epsilon.stdout, check_epsilon.stderr);
    assert!(check_epsilon.stdout.contains(&format!(
        "ok    strategy epsilon-greedy {}: planned a call: primary [a1]",
        env!("CARGO_PKG_VERSION")
    )));
    let check_hex = noot(project.path(), &["plugins", "check", &long_hex.display().to_string()]);
    assert_eq!(check_hex.code, 0);
    assert!(check_hex.stdout.contains("ok    scrubber long-hex"));
}

#[test]
fn a_library_built_against_a_changed_interface_is_refused_in_one_line() {
    let mismatched = build_cdylib("noot-fixture-mismatched", &[]);
    let project = project_with_plugins(&[&mismatched], "");
    let run = noot(project.path(), &["plugins", "list"]);
    assert_eq!(run.code, 2);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "one error line and one hint: {}", run.stderr);
    assert!(lines[0].starts_with("error: ") && lines[0].contains("noot.toml:2:"), "{}", lines[0]);
    assert!(
        lines[0].contains(&format!(
            "libnoot_fixture_mismatched.so was built against noot-plugin-api {}",
            env!("CARGO_PKG_VERSION")
        )),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("rebuild it against this noot's noot-plugin-api"), "{}", lines[0]);
    let verbose = noot(project.path(), &["--verbose", "plugins", "list"]);
    assert_eq!(verbose.code, 2);
    assert!(verbose.stderr.lines().count() > 10, "--verbose shows abi_stable's whole report");
}

#[test]
fn a_file_that_is_not_a_library_is_refused_in_one_line() {
    let project = tempfile::tempdir().expect("tempdir");
    std::fs::write(project.path().join("libfake.so"), "not a shared object").expect("write");
    std::fs::write(project.path().join("noot.toml"), "[plugins]\npaths = [\"libfake.so\"]\n")
        .expect("write");
    let run = noot(project.path(), &["plugins", "list"]);
    assert_eq!(run.code, 2);
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains("noot.toml:2:10: cannot load plugin")
            && first.contains("not a loadable shared library"),
        "{first}"
    );
    let check = noot(project.path(), &["plugins", "check", "libfake.so"]);
    assert_eq!(check.code, 1, "plugins check reports a failed check with 1");
}

#[test]
fn a_panicking_plugin_becomes_an_error_and_noot_exits_cleanly() {
    let panicky = build_cdylib("noot-fixture-panicky", &[]);
    let project = project_with_plugins(&[&panicky], "[scrub]\nscrubbers = [\"panicky\"]\n");
    let run = noot_stdin(project.path(), &["scrub", "-"], "some text\n");
    assert_eq!(run.code, 2, "a clean exit with an error, not an abort: {}", run.stderr);
    assert!(
        run.stderr
            .contains("scrubber `panicky` failed on -: panicked: Scrubber::scrub panicked at "),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("stack backtrace"), "{}", run.stderr);
    let run = noot_stdin(project.path(), &["scrub", "--scrubber", "panicky-constructor", "-"], "x");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("new_scrubber panicked at"), "{}", run.stderr);
    let check = noot(
        project.path(),
        &["plugins", "check", "--format", "json", &panicky.display().to_string()],
    );
    assert_eq!(check.code, 1);
    let report: serde_json::Value = serde_json::from_str(&check.stdout).expect("json");
    let errors: Vec<&str> = report["plugins"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|p| p["error"].as_str())
        .collect();
    assert_eq!(errors.len(), 3);
    assert!(errors.iter().all(|e| e.contains("panicked")), "{errors:?}");
}

/// `noot plugins check` makes a shim with a shim backend, built with the
/// project's `[mox.shim_backend_options.NAME]` table: the example backend,
/// which takes no options, fails where the project gives it some.
#[test]
fn plugins_check_makes_a_shim_with_the_project_s_backend_options() {
    let hardlink = build_cdylib("noot-example-hardlink-shims", &[]).display().to_string();
    let bare = tempfile::tempdir().expect("tempdir");
    let run = noot(bare.path(), &["plugins", "check", &hardlink]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "ok    shim-backend hardlink {}: made 1 shim(s)\n{hardlink}: ok\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    let configured =
        project_with_plugins(&[], "[mox.shim_backend_options.hardlink]\nmode = \"copy\"\n");
    let run = noot(configured.path(), &["plugins", "check", &hardlink]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("invalid configuration: [mox.shim_backend_options.hardlink]: "),
        "{run:?}"
    );
}

#[test]
fn the_builtin_scrubbers_as_a_cdylib_clash_with_the_builtin_copy() {
    let scrubbers = build_cdylib("noot-plugin-scrubbers", &["export"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let run = noot(dir.path(), &["--plugin", &scrubbers.display().to_string(), "plugins", "list"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("two scrubber plugins are named `default`: one from built-in, one from "),
        "{}",
        run.stderr
    );
}
