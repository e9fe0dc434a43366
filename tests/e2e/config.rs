//! `noot config show` and `noot config check` on fixture projects.

use crate::snapshot;
use crate::support::{fixture, noot, noot_env, redact_path};

#[test]
fn show_json_on_a_configured_project() {
    let dir = fixture("projects/configured");
    let run = noot(&dir, &["config", "show", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str::<serde_json::Value>(&run.stdout).expect("one JSON document");
    snapshot!("config_show_json", redact_path(&run.stdout, &dir, "PROJECT"));
}

#[test]
fn environment_and_cli_override_the_file() {
    let dir = fixture("projects/configured");
    let run = noot_env(&dir, &["config", "show", "--format", "json"], &[("NOOT_JOBS", "5")]);
    let shown: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(shown["jobs"], 5);
    assert_eq!(shown["origins"]["jobs"], "environment variable NOOT_JOBS");
    let run = noot_env(
        &dir,
        &["--jobs", "7", "config", "show", "--format", "json"],
        &[("NOOT_JOBS", "5")],
    );
    let shown: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(shown["jobs"], 7);
}

#[test]
fn pyproject_tool_noot_is_found_from_a_subfolder() {
    let dir = fixture("projects/pyproject");
    let run = noot(&dir.join("src/pkg"), &["config", "show", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let shown: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(shown["jobs"], 3);
    assert!(shown["origins"]["jobs"].as_str().is_some_and(|o| o.ends_with("pyproject.toml:6:8")));
}

#[test]
fn a_typo_is_an_error_with_file_line_and_a_suggestion() {
    let dir = fixture("projects/typo");
    let run = noot(&dir, &["config", "check"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: ") && first.contains("noot.toml:4:1: unknown field `scrubers`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("help: did you mean `scrubbers`?"));
}

#[test]
fn check_accepts_a_valid_project() {
    let run = noot(&fixture("projects/configured"), &["config", "check"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("ok: "));
}

#[test]
fn a_bad_plugin_table_is_reported_by_config_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("noot.toml"), "[scrub.plugin.default]\nentropy = 2\n")
        .expect("write");
    let run = noot(dir.path(), &["config", "check"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("unknown field `entropy`"), "{}", run.stderr);
}
