//! Running the real `noot` binary from a test, as a user with no noot
//! settings of their own would, and copying a mutation fixture.
//!
//! Shared by the regression suite and the campaigns (`#[path]` modules).

/// `noot ARGS` in `dir`, as a user with no noot settings of their own would
/// run it: no `NOOT_*` variables, no active venv, no colours, no stdin.
pub fn noot_command(dir: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_noot"));
    command.args(args).current_dir(dir).env("NO_COLOR", "1").env_remove("VIRTUAL_ENV");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("NOOT_") {
            command.env_remove(name);
        }
    }
    command.stdin(std::process::Stdio::null());
    command
}

/// [`noot_command`], run to its end: (exit code, stdout, stderr).
pub fn noot_run(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    run_to_end(noot_command(dir, args))
}

/// A command (from [`noot_command`], perhaps changed) run to its end:
/// (exit code, stdout, stderr).
pub fn run_to_end(mut command: std::process::Command) -> (Option<i32>, String, String) {
    let out = command.output().expect("noot runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A private copy of `tests/fixtures/mutate/NAME`, without state a run
/// left there (runs never write into the repository).
pub fn mutate_fixture(name: &str) -> tempfile::TempDir {
    use std::path::Path;
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read fixture") {
            let entry = entry.expect("entry");
            let name = entry.file_name();
            if name == "mutants" || name == ".noot" || name == "__pycache__" {
                continue;
            }
            if entry.path().is_dir() {
                copy(&entry.path(), &to.join(&name));
            } else {
                std::fs::copy(entry.path(), to.join(&name)).expect("copy");
            }
        }
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/mutate");
    let dir = tempfile::tempdir().expect("tempdir");
    copy(&fixtures.join(name), dir.path());
    dir
}

/// A project with `pkg/__init__.py` = `source` and `tests/test_pkg.py` =
/// `tests`, in a fresh temporary folder.
pub fn python_project(source: &str, tests: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("pkg")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("tests")).expect("mkdir");
    std::fs::write(dir.path().join("pkg/__init__.py"), source).expect("write");
    std::fs::write(dir.path().join("tests/test_pkg.py"), tests).expect("write");
    dir
}
