//! Whether the mutated copy's own crates are built with `opt-level = 1`.
//!
//! Every switch site is a call in an unoptimised build, and a test suite
//! that is CPU-bound for seconds pays for it on every mutant: fastrand
//! 2.3.0's run took 322 s unoptimised and 48 s with its crate at
//! `opt-level = 1`, with the same verdicts but one (a mutant that made a
//! test four times slower without failing it, a timeout unoptimised). Yet
//! optimising a crate with hundreds of mutants in its match arms costs a
//! build four to five times as long (semver 1.0.28: 4.3 s against 17.6 s),
//! for tests that take milliseconds.
//!
//! So a project's first run builds as `cargo test` does. When that build
//! compiled the workspace's crates (not a round where cargo found all
//! fresh, whose time says nothing of a build) and the tests its mutants
//! select take much longer than it, the workspace's crates are built again
//! at `opt-level = 1` (dependencies as they were) and measured again; the
//! optimised build is kept only if it at least halves those tests' time
//! (tests that wait on processes or files gain nothing), and a failure to
//! build or pass it keeps the first build, with a warning. Either outcome
//! is remembered with its figures, so later runs build one way without
//! deciding again. Overflow checks and debug assertions stay on: only the
//! optimisation level changes. A project that sets an optimisation level
//! for its tests itself keeps it, unless `[mutate] optimise = "always"`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::cargo_config::CargoConfig;
use crate::engine::store::write_atomic;

/// The remembered choice, in the state folder.
pub const FILE: &str = "rust-build.json";
const SCHEMA_VERSION: u32 = 1;

/// The optimisation level the workspace's crates are built at.
const LEVEL: u32 = 1;

/// The tests a run's mutants select must take this many times the last
/// build round before an optimised build is tried: it costs four to five
/// rounds, and the tests get faster only where they spend their time in
/// the crates' code.
const WORTH_ROUNDS: u64 = 8;

/// A decision, remembered with what it was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    schema_version: u32,
    /// Whether the workspace's crates are built optimised.
    pub optimised: bool,
    /// The mutants' selected tests, unoptimised, in ms.
    pub unoptimised_ms: u64,
    /// The same, optimised (0: not tried).
    pub optimised_ms: u64,
}

impl Decision {
    /// A decision from the figures it was made from.
    pub fn new(optimised: bool, unoptimised_ms: u64, optimised_ms: u64) -> Self {
        Self { schema_version: SCHEMA_VERSION, optimised, unoptimised_ms, optimised_ms }
    }
}

/// What an earlier run decided, if it did (`state_dir` holds [`FILE`]).
pub fn remembered(state_dir: &Path) -> Option<Decision> {
    std::fs::read(state_dir.join(FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Decision>(&bytes).ok())
        .filter(|d| d.schema_version == SCHEMA_VERSION)
}

/// Remembers `decision` for the next runs.
pub fn remember(state_dir: &Path, decision: &Decision) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(decision).map_err(std::io::Error::other)?;
    write_atomic(&state_dir.join(FILE), &bytes)
}

/// Whether an optimised build is worth trying: the tests the mutants
/// select (`selected_ms`, summed over the mutants, start-up included)
/// outweigh the last build round, which compiled the workspace's crates.
pub fn worth_trying(selected_ms: u64, last_round_ms: u64) -> bool {
    selected_ms > last_round_ms.max(1).saturating_mul(WORTH_ROUNDS)
}

/// Whether the optimised build paid: it at least halved the tests' time.
pub fn paid(unoptimised_ms: u64, optimised_ms: u64) -> bool {
    optimised_ms.saturating_mul(2) <= unoptimised_ms
}

