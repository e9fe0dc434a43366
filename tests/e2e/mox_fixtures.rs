//! `noot mox record | replay | scrub | validate` with real commands: a
//! script standing in for `gh` that prints a token and a JSON body, and a
//! real `git init` / `git status` in a temporary repository.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::snapshot;
use crate::support::{Run, fixture};

struct Project {
    dir: tempfile::TempDir,
}

const GH: &str = "#!/bin/sh\n# stands in for gh: prints a token and a JSON body\necho \"token: ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9\"\necho '{\"number\": 42, \"title\": \"Release v1.2.0\"}'\n";
const WORK: &str =
    "#!/bin/sh\nset -e\ncd \"$1\"\ngit init -q .\ngit status --short\ngh pr view 42\n";

impl Project {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write");
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        };
        write("tools/gh", GH);
        write("work.sh", WORK);
        // The only program on PATH when replaying: no git, no gh.
        std::fs::create_dir_all(dir.path().join("onlysh")).expect("mkdir");
        std::os::unix::fs::symlink("/bin/sh", dir.path().join("onlysh/sh")).expect("symlink");
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `noot ARGS` with `path` as PATH.
    fn noot(&self, path: &str, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_noot"))
            .args(args)
            .current_dir(self.path())
            .env("PATH", path)
            .env_remove("NOOT_SHIM_BACKEND")
            .stdin(Stdio::null())
            .output()
            .expect("noot runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn real_path(&self) -> String {
        format!(
            "{}:{}",
            self.path().join("tools").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    fn replay_path(&self) -> String {
        self.path().join("onlysh").display().to_string()
    }

    fn record(&self) -> Run {
        std::fs::create_dir_all(self.path().join("repo")).expect("mkdir");
        self.noot(
            &self.real_path(),
            &[
                "mox",
                "record",
                "--output",
                "fixtures/work.json",
                "--cmd",
                "git",
                "--cmd",
                "gh",
                "--review",
                "--",
                "./work.sh",
                "repo",
            ],
        )
    }
}

fn read_json(path: PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json")
}

#[test]
fn record_then_replay_without_the_real_commands_gives_the_same_outputs() {
    let project = Project::new();
    let recorded = project.record();
    assert_eq!(recorded.code, 0, "{recorded:?}");
    assert_eq!(
        recorded.stdout,
        "token: ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9\n{\"number\": 42, \"title\": \"Release v1.2.0\"}\nrecorded 3 calls to fixtures/work.json (1 secret redacted)\n"
    );
    let text = std::fs::read_to_string(project.path().join("fixtures/work.json")).expect("fixture");
    assert!(!text.contains("ghp_R2d2"), "the token never touches disk");
    let fixture = read_json(project.path().join("fixtures/work.json"));
    assert_eq!(fixture["schema_version"], 1);
    let commands: Vec<&str> = fixture["recordings"]
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["command"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(commands, ["git", "git", "gh"]);
    assert_eq!(fixture["scrubbing"]["by_rule"]["github-token"], 1);
    let review = read_json(project.path().join("fixtures/work.review.json"));
    assert_eq!(review["redactions"][0]["field"], "stdout");
    assert_eq!(review["redactions"][0]["recording"], 3);
    assert!(!review.to_string().contains("ghp_R2d2"));

    std::fs::create_dir_all(project.path().join("repo2")).expect("mkdir");
    for mode in ["--strict", "--fuzzy"] {
        let replayed = project.noot(
            &project.replay_path(),
            &["mox", "replay", "--fixture", "fixtures/work.json", mode, "--", "./work.sh", "repo2"],
        );
        assert_eq!(replayed.code, 0, "{mode}: {replayed:?}");
        assert_eq!(
            replayed.stdout,
            "token: <REDACTED:github-token>\n{\"number\": 42, \"title\": \"Release v1.2.0\"}\ncommand doubles: every expectation met\n",
            "{mode}"
        );
    }
}

#[test]
fn a_strict_miss_and_unconsumed_recordings_are_reported_in_text_and_json() {
    let project = Project::new();
    assert_eq!(project.record().code, 0);
    std::fs::create_dir_all(project.path().join("repo2")).expect("mkdir");
    let args = [
        "mox",
        "replay",
        "--fixture",
        "fixtures/work.json",
        "--",
        "sh",
        "-c",
        "cd repo2; git init -q .; gh pr view 43",
    ];
    let run = project.noot(&project.replay_path(), &args);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("No recording matches"), "the miss fails at once: {run:?}");
    snapshot!("mox_replay_miss_human", run.stdout);
    let mut json_args = args.to_vec();
    json_args.insert(4, "--format");
    json_args.insert(5, "json");
    let run = project.noot(&project.replay_path(), &json_args);
    assert_eq!(run.code, 1);
    let doc: Value = serde_json::from_str(&run.stdout).expect("one document");
    let failures: Vec<Value> = doc["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .map(|f| {
            let mut f = f.clone();
            f.as_object_mut().map(|m| m.remove("report"));
            f
        })
        .collect();
    snapshot!("mox_replay_miss_json", serde_json::to_string_pretty(&failures).expect("json"));
}

#[test]
fn a_cmd_mox_fixture_replays_unchanged() {
    let project = Project::new();
    let cmd_mox =
        std::fs::read_to_string(fixture("mox/cmd-mox-1.0.json")).expect("cmd-mox fixture");
    std::fs::create_dir_all(project.path().join("fixtures")).expect("mkdir");
    std::fs::write(project.path().join("fixtures/legacy.json"), &cmd_mox).expect("write");
    let run = project.noot(&project.replay_path(), &["mox", "validate", "fixtures/legacy.json"]);
    assert_eq!(
        (run.code, run.stdout.ends_with("fixtures/legacy.json: ok (cmd-mox 1.0, 2 recordings)\n")),
        (0, true),
        "{run:?}"
    );
    let run = project.noot(
        &project.replay_path(),
        &[
            "mox",
            "replay",
            "--fixture",
            "fixtures/legacy.json",
            "--",
            "sh",
            "-c",
            "git status; git log --oneline -1",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "M file.py\nabc1234 Initial commit\ncommand doubles: every expectation met\n"
    );
    assert_eq!(
        std::fs::read_to_string(project.path().join("fixtures/legacy.json")).expect("read"),
        cmd_mox,
        "replay never rewrites"
    );
}

#[test]
fn validate_names_each_bad_file_and_field() {
    let project = Project::new();
    assert_eq!(project.record().code, 0);
    let good = std::fs::read_to_string(project.path().join("fixtures/work.json")).expect("read");
    let write = |name: &str, text: &str| {
        std::fs::write(project.path().join("fixtures").join(name), text).expect("write")
    };
    write("newer.json", &good.replacen("\"schema_version\": 1", "\"schema_version\": 7", 1));
    write("older.json", &good.replacen("\"schema_version\": 1", "\"schema_version\": 0", 1));
    write("torn.json", &good[..good.len() / 2]);
    write("dup.json", &good.replace("\"sequence\": 2", "\"sequence\": 1"));
    let run = project.noot(&project.real_path(), &["mox", "validate", "fixtures/**/*.json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "one line a file, review files left out: {run:?}");
    let expected = [
        "fixtures/dup.json: recordings[1].sequence: 1 appears twice; sequences are unique",
        "fixtures/newer.json: schema_version: 7 is newer than this noot understands (1); upgrade noot",
        "fixtures/older.json: schema_version: 0 is not a version noot ever wrote",
        "fixtures/torn.json: line ",
        "fixtures/work.json: ok (noot 1, 3 recordings)",
    ];
    for (line, want) in lines.iter().zip(expected) {
        assert!(line.contains(want), "{line}\nwant: {want}");
    }
    assert!(lines[3].contains("not valid JSON"), "{}", lines[3]);
    let run = project.noot(&project.real_path(), &["mox", "validate", "nothing/*.json"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("`nothing/*.json` matches no file"), "{run:?}");
}

#[test]
fn scrub_rewrites_a_leaky_fixture_once_and_gates_ci() {
    let project = Project::new();
    let leaky = std::fs::read_to_string(fixture("mox/leaky.json")).expect("leaky fixture");
    std::fs::write(project.path().join("leaky.json"), &leaky).expect("write");
    let run = project.noot(&project.real_path(), &["mox", "scrub", "leaky.json"]);
    assert_eq!(run.code, 1, "changed: {run:?}");
    assert_eq!(
        run.stdout,
        "leaky.json: 2 secret(s) redacted (aws-access-key-id ×1, github-token ×1)\n"
    );
    let text = std::fs::read_to_string(project.path().join("leaky.json")).expect("read");
    assert!(!text.contains("ghp_R2d2") && !text.contains("AKIA"), "{text}");
    let run = project.noot(&project.real_path(), &["mox", "scrub", "leaky.json"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "leaky.json: clean\n"));
}

/// With `--format json`, record, scrub and validate each print one
/// document: what was recorded and redacted, what changed, which files are
/// bad; a fixture that cannot be read is an error that exits 2.
#[test]
fn record_scrub_and_validate_speak_json() {
    let project = Project::new();
    let args: Vec<&str> =
        "--format json mox record -o fixtures/gh.json --cmd gh --review -- gh pr view 42"
            .split(' ')
            .collect();
    let run = project.noot(&project.real_path(), &args);
    assert_eq!(run.code, 0, "{run:?}");
    let doc: Value = serde_json::from_str(&run.stdout).expect("one document");
    assert_eq!(
        (&doc["fixture"], &doc["recordings"], &doc["redactions"], &doc["ok"]),
        (&Value::from("fixtures/gh.json"), &Value::from(1), &Value::from(1), &Value::from(true)),
        "{doc}"
    );
    assert_eq!(doc["review"], "fixtures/gh.review.json");

    let leaky = std::fs::read_to_string(fixture("mox/leaky.json")).expect("leaky fixture");
    std::fs::write(project.path().join("leaky.json"), &leaky).expect("write");
    let run = project.noot(
        &project.real_path(),
        &["--format", "json", "mox", "scrub", "leaky.json", "fixtures/gh.json"],
    );
    assert_eq!(run.code, 1, "one fixture changed: {run:?}");
    let doc: Value = serde_json::from_str(&run.stdout).expect("one document");
    assert_eq!(doc["changed"], 1, "{doc}");
    let redactions: Vec<&Value> =
        doc["fixtures"].as_array().expect("fixtures").iter().map(|f| &f["redactions"]).collect();
    assert_eq!(redactions, [&Value::from(2), &Value::from(0)], "{doc}");

    let run = project.noot(&project.real_path(), &["mox", "scrub", "gone.json", "leaky.json"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.starts_with("error: ") && run.stderr.contains("gone.json"), "{run:?}");
    assert_eq!(run.stdout, "leaky.json: clean\n", "the readable fixture is still scrubbed");

    std::fs::write(project.path().join("torn.json"), &leaky[..leaky.len() / 2]).expect("write");
    let run = project.noot(
        &project.real_path(),
        &["--format", "json", "mox", "validate", "torn.json", "fixtures/gh.json"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let doc: Value = serde_json::from_str(&run.stdout).expect("one document");
    assert_eq!(doc["bad"], 1, "{doc}");
    let errors: Vec<bool> =
        doc["files"].as_array().expect("files").iter().map(|f| f["error"].is_string()).collect();
    assert_eq!(errors, [true, false], "{doc}");
}

/// `noot mox record` refuses to keep a variable named like a secret; a
/// run that calls no recorded command writes an empty fixture (never
/// leaving an older one in place), and one whose fixture cannot be written
/// fails saying so.
#[test]
fn record_refuses_secret_variables_and_says_what_it_wrote() {
    let project = Project::new();
    let args = ["mox", "record", "-o", "f.json", "--cmd", "gh", "--env", "GH_TOKEN", "--", "true"];
    let run = project.noot(&project.real_path(), &args);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains(
            "--env GH_TOKEN: the name looks like a secret's, and recordings never keep those"
        ),
        "{run:?}"
    );
    assert!(!project.path().join("f.json").exists());

    let older = project.noot(
        &project.real_path(),
        &["mox", "record", "-o", "f.json", "--cmd", "gh", "--", "gh", "pr", "view", "42"],
    );
    assert_eq!(older.code, 0, "{older:?}");
    let recorded = read_json(project.path().join("f.json"))["recordings"].clone();
    assert_eq!(recorded.as_array().map(Vec::len), Some(1));
    let args = ["mox", "record", "-o", "f.json", "--cmd", "gh", "--cmd", "git", "--", "true"];
    let run = project.noot(&project.real_path(), &args);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "recorded 0 calls to f.json (0 secrets redacted)\n"),
        "{run:?}"
    );
    assert_eq!(read_json(project.path().join("f.json"))["recordings"], Value::Array(Vec::new()));

    std::fs::create_dir(project.path().join("adir")).expect("mkdir");
    let args = ["mox", "record", "-o", "adir", "--cmd", "gh", "--", "true"];
    let run = project.noot(&project.real_path(), &args);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("Recording not saved"), "{run:?}");
    assert!(
        run.stderr.ends_with("noot mox record: no call of gh was made; nothing written to adir\n"),
        "{run:?}"
    );
}

#[test]
fn values_of_secret_variables_never_reach_a_fixture_and_unscrubbed_fixtures_are_not_copied_into_tests()
 {
    let project = Project::new();
    let out = Command::new(env!("CARGO_BIN_EXE_noot"))
        .args([
            "mox",
            "record",
            "--output",
            "fixtures/login.json",
            "--cmd",
            "gh",
            "--",
            "sh",
            "-c",
            "gh auth login -p \"$DEPLOY_PASSWORD\"",
        ])
        .current_dir(project.path())
        .env("PATH", project.real_path())
        .env("DEPLOY_PASSWORD", "opaque-but-secret-42")
        .stdin(Stdio::null())
        .output()
        .expect("noot runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text =
        std::fs::read_to_string(project.path().join("fixtures/login.json")).expect("fixture");
    assert!(!text.contains("opaque-but-secret-42"), "{text}");
    assert!(text.contains("\"-p\",\n        \"***\""), "{text}");

    let leaky = std::fs::read_to_string(fixture("mox/leaky.json")).expect("leaky fixture");
    std::fs::write(project.path().join("fixtures/leaky.json"), leaky).expect("write");
    let run = project.noot(
        &project.real_path(),
        &["mox", "generate-test", "--lang", "python", "fixtures/leaky.json"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("holds secrets the scrubbers would redact; run `noot mox scrub"),
        "{run:?}"
    );
    assert!(!project.path().join("tests/__generated__/test_leaky.py").exists());
    // `fixtures/*.json` also names review files: they are passed over.
    std::fs::write(project.path().join("fixtures/login.review.json"), "{\"schema_version\": 1}")
        .expect("review");
    let run = project.noot(
        &project.real_path(),
        &[
            "mox",
            "scrub",
            "fixtures/leaky.json",
            "fixtures/login.json",
            "fixtures/login.review.json",
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("fixtures/login.json: clean"), "{run:?}");
    assert!(!run.stdout.contains("review"), "{run:?}");
}

#[test]
fn kill_9_during_record_leaves_the_previous_fixture_whole() {
    let project = Project::new();
    std::fs::create_dir_all(project.path().join("fixtures")).expect("mkdir");
    let previous = "{\"previous\": true}\n";
    std::fs::write(project.path().join("fixtures/slow.json"), previous).expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_noot"))
        .args([
            "mox",
            "record",
            "--output",
            "fixtures/slow.json",
            "--cmd",
            "gh",
            "--",
            "sh",
            "-c",
            "gh; gh; sleep 30",
        ])
        .current_dir(project.path())
        .env("PATH", project.real_path())
        // kill -9 leaves noot no chance to remove its shim folder: keep it
        // in the project, which the test removes.
        .env("TMPDIR", project.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("noot starts");
    std::thread::sleep(std::time::Duration::from_millis(800));
    child.kill().expect("kill -9");
    let _ = child.wait();
    assert_eq!(
        std::fs::read_to_string(project.path().join("fixtures/slow.json")).expect("read"),
        previous
    );
    let leftovers: Vec<_> = std::fs::read_dir(project.path().join("fixtures"))
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "__pycache__" || n == ".pytest_cache") {
                    continue;
                }
                walk(base, &path, out);
            } else {
                out.push(path.strip_prefix(base).expect("inside").display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn generated_python_tests_replay_their_fixture_and_regenerate_only_when_it_changes() {
    let project = Project::new();
    assert_eq!(project.record().code, 0);
    let before = files(project.path());
    let path = project.real_path();
    let run = project
        .noot(&path, &["mox", "generate-test", "--lang", "python", "--run", "fixtures/work.json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.starts_with("wrote tests/__generated__/test_work.py (test_replays_work)\n"),
        "{run:?}"
    );
    assert!(run.stdout.contains("1 passed"), "{run:?}");
    let added: Vec<String> =
        files(project.path()).into_iter().filter(|f| !before.contains(f)).collect();
    assert_eq!(
        added,
        ["tests/__generated__/__init__.py", "tests/__generated__/test_work.py"],
        "nothing outside __generated__"
    );
    let module = std::fs::read_to_string(project.path().join("tests/__generated__/test_work.py"))
        .expect("module");
    assert!(module.starts_with("# @generated by noot mox generate-test (generator 1) from fixtures/work.json; fixture blake3 "), "{module}");
    let again =
        project.noot(&path, &["mox", "generate-test", "--lang", "python", "fixtures/work.json"]);
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, "fresh tests/__generated__/test_work.py\n"),
        "a second run writes nothing"
    );
    let fixture = project.path().join("fixtures/work.json");
    let text = std::fs::read_to_string(&fixture)
        .expect("fixture")
        .replace("Release v1.2.0", "Release v1.2.1");
    std::fs::write(&fixture, text).expect("edit");
    let changed = project
        .noot(&path, &["mox", "generate-test", "--lang", "python", "--run", "fixtures/work.json"]);
    assert_eq!(changed.code, 0, "{changed:?}");
    assert!(changed.stdout.starts_with("wrote tests/__generated__/test_work.py"), "{changed:?}");
}

#[test]
fn generated_rust_tests_build_and_replay_in_a_cargo_project() {
    let project = Project::new();
    assert_eq!(project.record().code, 0);
    let root = crate::support::root();
    std::fs::write(
        project.path().join("Cargo.toml"),
        format!(
            "[package]\nname = \"replayed\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dev-dependencies]\nnoot-mox = {{ path = \"{}\" }}\n\n[workspace]\n",
            root.join("noot-mox").display()
        ),
    )
    .expect("manifest");
    std::fs::create_dir_all(project.path().join("src")).expect("src");
    std::fs::write(project.path().join("src/lib.rs"), "//! Stands in for the project's code.\n")
        .expect("lib");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("generated-rust");
    let out = Command::new(env!("CARGO_BIN_EXE_noot"))
        .args(["mox", "generate-test", "--run", "fixtures/work.json"])
        .current_dir(project.path())
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("NOOT_SHIM")
        .stdin(Stdio::null())
        .output()
        .expect("noot runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.starts_with("wrote tests/__generated__/work.rs (replays_work)\n"), "{stdout}");
    assert!(stdout.contains("test work::replays_work ... ok"), "{stdout}{stderr}");
    let main = std::fs::read_to_string(project.path().join("tests/__generated__/main.rs"))
        .expect("main.rs");
    assert!(main.ends_with("mod work;\n"), "{main}");
}
