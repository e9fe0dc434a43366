//! The command line itself: help, version, usage errors, cargo-noot.

use crate::snapshot;
use crate::support::{cargo_noot, noot, root};

#[test]
fn help_teaches_by_example() {
    let run = noot(&root(), &["--help"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("Examples:"));
    snapshot!("noot_help", run.stdout);
}

/// The first line claims only what exists: Python mutation testing, not
/// Rust's (yet), and the other three rooms.
#[test]
fn help_says_what_noot_does_today() {
    for flag in ["-h", "--help"] {
        let run = noot(&root(), &[flag]);
        assert_eq!(
            run.stdout.lines().next(),
            Some(
                "Mutation testing for Python and Rust, command doubles, experiments, secret scrubbing"
            ),
            "{flag}"
        );
    }
}

/// `noot --help` and `noot run --help` show the main job from run to
/// report, in that order, and every command they show parses.
#[test]
fn help_shows_the_main_job_from_run_to_report() {
    let steps: [&[&str]; 4] = [
        &["run"],
        &["results", "--status", "survived"],
        &["show", "shop.pricing.discount__noot_4"],
        &["report", "--stryker", "out/mutation.json"],
    ];
    for args in [&["--help"][..], &["run", "--help"][..]] {
        let run = noot(&root(), args);
        assert_eq!(run.code, 0, "{args:?}");
        let mut at = 0;
        for step in steps {
            let shown = format!("noot {}", step.join(" "));
            let found = run.stdout[at..].find(&shown);
            assert!(found.is_some(), "{args:?}: `{shown}` after byte {at}:\n{}", run.stdout);
            at += found.unwrap_or_default() + shown.len();
        }
    }
    // Where nothing ran yet, each later step fails for want of results,
    // never for its arguments (clap's usage errors end with a Usage line).
    let empty = tempfile::tempdir().expect("tempdir");
    for step in &steps[1..] {
        let run = noot(empty.path(), step);
        assert!(!run.stderr.contains("Usage:"), "{step:?}: {}", run.stderr);
    }
}

#[test]
fn scrub_help_has_its_own_examples() {
    let run = noot(&root(), &["scrub", "--help"]);
    assert_eq!(run.code, 0);
    snapshot!("noot_scrub_help", run.stdout);
}

#[test]
fn cargo_noot_behaves_like_noot() {
    for args in [&["--help"][..], &["--version"][..], &["plugins", "list", "--format", "json"][..]]
    {
        let direct = noot(&root(), args);
        let via_cargo = cargo_noot(&root(), args);
        assert_eq!(direct.code, via_cargo.code, "{args:?}");
        assert_eq!(direct.stdout, via_cargo.stdout, "{args:?}");
    }
}

#[test]
fn usage_errors_exit_2_on_stderr() {
    let run = noot(&root(), &["frobnicate"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("unrecognized subcommand"), "{}", run.stderr);
}
