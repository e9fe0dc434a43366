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
