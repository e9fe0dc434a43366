//! `noot scrub` on fixture files: output, exit codes, JSON report, in place.

use crate::snapshot;
use crate::support::{fixture, noot, noot_stdin};

const TOKEN: &str = "ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9";

#[test]
fn json_report_on_a_fixture() {
    let run = noot(&fixture("scrub"), &["scrub", "--format", "json", "leaky.txt", "clean.txt"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(report["summary"]["findings"], 5);
    assert!(!run.stdout.contains(TOKEN) && !run.stdout.contains("s3cr3t-Passw0rd"));
    snapshot!("scrub_json_fixture", run.stdout);
}

#[test]
fn human_mode_prints_scrubbed_text_and_findings_on_stderr() {
    let run = noot(&fixture("scrub"), &["scrub", "leaky.txt"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("GITHUB_TOKEN=<REDACTED:github-token>"));
    assert!(run.stdout.contains("postgres://app:<REDACTED:url-password>@db.internal"));
    assert!(
        run.stdout
            .contains("commit 3f786850e387550fdab836ed7e6dc881de23001b: fix password reset flow")
    );
    assert!(run.stderr.contains("leaky.txt:3:14: github-token (default)"), "{}", run.stderr);
    assert!(!run.stderr.contains(TOKEN));
}

#[test]
fn clean_input_exits_0() {
    let run = noot(&fixture("scrub"), &["scrub", "clean.txt"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, std::fs::read_to_string(fixture("scrub/clean.txt")).expect("read"));
}

#[test]
fn stdin_is_scrubbed() {
    let run = noot_stdin(&fixture("scrub"), &["scrub", "-"], &format!("token {TOKEN}\n"));
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "token <REDACTED:github-token>\n");
}

#[test]
fn in_place_rewrites_atomically_and_a_second_pass_is_clean() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(fixture("scrub/leaky.txt"), dir.path().join("leaky.txt")).expect("copy");
    std::fs::copy(fixture("scrub/clean.txt"), dir.path().join("clean.txt")).expect("copy");
    let run = noot(dir.path(), &["scrub", "--in-place", "."]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains("5 secret(s) redacted in place in 1 of 2 file(s)"),
        "{}",
        run.stdout
    );
    let text = std::fs::read_to_string(dir.path().join("leaky.txt")).expect("read");
    assert!(text.contains("<REDACTED:aws-secret-access-key>") && !text.contains(TOKEN));
    let names: Vec<_> =
        std::fs::read_dir(dir.path()).expect("ls").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(names.len(), 2, "no temporary files left: {names:?}");
    let again = noot(dir.path(), &["scrub", "--in-place", "."]);
    assert_eq!(again.code, 0, "scrubbing is idempotent: {}", again.stdout);
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(fixture("scrub/leaky.txt"), dir.path().join("leaky.txt")).expect("copy");
    std::fs::write(dir.path().join("blob.bin"), b"\x00\x01\x02").expect("write");
    let run = noot(dir.path(), &["scrub", "--in-place", "leaky.txt", "blob.bin"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("error: blob.bin: binary file"), "{}", run.stderr);
    let text = std::fs::read_to_string(dir.path().join("leaky.txt")).expect("read");
    assert!(text.contains(TOKEN), "nothing is written when an input is bad");
    let run = noot(dir.path(), &["scrub", "missing.txt"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("missing.txt: no such file or folder"), "{}", run.stderr);
}

#[test]
fn json_mode_prints_exactly_one_document_even_with_log_json() {
    let run = noot(
        &fixture("scrub"),
        &["scrub", "--format", "json", "--log-format", "json", "leaky.txt"],
    );
    serde_json::from_str::<serde_json::Value>(&run.stdout).expect("stdout is one JSON document");
    for line in run.stderr.lines() {
        let event: serde_json::Value = serde_json::from_str(line).expect("stderr is JSON lines");
        assert!(event["event"].is_string());
    }
}

/// The JSON report over a tree with links: links met while walking are
/// passed over with their reason, `--follow` scrubs what they lead to
/// (once), and a link named on the command line carries its target.
#[test]
fn json_report_with_symbolic_links() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    std::fs::create_dir_all(root.join("tree/sub")).expect("mkdir");
    std::fs::create_dir_all(root.join("elsewhere")).expect("mkdir");
    std::fs::write(root.join("tree/a.txt"), format!("token={TOKEN}\n")).expect("write");
    std::fs::write(root.join("elsewhere/e.txt"), "clean\n").expect("write");
    symlink("..", root.join("tree/sub/up")).expect("symlink");
    symlink("../elsewhere", root.join("tree/ext")).expect("symlink");
    symlink("a.txt", root.join("tree/same.txt")).expect("symlink");
    symlink("tree/a.txt", root.join("link.txt")).expect("symlink");
    let mut reports = String::new();
    for args in [&["tree"][..], &["--follow", "tree"], &["link.txt"]] {
        let mut all = vec!["scrub", "--format", "json"];
        all.extend_from_slice(args);
        let run = noot(&root, &all);
        assert_eq!(run.code, 1, "{}", run.stderr);
        reports.push_str(&format!("$ noot {}\n{}\n", all.join(" "), run.stdout));
    }
    snapshot!("scrub_json_links", reports.replace(&root.display().to_string(), "[DIR]"));
}
