//! `noot plugins check` built every plugin it exercised with an empty
//! options table (`{}`), whatever the project configured. A runner that
//! needs its `[mutate.runner_options.NAME]` table, such as the bundled
//! `command` example (which needs `argv`), was reported `FAIL` with exit 1
//! even in a project that configures that table, where `noot run` builds
//! and uses it fine.
//!
//! Now each plugin is built with the table the project gives it, as the
//! commands that use it would build it; without one, it gets `{}` as before.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::noot_run;

/// Builds `package`'s cdylib into the folder the e2e tests build plugins
/// in (cargo finds it up to date after them) and returns the `.so`.
pub(super) fn build_cdylib(package: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-plugins");
    let out = Command::new(cargo)
        .current_dir(&root)
        .args(["build", "--quiet", "--lib", "--message-format", "json", "-p", package])
        .arg("--target-dir")
        .arg(&target_dir)
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "cargo build -p {package} failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact")
        .filter(|msg| {
            msg["target"]["kind"].as_array().is_some_and(|k| k.contains(&"cdylib".into()))
        })
        .flat_map(|msg| msg["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .find(|f| f.extension().is_some_and(|e| e == "so"))
        .unwrap_or_else(|| panic!("no .so artifact for {package}"))
}

/// The `command` runner passes the check in a project that gives it its
/// `argv`, and still fails, naming the table, where nothing does.
#[test]
fn plugins_check_builds_a_runner_with_the_project_s_options() {
    let library = build_cdylib("noot-example-command-runner");
    let library = library.display().to_string();
    let configured = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        configured.path().join("noot.toml"),
        "[mutate.runner_options.command]\nargv = [\"python3\", \"-m\", \"pytest\"]\n",
    )
    .expect("write");
    let (code, stdout, stderr) = noot_run(configured.path(), &["plugins", "check", &library]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        stdout.starts_with(&format!(
            "ok    runner command {version}: constructed (a runner needs a project to run)\n"
        )),
        "{stdout}"
    );

    let bare = tempfile::tempdir().expect("tempdir");
    let (code, stdout, _) = noot_run(bare.path(), &["plugins", "check", &library]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.starts_with(&format!("FAIL  runner command {version}: ")), "{stdout}");
    assert!(stdout.contains("[mutate.runner_options.command]: missing field `argv`"), "{stdout}");
}
