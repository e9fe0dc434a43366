//! Helpers: run the binaries, build plugin cdylibs, snapshot outputs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("noot-host has a parent").to_path_buf()
}

/// A fixture folder under `tests/fixtures/`.
pub fn fixture(relative: &str) -> PathBuf {
    root().join("tests/fixtures").join(relative)
}

/// Copies a fixture tree, leaving out what runs leave behind.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == "mutants" || name == ".noot" || name == "__pycache__" {
            continue;
        }
        let target = to.join(&name);
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// What a finished command left.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

fn prepare(mut command: Command, dir: &Path) -> Command {
    command.current_dir(dir).env_remove("RUST_BACKTRACE").env("NO_COLOR", "1");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("NOOT_") {
            command.env_remove(name);
        }
    }
    command
}

/// `noot ARGS` in `dir`.
pub fn noot(dir: &Path, args: &[&str]) -> Run {
    run_with_stdin(prepare(Command::new(env!("CARGO_BIN_EXE_noot")), dir), args, None)
}

/// `noot ARGS` in `dir` with `stdin`.
pub fn noot_stdin(dir: &Path, args: &[&str], stdin: &str) -> Run {
    run_with_stdin(prepare(Command::new(env!("CARGO_BIN_EXE_noot")), dir), args, Some(stdin))
}

/// `cargo-noot ARGS` (as cargo runs it: `cargo-noot noot ARGS`) in `dir`.
pub fn cargo_noot(dir: &Path, args: &[&str]) -> Run {
    let mut full = vec!["noot"];
    full.extend_from_slice(args);
    run_with_stdin(prepare(Command::new(env!("CARGO_BIN_EXE_cargo-noot")), dir), &full, None)
}

/// `noot ARGS` in `dir` with extra environment variables.
pub fn noot_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = prepare(Command::new(env!("CARGO_BIN_EXE_noot")), dir);
    command.envs(env.iter().copied());
    run_with_stdin(command, args, None)
}

/// `noot ARGS` in `dir` without these environment variables.
pub fn noot_env_removed(dir: &Path, args: &[&str], removed: &[&str]) -> Run {
    let mut command = prepare(Command::new(env!("CARGO_BIN_EXE_noot")), dir);
    for name in removed {
        command.env_remove(name);
    }
    run_with_stdin(command, args, None)
}

fn run_with_stdin(mut command: Command, args: &[&str], stdin: Option<&str>) -> Run {
    command.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = command.spawn().expect("the binary starts");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        pipe.write_all(text.as_bytes()).expect("stdin");
    }
    let out = child.wait_with_output().expect("the binary finishes");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Builds `package`'s cdylib (with `features`) into a target folder of the
/// tests' own, so feature-flagged builds never overwrite the workspace's
/// artifacts, and returns the `.so` path. Cached per test process; cargo's
/// lock serialises concurrent test processes.
pub fn build_cdylib(package: &str, features: &[&str]) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let key = format!("{package}/{}", features.join(","));
    let cache = BUILT.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = cache.get(&key) {
        return path.clone();
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-plugins");
    let mut command = Command::new(cargo);
    command
        .current_dir(root())
        .args(["build", "--quiet", "--lib", "--message-format", "json", "-p", package])
        .arg("--target-dir")
        .arg(&target_dir);
    if !features.is_empty() {
        command.args(["--features", &features.join(",")]);
    }
    let out = command.stderr(Stdio::inherit()).output().expect("cargo runs");
    assert!(out.status.success(), "cargo build -p {package} failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact")
        .filter(|msg| {
            msg["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "cdylib"))
        })
        .flat_map(|msg| msg["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .find(|f| f.extension().is_some_and(|e| e == "so"))
        .unwrap_or_else(|| panic!("no .so artifact for {package}"));
    cache.insert(key, path.clone());
    path
}

/// Replaces `path` (and its canonical form) in `text` with `[name]`.
pub fn redact_path(text: &str, path: &Path, name: &str) -> String {
    let mut out = text.to_string();
    if let Ok(canonical) = path.canonicalize() {
        out = out.replace(&canonical.display().to_string(), &format!("[{name}]"));
    }
    out.replace(&path.display().to_string(), &format!("[{name}]"))
}

/// Snapshots `value` as `snapshots/NAME.snap`.
#[macro_export]
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

/// The `noot-shim` launcher cargo built beside the binaries (building it
/// if this run's cargo did not), for tests that drive the library directly.
pub fn shim_launcher() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let beside = Path::new(env!("CARGO_BIN_EXE_noot")).with_file_name("noot-shim");
            if beside.exists() {
                return beside;
            }
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
            let status = Command::new(cargo)
                .current_dir(root())
                .args(["build", "--quiet", "-p", "noot-shim"])
                .status()
                .expect("cargo runs");
            assert!(status.success(), "cargo build -p noot-shim failed");
            beside
        })
        .clone()
}

/// A private copy of `tests/fixtures/mutate/NAME` (tests never write into
/// the repo).
pub fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&fixture(&format!("mutate/{name}")), dir.path());
    dir
}

/// Each mutant's status in a `noot run --format json` report, by id.
pub fn statuses(report: &serde_json::Value) -> BTreeMap<String, String> {
    report["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .map(|m| {
            (
                m["id"].as_str().expect("id").to_owned(),
                m["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect()
}
