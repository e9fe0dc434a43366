//! The README's Rust example, as written there (only the script's path is
//! made absolute), against the bundled `examples/mox/release.sh`.

use noot_mox::{Mox, ok, regex};

const RELEASE_SH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/mox/release.sh");

#[test]
fn release_pushes_the_tag() -> Result<(), Box<dyn std::error::Error>> {
    let mox = Mox::new()?;
    mox.stub("date").returns(ok("2026-12-02\n"));
    mox.mock("git").with_args(["status", "--porcelain"]).in_order();
    mox.mock("git")
        .with_matching_args([
            "tag".into(),
            "-a".into(),
            regex(r"^v\d"),
            "-m".into(),
            noot_mox::any(),
        ])
        .in_order();
    mox.mock("git").with_args(["push", "origin", "v1.2.0"]).returns(ok("")).in_order();
    mox.stub("git").with_args(["log", "--format=- %s", "-n", "3"]).returns(ok("- Fix\n"));
    let gh = mox.spy("gh").returns(ok("https://example.invalid/v1.2.0\n"));

    let out = mox.command(RELEASE_SH).arg("v1.2.0").output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    gh.assert_called_with(["release", "create", "v1.2.0", "--notes-file", "-"]);
    mox.verify()?;
    Ok(())
}

#[test]
fn a_failing_expectation_reads_as_a_report_in_the_test_s_error() {
    let mox = Mox::new().expect("controller");
    mox.mock("git").with_args(["push", "origin", "main"]).returns(ok(""));
    let status = mox.command("git").arg("pull").status().expect("the shim runs");
    assert_eq!(status.code(), Some(1), "an unexpected call fails at once");
    let report = mox.verify().expect_err("fails").to_string();
    assert!(report.contains("Reason:\n  arg[0] 'pull' != 'push'"), "{report}");
}
