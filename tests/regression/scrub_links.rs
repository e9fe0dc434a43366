//! `noot scrub` and symbolic links (issue 14, item 9). Walking followed
//! symlinked folders: a `..` link read one file 41 times under longer and
//! longer paths, and two links forming a loop hung noot with its memory
//! growing. `--in-place` given a link replaced the link with a redacted
//! copy, said the secret was redacted, and left it in the real file.
//!
//! Now links met while walking a folder are not followed (reported as
//! skipped); `--follow` follows them and walks every folder once; a link
//! named on the command line is followed, and scrubbed in place through
//! to its target, the link kept.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{noot_command, noot_run};

const TOKEN: &str = "ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9";

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

/// `noot scrub ARGS --format json` in `dir`, killed if it has not ended
/// within 20 seconds (a loop used to run until memory ran out): (exit code,
/// the JSON report, stderr).
fn scrub_json(dir: &Path, args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let mut all = vec!["scrub", "--format", "json"];
    all.extend_from_slice(args);
    let mut child = noot_command(dir, &all)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("noot starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("noot scrub {args:?} still running after 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{stderr}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code(), report, stderr)
}

/// The `path` of every scrubbed file in a report.
fn scrubbed_paths(report: &serde_json::Value) -> Vec<String> {
    report["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().expect("path").to_string())
        .collect()
}

/// (path, reason) of every skipped entry in a report.
fn skipped(report: &serde_json::Value) -> Vec<(String, String)> {
    report["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| {
            (s["path"].as_str().expect("path").into(), s["reason"].as_str().expect("reason").into())
        })
        .collect()
}

#[test]
fn a_link_to_the_parent_folder_is_not_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("d/a.txt"), &format!("token={TOKEN}\n"));
    std::fs::create_dir_all(dir.path().join("d/sub")).expect("mkdir");
    symlink("..", dir.path().join("d/sub/up")).expect("symlink");
    let (code, report, stderr) = scrub_json(dir.path(), &["d"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(scrubbed_paths(&report), ["d/a.txt"], "each file once");
    assert_eq!(report["summary"]["findings"], 1);
    let skipped = skipped(&report);
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].0, "d/sub/up");
    assert!(skipped[0].1.contains("symbolic link") && skipped[0].1.contains("--follow"));
}

#[test]
fn two_links_forming_a_loop_end_at_once_with_or_without_follow() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("d/x/a.txt"), &format!("token={TOKEN}\n"));
    write(&dir.path().join("d/y/b.txt"), "clean\n");
    symlink("../y", dir.path().join("d/x/to_y")).expect("symlink");
    symlink("../x", dir.path().join("d/y/to_x")).expect("symlink");

    let (code, report, stderr) = scrub_json(dir.path(), &["d"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(scrubbed_paths(&report), ["d/x/a.txt", "d/y/b.txt"]);
    assert_eq!(skipped(&report).len(), 2, "both links reported: {report}");

    // Followed, each folder is walked once: through the links, x and y
    // are folders already walked.
    let (code, report, stderr) = scrub_json(dir.path(), &["--follow", "d"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(scrubbed_paths(&report), ["d/x/a.txt", "d/y/b.txt"]);
    assert_eq!(report["summary"]["findings"], 1);
    let skipped = skipped(&report);
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(skipped.iter().all(|(_, why)| why.contains("already")), "{skipped:?}");
}

#[test]
fn follow_reads_a_folder_behind_a_link_once_and_stops_at_a_link_to_an_ancestor() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("outside/o.txt"), &format!("token={TOKEN}\n"));
    write(&dir.path().join("d/a.txt"), "clean\n");
    std::fs::create_dir_all(dir.path().join("d/sub")).expect("mkdir");
    symlink("../outside", dir.path().join("d/ext")).expect("symlink");
    symlink("..", dir.path().join("d/sub/up")).expect("symlink");
    let (code, report, stderr) = scrub_json(dir.path(), &["-L", "d"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(scrubbed_paths(&report), ["d/a.txt", "d/ext/o.txt"]);
    let skipped = skipped(&report);
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].0, "d/sub/up");
    assert!(skipped[0].1.contains("loop"), "{skipped:?}");
}

#[test]
fn in_place_on_a_link_scrubs_its_target_and_keeps_the_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    let real = dir.path().join("real/secret.txt");
    write(&real, &format!("token={TOKEN}\n"));
    symlink("real/secret.txt", dir.path().join("link.txt")).expect("symlink");
    let (code, stdout, stderr) = noot_run(dir.path(), &["scrub", "--in-place", "link.txt"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let link = dir.path().join("link.txt");
    assert!(std::fs::symlink_metadata(&link).expect("lstat").file_type().is_symlink());
    assert_eq!(std::fs::read_link(&link).expect("readlink"), Path::new("real/secret.txt"));
    let text = std::fs::read_to_string(&real).expect("read");
    assert_eq!(text, "token=<REDACTED:github-token>\n", "the real file is scrubbed");
    assert!(stdout.contains("link.txt:1:7: github-token"), "{stdout}");
    assert!(stdout.contains("real/secret.txt"), "names the file written: {stdout}");
    let names: Vec<_> = std::fs::read_dir(dir.path().join("real"))
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
}

#[test]
fn in_place_on_a_folder_leaves_links_and_their_targets_alone_unless_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outside = dir.path().join("outside.txt");
    write(&outside, &format!("token={TOKEN}\n"));
    write(&dir.path().join("d/own.txt"), &format!("mine={TOKEN}\n"));
    symlink("../outside.txt", dir.path().join("d/link.txt")).expect("symlink");

    let (code, stdout, stderr) = noot_run(dir.path(), &["scrub", "--in-place", "d"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("1 secret(s) redacted in place in 1 of 1 file(s)"), "{stdout}");
    assert!(stderr.contains("d/link.txt") && stderr.contains("--follow"), "{stderr}");
    assert!(std::fs::read_to_string(&outside).expect("read").contains(TOKEN));
    assert!(std::fs::symlink_metadata(dir.path().join("d/link.txt")).expect("lstat").is_symlink());

    let (code, stdout, stderr) = noot_run(dir.path(), &["scrub", "--in-place", "--follow", "d"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("1 secret(s) redacted in place in 1 of 2 file(s)"), "{stdout}");
    assert!(!std::fs::read_to_string(&outside).expect("read").contains(TOKEN));
    assert!(std::fs::symlink_metadata(dir.path().join("d/link.txt")).expect("lstat").is_symlink());
}

#[test]
fn a_file_reached_twice_is_scrubbed_and_counted_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("d/a.txt"), &format!("token={TOKEN}\n"));
    symlink("a.txt", dir.path().join("d/b.txt")).expect("symlink");
    let (code, report, stderr) = scrub_json(dir.path(), &["--follow", "d", "d/a.txt"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(scrubbed_paths(&report), ["d/a.txt"]);
    assert_eq!(report["summary"]["findings"], 1);
}

#[test]
fn a_broken_link_named_on_the_command_line_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    symlink("gone.txt", dir.path().join("link.txt")).expect("symlink");
    let (code, stdout, stderr) = noot_run(dir.path(), &["scrub", "--in-place", "link.txt"]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("link.txt") && stderr.contains("gone.txt"), "{stderr}");
    assert!(std::fs::symlink_metadata(dir.path().join("link.txt")).expect("lstat").is_symlink());
}