/// Whether the project chooses its test build's optimisation itself: an
/// `opt-level` in the `dev` or `test` profile (or a package override in
/// them) of its manifest or of a cargo config file, or a
/// `CARGO_PROFILE_DEV_…OPT_LEVEL` or `CARGO_PROFILE_TEST_…OPT_LEVEL`
/// variable.
pub fn set_by_project(manifest: &Path, config: &CargoConfig) -> bool {
    let in_env = config.vars.iter().any(|(name, _)| {
        (name.starts_with("CARGO_PROFILE_DEV_") || name.starts_with("CARGO_PROFILE_TEST_"))
            && name.ends_with("OPT_LEVEL")
    });
    let manifest = std::fs::read_to_string(manifest).unwrap_or_default();
    in_env
        || sets_opt_level(&manifest)
        || config.files.iter().any(|file| sets_opt_level(&file.text))
}

/// Whether a TOML text (a manifest or a cargo config file) sets an
/// `opt-level` in `[profile.dev]` or `[profile.test]`, or in one of their
/// package overrides.
fn sets_opt_level(text: &str) -> bool {
    let Ok(table) = text.parse::<toml::Table>() else { return false };
    ["dev", "test"].iter().any(|name| {
        let Some(profile) = table.get("profile").and_then(|p| p.get(name)) else { return false };
        profile.get("opt-level").is_some()
            || profile
                .get("package")
                .and_then(toml::Value::as_table)
                .is_some_and(|packages| packages.values().any(|p| p.get("opt-level").is_some()))
    })
}

/// cargo's arguments that build `packages` (the workspace's) optimised.
/// (A package name holds neither `"` nor `\`: quoted as it is.)
pub fn cargo_args(packages: &[String]) -> Vec<String> {
    packages
        .iter()
        .flat_map(|package| {
            ["dev", "test"].into_iter().flat_map(move |profile| {
                [
                    "--config".to_owned(),
                    format!("profile.{profile}.package.\"{package}\".opt-level={LEVEL}"),
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
    fn an_optimised_build_is_tried_past_eight_rounds_and_kept_when_it_halves_the_tests() {
        // fastrand 2.3.0: a last round of 2.3 s, its mutants' tests minutes.
        assert!(worth_trying(667_000, 2_300));
        // semver 1.0.28: a round of 4 s, its mutants' tests seconds.
        assert!(!worth_trying(8_000, 4_000));
        assert!(!worth_trying(0, 0));
        assert!(paid(667_000, 90_000));
        assert!(!paid(667_000, 400_000), "tests that wait on processes gain little");
    }

    #[test]
    fn the_decision_is_remembered_with_its_figures() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(remembered(dir.path()), None);
        let decision = Decision::new(false, 9_000, 8_000);
        remember(dir.path(), &decision).expect("remember");
        assert_eq!(remembered(dir.path()), Some(decision));
        let text = std::fs::read_to_string(dir.path().join(FILE)).expect("read");
        assert!(text.contains("\"schema_version\": 1"), "{text}");
    }

    #[test]
    fn a_project_that_sets_its_own_level_anywhere_keeps_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let manifest = dir.path().join("Cargo.toml");
        let config = |vars: &[(&str, &str)], files: &[&str]| CargoConfig {
            vars: vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            files: files
                .iter()
                .map(|text| super::super::cargo_config::ConfigFile {
                    path: dir.path().join(".cargo/config.toml"),
                    text: (*text).to_owned(),
                })
                .collect(),
            ..CargoConfig::default()
        };
        std::fs::write(&manifest, "[package]\nname = \"a\"\n").expect("write");
        assert!(!set_by_project(&manifest, &config(&[], &[])));
        assert!(set_by_project(&manifest, &config(&[("CARGO_PROFILE_TEST_OPT_LEVEL", "2")], &[])));
        assert!(set_by_project(
            &manifest,
            &config(&[("CARGO_PROFILE_DEV_PACKAGE_A_OPT_LEVEL", "3")], &[])
        ));
        assert!(!set_by_project(
            &manifest,
            &config(&[("CARGO_PROFILE_RELEASE_OPT_LEVEL", "3")], &[])
        ));
        assert!(set_by_project(&manifest, &config(&[], &["[profile.dev]\nopt-level = 2\n"])));
        std::fs::write(
            &manifest,
            "[package]\nname = \"a\"\n[profile.dev.package.a]\nopt-level = 3\n",
        )
        .expect("write");
        assert!(set_by_project(&manifest, &config(&[], &[])));
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
