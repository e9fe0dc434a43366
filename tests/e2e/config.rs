//! `noot config show` and `noot config check` on fixture projects.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::snapshot;
use crate::support::{Run, fixture, noot, noot_env, redact_path};

#[test]
fn show_json_on_a_configured_project() {
    let dir = fixture("projects/configured");
    let run = noot_as_user(&dir, &["config", "show", "--format", "json"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let shown: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    // What noot detects, not empty lists.
    assert_eq!(shown["mutate"]["paths"], serde_json::json!(["src/app"]));
    assert_eq!(shown["mutate"]["tests"], serde_json::json!(["tests"]));
    snapshot!("config_show_json", redact_path(&run.stdout, &dir, "PROJECT"));
}

#[test]
fn show_lists_the_detected_mutate_values_with_their_origin() {
    let project = python_project(&[]);
    let root = project.path().canonicalize().expect("canonical");
    make_venv(&root.join(".venv"), false);
    let run = noot_as_user(&root, &["config", "show"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mutate = run.stdout.split("[mutate]\n").nth(1).expect("a [mutate] section");
    let lines: Vec<&str> = mutate.lines().take(5).collect();
    let python = format!(
        "python = \"{}/.venv/bin/python\"  # detected: .venv/ in the project",
        root.display()
    );
    assert_eq!(
        [lines[0], lines[1], lines[2], lines[4]],
        [
            "paths = [\"src/app\"]  # detected: the packages and modules in src/",
            "tests = [\"tests\"]  # detected: the tests/ folder",
            python.as_str(),
            "mutants_dir = \".noot/mutants\"  # default",
        ],
        "{}",
        run.stdout
    );
    // The default runner's name is not this test's business.
    assert!(
        lines[3].starts_with("runner = \"") && lines[3].ends_with("\"  # default"),
        "{}",
        lines[3]
    );

    // Tests left to pytest, and no tests at all, say so rather than list nothing.
    std::fs::rename(root.join("tests/test_app.py"), root.join("test_app.py")).expect("move");
    std::fs::remove_dir(root.join("tests")).expect("rmdir");
    let run = noot_as_user(&root, &["config", "show"], None);
    assert!(
        run.stdout.contains("tests = []  # detected: no tests/ folder; pytest finds the tests (its testpaths, else the project root): found test_app.py"),
        "{}",
        run.stdout
    );
    std::fs::remove_file(root.join("test_app.py")).expect("rm");
    let run = noot_as_user(&root, &["config", "show"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("tests = []  # none found: "), "{}", run.stdout);
}

#[test]
fn a_missing_tests_entry_fails_config_check_at_its_line() {
    let project =
        python_project(&[("noot.toml", "[mutate]\ntests = [\"tests\", \"tsts/unit\"]\n")]);
    let root = project.path().canonicalize().expect("canonical");
    for command in ["check", "show"] {
        let run = noot_as_user(&root, &["config", command], None);
        assert_eq!(run.code, 2, "{command}: {}", run.stdout);
        assert!(
            run.stderr.starts_with(&format!(
                "error: {}/noot.toml:2:19: [mutate] tests: \"tsts/unit\" does not exist\n  help: did you mean \"tests\"?",
                root.display()
            )),
            "{command}: {}",
            run.stderr
        );
    }
}

#[test]
fn environment_and_cli_override_the_file() {
    let dir = fixture("projects/configured");
    let run = noot_env(&dir, &["config", "show", "--format", "json"], &[("NOOT_JOBS", "5")]);
    let shown: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(shown["jobs"], 5);
    assert_eq!(shown["origins"]["jobs"], "environment variable NOOT_JOBS");
    let run = noot_env(
        &dir,
        &["--jobs", "7", "config", "show", "--format", "json"],
        &[("NOOT_JOBS", "5")],
    );
    let shown: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(shown["jobs"], 7);
}

#[test]
fn pyproject_tool_noot_is_found_from_a_subfolder() {
    let dir = fixture("projects/pyproject");
    let run = noot(&dir.join("src/pkg"), &["config", "show", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let shown: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(shown["jobs"], 3);
    assert!(shown["origins"]["jobs"].as_str().is_some_and(|o| o.ends_with("pyproject.toml:6:8")));
}

#[test]
fn a_typo_is_an_error_with_file_line_and_a_suggestion() {
    let dir = fixture("projects/typo");
    let run = noot(&dir, &["config", "check"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: ") && first.contains("noot.toml:4:1: unknown field `scrubers`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("help: did you mean `scrubbers`?"));
}

#[test]
fn check_accepts_a_valid_project() {
    let run = noot(&fixture("projects/configured"), &["config", "check"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("ok: "));
}

#[test]
fn a_bad_plugin_table_is_reported_by_config_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("noot.toml"), "[scrub.plugin.default]\nentropy = 2\n")
        .expect("write");
    let run = noot(dir.path(), &["config", "check"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("unknown field `entropy`"), "{}", run.stderr);
}

/// `noot config show` prints plugin libraries, plugin and runner tables,
/// and the `[mutate]` keys a file sets, each with the line that set it.
#[test]
fn show_prints_the_tables_and_keys_a_file_sets_with_their_lines() {
    let project = python_project(&[
        ("lib/libx.so", ""),
        (
            "noot.toml",
            "[plugins]\npaths = [\"lib/libx.so\"]\n\n[scrub.plugin.default]\nentropy_threshold = 3.5\n\n[mutate]\njobs = 2\nexclude = [\"app.cli.*\"]\npytest_args = [\"-x\", \"-q\"]\n\n[mutate.runner_options.pytest]\nworkers = 2\n",
        ),
    ]);
    let root = project.path();
    let run = noot_as_user(root, &["config", "show"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let shown = run.stdout.replace(&format!("{}/", root.display()), "");
    for line in [
        "paths = [\"lib/libx.so\"]  # noot.toml:2:10\n",
        "\n[scrub.plugin.default]\n# {\"entropy_threshold\":3.5}\n",
        "jobs = 2  # noot.toml:8:8\n",
        "exclude = [\"app.cli.*\"]  # noot.toml:9:11\n",
        "pytest_args = [\"-x\", \"-q\"]  # noot.toml:10:15\n",
        "\n[mutate.runner_options.pytest]\n# {\"workers\":2}\n",
    ] {
        assert!(shown.contains(line), "{line:?} in:\n{shown}");
    }
}

/// `noot config check --format json` says the configuration is valid,
/// which file it came from and how many plugins it loaded.
#[test]
fn check_json_names_the_file_and_counts_the_plugins() {
    let project = python_project(&[("noot.toml", "jobs = 2\n")]);
    let run = noot_as_user(project.path(), &["config", "check", "--format", "json"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["file"], project.path().join("noot.toml").display().to_string());
    let listed = noot_as_user(project.path(), &["plugins", "list", "--format", "json"], None);
    let plugins: serde_json::Value = serde_json::from_str(&listed.stdout).expect("plugins");
    assert_eq!(doc["plugins"].as_u64(), plugins["plugins"].as_array().map(|p| p.len() as u64));
}

/// `noot ARGS` in `dir` as a user runs it: no `NOOT_*` variables, and no
/// active virtual environment unless `virtual_env` names one (the test's
/// own shell may have one).
fn noot_as_user(dir: &Path, args: &[&str], virtual_env: Option<&Path>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_noot"));
    command.current_dir(dir).args(args).env("NO_COLOR", "1").env_remove("VIRTUAL_ENV");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("NOOT_") {
            command.env_remove(name);
        }
    }
    if let Some(venv) = virtual_env {
        command.env("VIRTUAL_ENV", venv);
    }
    let out = command.stdin(Stdio::null()).output().expect("noot runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A small pytest project (`src/app`, `tests/`) in a fresh folder, with
/// `extra` files on top.
fn python_project(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = [
        ("src/app/__init__.py", "def double(x):\n    return x * 2\n"),
        (
            "tests/test_app.py",
            "from app import double\n\n\ndef test_double():\n    assert double(3) == 6\n",
        ),
        ("pyproject.toml", "[tool.pytest.ini_options]\npythonpath = [\"src\"]\n"),
    ];
    for (rel, text) in files.iter().chain(extra) {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

/// `python3 -m venv --without-pip [--system-site-packages] DIR`: fast, and
/// without pytest unless the system's is visible.
fn make_venv(dir: &Path, system_site_packages: bool) {
    let mut command = Command::new("python3");
    command.args(["-m", "venv", "--without-pip"]);
    if system_site_packages {
        command.arg("--system-site-packages");
    }
    let status = command.arg(dir).status().expect("python3 runs");
    assert!(status.success(), "python3 -m venv {}", dir.display());
}

fn config_json(dir: &Path, virtual_env: Option<&Path>) -> serde_json::Value {
    let run = noot_as_user(dir, &["config", "show", "--format", "json"], virtual_env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).expect("one JSON document")
}

#[test]
fn the_project_venv_is_the_interpreter_unless_a_venv_is_active() {
    let project = python_project(&[]);
    let root = project.path().canonicalize().expect("canonical");
    let shown = config_json(&root, None);
    assert_eq!(shown["mutate"]["python"], "python3");
    assert_eq!(shown["origins"]["mutate.python"], "default");

    make_venv(&root.join(".venv"), false);
    let shown = config_json(&root, None);
    assert_eq!(shown["mutate"]["python"], format!("{}/.venv/bin/python", root.display()));
    assert_eq!(shown["origins"]["mutate.python"], "detected: .venv/ in the project");

    let active = tempfile::tempdir().expect("tempdir");
    let shown = config_json(&root, Some(active.path()));
    assert_eq!(shown["mutate"]["python"], format!("{}/bin/python", active.path().display()));
    assert_eq!(shown["origins"]["mutate.python"], "environment variable VIRTUAL_ENV");

    std::fs::write(root.join("noot.toml"), "[mutate]\npython = \"python3\"\n").expect("write");
    let shown = config_json(&root, Some(active.path()));
    assert_eq!(shown["mutate"]["python"], "python3");
    assert_eq!(shown["origins"]["mutate.python"], format!("{}/noot.toml:2:10", root.display()));
}

#[test]
fn a_venv_without_pytest_stops_noot_run_before_any_work_with_the_install_command() {
    let project = python_project(&[]);
    let root = project.path().canonicalize().expect("canonical");
    make_venv(&root.join(".venv"), false);
    let run = noot_as_user(&root, &["run"], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let python = format!("{}/.venv/bin/python", root.display());
    assert_eq!(
        run.stderr,
        format!(
            "error: {python} (from the project's .venv/) cannot import pytest; \
             install it: {python} -m ensurepip && {python} -m pip install pytest\n"
        )
    );
    assert!(!root.join(".noot").exists(), "nothing is written before the check");
    assert!(!root.join("mutants").exists());
}

#[test]
fn a_missing_interpreter_stops_noot_run_naming_the_key_s_line() {
    let project = python_project(&[("noot.toml", "[mutate]\npython = \"nope\"\n")]);
    let root = project.path().canonicalize().expect("canonical");
    let run = noot_as_user(&root, &["run"], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr.lines().next(),
        Some(
            format!(
                "error: cannot start the Python interpreter `nope` (from [mutate] python at {}/noot.toml:2:10): no such file or program on PATH",
                root.display()
            )
            .as_str()
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("help: set [mutate] python to an interpreter that has pytest"));
    assert!(!root.join(".noot").exists());
}

#[test]
fn noot_run_tests_with_the_project_venv() {
    // The test imports a module only the venv has: with any other
    // interpreter the baseline fails and noot exits 2.
    let project = python_project(&[(
        "tests/test_venv.py",
        "import only_in_the_venv\n\n\ndef test_venv():\n    assert only_in_the_venv.HERE\n",
    )]);
    let root = project.path().canonicalize().expect("canonical");
    make_venv(&root.join(".venv"), true);
    let lib = root.join(".venv/lib");
    let site = std::fs::read_dir(&lib)
        .expect("venv lib")
        .filter_map(|e| e.ok().map(|e| e.path().join("site-packages")))
        .find(|p| p.is_dir())
        .expect("site-packages");
    std::fs::write(site.join("only_in_the_venv.py"), "HERE = True\n").expect("write");
    // pytest comes from whatever `python3` has it: a venv made from a venv
    // (CI's own, when the system Python lacks pytest) sees only the base
    // interpreter's packages, so the outer one's are added by a .pth file.
    let outer = Command::new("python3")
        .args(["-c", "import site; print('\\n'.join(site.getsitepackages()))"])
        .output()
        .expect("python3 runs");
    std::fs::write(site.join("outer_site_packages.pth"), &outer.stdout).expect("write");
    let run = noot_as_user(&root, &["run", "--format", "json"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    // `x * 2`: `x / 2` and `x * 3`, both caught by the venv's test run.
    assert_eq!(report["summary"]["killed"], 2, "{}", run.stdout);
}

#[test]
fn a_missing_tests_folder_is_named_at_its_line_with_the_closest_one() {
    let project = python_project(&[("noot.toml", "[mutate]\ntests = [\n  \"tsts\",\n]\n")]);
    let root = project.path().canonicalize().expect("canonical");
    let run = noot_as_user(&root, &["run"], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        format!(
            "error: {root}/noot.toml:3:3: [mutate] tests: \"tsts\" does not exist\n  \
             help: did you mean \"tests\"? test paths are relative to {root}, the folder of the config file\n",
            root = root.display()
        )
    );
    assert!(!root.join(".noot/mutants").exists(), "nothing is written");
}

#[test]
fn a_project_without_tests_says_what_noot_looked_for_and_how_to_point_at_them() {
    let project = python_project(&[]);
    let root = project.path().canonicalize().expect("canonical");
    std::fs::remove_dir_all(root.join("tests")).expect("rm tests");
    let run = noot_as_user(&root, &["run"], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!(
            "error: no tests found in {}: noot looked for a tests/ or test/ folder, for test_*.py and *_test.py files",
            root.display()
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("help: ")
            && run.stderr.contains("[mutate] tests = [\"path/to/tests\"]")
    );
}
