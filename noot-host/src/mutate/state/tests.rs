use super::*;
use crate::engine::ports::RealFs;
use crate::engine::test_tree::write;

#[test]
fn the_remembered_decisions_and_each_part_of_the_folder_are_listed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    optimise::remember(&root.join(STATE_DIR), &optimise::Decision::new(true, 421_200, 52_400))
        .expect("remember");
    let seeded =
        seed::Seeded { schema_version: 1, from: root.join("target"), bytes: 3 << 20, files: 2 };
    write(
        root,
        ".noot/target/debug/noot-seed.json",
        &serde_json::to_string(&seeded).expect("json"),
    );
    write(root, ".noot/target/debug/deps/libitoa-1a.rlib", &"x".repeat(5000));
    write(root, ".noot/mutants/src/lib.rs", "pub fn f() {}\n");
    write(root, ".noot/run.lock", "");
    let state = inventory(&RealFs, root, 7);
    let kinds: Vec<DecisionKind> = state.decisions.iter().map(|d| d.kind).collect();
    assert_eq!(kinds, [DecisionKind::Build, DecisionKind::Dependencies]);
    assert_eq!(
        state.decisions[0].summary,
        "the workspace's crates at opt-level 1 (the mutants' tests took 421.2 s unoptimised, 52.4 s optimised)"
    );
    assert!(state.decisions[1].summary.contains("(3 MB of dependencies)"), "{:?}", state.decisions);
    let parts: Vec<&str> = state.parts.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(parts, [".noot/target", ".noot/mutate", ".noot/mutants"], "largest first, no lock");
    assert!(state.parts[0].bytes > 5000);
    assert_eq!(state.results, 7);
}

#[test]
fn forgetting_a_decision_removes_what_records_it_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    optimise::remember(&root.join(STATE_DIR), &optimise::Decision::new(false, 1_000, 900))
        .expect("remember");
    write(root, ".noot/mutate/results.json", "{}");
    write(root, ".noot/target/debug/noot-seed.json", "{}");
    write(root, ".noot/target/debug/deps/libitoa-1a.rlib", "x");
    assert_eq!(
        forget(root, DecisionKind::Build).expect("io"),
        Some(".noot/mutate/rust-build.json".into())
    );
    assert_eq!(forget(root, DecisionKind::Build).expect("io"), None, "already gone");
    assert_eq!(forget(root, DecisionKind::Runner).expect("io"), None);
    assert_eq!(forget(root, DecisionKind::Dependencies).expect("io"), Some(".noot/target".into()));
    assert!(!root.join(".noot/target").exists());
    assert!(root.join(".noot/mutate/results.json").is_file(), "results are kept");
    assert_eq!(DecisionKind::from_name("runner"), Some(DecisionKind::Runner));
    assert_eq!(DecisionKind::from_name("all"), None);
}
