//! The pytest plugin (python/pytest-noot-mox) against the real noot binary:
//! its own pytest suite (stubs, mocks and spies over real subprocess calls,
//! noot's report on a failing verify, `runs` callbacks, a passthrough spy,
//! record/replay markers, pytest-xdist with 4 workers, a missing noot), run
//! with python3 and pytest as `.ci/run` installs them.

use std::ffi::OsString;
use std::process::{Command, Stdio};

use crate::support::root;

#[test]
fn the_pytest_plugins_own_suite_passes() {
    let root = root();
    let src = root.join("python/pytest-noot-mox/src");
    // The plugin is loaded from the checkout, not installed: its src first
    // on PYTHONPATH (the suite's inner runs inherit it).
    let mut python_path = OsString::from(&src);
    if let Some(existing) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
        python_path.push(":");
        python_path.push(existing);
    }
    let mut command = Command::new("python3");
    command
        .current_dir(&root)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "python/pytest-noot-mox/tests"])
        .env("NOOT_BIN", env!("CARGO_BIN_EXE_noot"))
        .env("PYTHONPATH", python_path)
        // Leave no __pycache__ in the work tree.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("NO_COLOR", "1")
        // A shim reads stdin when it is not a terminal: give it one that ends.
        .stdin(Stdio::null());
    for (name, _) in std::env::vars_os() {
        // Settings of a surrounding noot (a controller, a launcher) are not the suite's.
        if name.to_string_lossy().starts_with("NOOT_") && name != "NOOT_BIN" {
            command.env_remove(name);
        }
    }
    let out = command.output().expect("python3 runs (pytest is installed by .ci/run)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the pytest-noot-mox suite failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    // Its summary, for `cargo test -- --nocapture`.
    println!("{}", stdout.trim_end().lines().last().unwrap_or_default());
}
