//! Whether the mutated copy's own crates are built with `opt-level = 1`.
//!
//! Every switch site is a call in an unoptimised build, and a test suite
//! that is CPU-bound for seconds pays for it on every mutant: fastrand
//! 2.3.0's run took 322 s unoptimised and 48 s with its crate at
//! `opt-level = 1`, with the same verdicts but one (a mutant that made a
//! test four times slower without failing it, a timeout unoptimised). Yet
//! optimising a crate with hundreds of mutants in its match arms costs a
//! build four to five times as long (semver 1.0.28: 4.3 s against 17.6 s),
//! for tests that take milliseconds. So the first run builds as `cargo
//! test` does; when the tests its mutants will run take much longer than
//! that build, it builds the workspace's crates again at `opt-level = 1`
//! (dependencies are left as they were built), measures again, and
//! remembers the choice for the next runs. Overflow checks and debug
//! assertions stay on: only the optimisation level changes. A project
//! that sets an optimisation level for its tests itself keeps it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::engine::store::write_atomic;

/// The remembered choice, in the state folder.
pub const FILE: &str = "rust-build.json";
const SCHEMA_VERSION: u32 = 1;

/// The optimisation level the workspace's crates are built at.
const LEVEL: u32 = 1;

/// The tests a run's mutants select must take this many times the last
/// build round (about one build of the workspace's own crates) before an
/// optimised build pays: it costs four to five rounds, and the tests get
/// faster only where they spend their time in the crates' code.
const WORTH_ROUNDS: u64 = 8;

#[derive(Debug, Serialize, Deserialize)]
struct Remembered {
    schema_version: u32,
    optimised: bool,
}

/// Whether an earlier run chose to optimise (`state_dir` holds [`FILE`]).
pub fn remembered(state_dir: &Path) -> bool {
    std::fs::read(state_dir.join(FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Remembered>(&bytes).ok())
        .is_some_and(|r| r.schema_version == SCHEMA_VERSION && r.optimised)
}

/// Remembers that this project's crates are built optimised.
pub fn remember(state_dir: &Path) -> std::io::Result<()> {
    let document = Remembered { schema_version: SCHEMA_VERSION, optimised: true };
    let bytes = serde_json::to_vec_pretty(&document).map_err(std::io::Error::other)?;
    write_atomic(&state_dir.join(FILE), &bytes)
}

/// Whether the tests the mutants select (`selected_ms`, the sum over the
/// mutants of their tests' time in the stats run) outweigh an optimised
/// build, from the last round of this one (`last_round_ms`).
pub fn worth_it(selected_ms: u64, last_round_ms: u64) -> bool {
    selected_ms > last_round_ms.max(1).saturating_mul(WORTH_ROUNDS)
}

/// Whether the project chooses its test build's optimisation itself: an
/// `opt-level` in the `dev` or `test` profile of its manifest, or in
/// `CARGO_PROFILE_DEV_OPT_LEVEL` or `CARGO_PROFILE_TEST_OPT_LEVEL`.
pub fn set_by_project(manifest: &Path, vars: &[(String, String)]) -> bool {
    let in_env = vars.iter().any(|(name, _)| {
        name == "CARGO_PROFILE_DEV_OPT_LEVEL" || name == "CARGO_PROFILE_TEST_OPT_LEVEL"
    });
    let in_manifest = std::fs::read_to_string(manifest)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .is_some_and(|table| {
            ["dev", "test"].iter().any(|profile| {
                table
                    .get("profile")
                    .and_then(|p| p.get(profile))
                    .is_some_and(|p| p.get("opt-level").is_some())
            })
        });
    in_env || in_manifest
}

/// cargo's arguments that build `packages` (the workspace's) optimised.
pub fn cargo_args(packages: &[String]) -> Vec<String> {
    packages
        .iter()
        .flat_map(|package| {
            ["dev", "test"].into_iter().flat_map(move |profile| {
                [
                    "--config".to_owned(),
                    format!("profile.{profile}.package.{package:?}.opt-level={LEVEL}"),
                ]
            })
        })
        .collect()
}

/// What the choice adds to every result key and to the summary.
pub fn describe() -> String {
    format!("the workspace's crates at opt-level {LEVEL}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_optimised_build_pays_when_the_selected_tests_outweigh_eight_rounds() {
        // fastrand 2.3.0: a last round of 2.9 s, its mutants' tests minutes.
        assert!(worth_it(500_000, 2_900));
        // semver 1.0.28: a round of 4 s, its mutants' tests seconds.
        assert!(!worth_it(8_000, 4_000));
        assert!(!worth_it(0, 0));
    }

    #[test]
    fn the_choice_is_remembered_and_a_project_setting_is_seen() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(!remembered(dir.path()));
        remember(dir.path()).expect("remember");
        assert!(remembered(dir.path()));
        let manifest = dir.path().join("Cargo.toml");
        std::fs::write(&manifest, "[package]\nname = \"a\"\n").expect("write");
        assert!(!set_by_project(&manifest, &[]));
        let env = [("CARGO_PROFILE_TEST_OPT_LEVEL".to_owned(), "2".to_owned())];
        assert!(set_by_project(&manifest, &env));
        std::fs::write(&manifest, "[package]\nname = \"a\"\n[profile.dev]\nopt-level = 1\n")
            .expect("write");
        assert!(set_by_project(&manifest, &[]));
    }

    #[test]
    fn each_package_gets_the_level_in_both_test_profiles() {
        assert_eq!(
            cargo_args(&["geo-kit".to_owned()]),
            [
                "--config",
                "profile.dev.package.\"geo-kit\".opt-level=1",
                "--config",
                "profile.test.package.\"geo-kit\".opt-level=1"
            ]
        );
    }
}
