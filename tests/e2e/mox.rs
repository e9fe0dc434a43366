//! `noot mox`: scenarios run against real shell scripts through the real
//! `noot` and `noot-shim` binaries; serve/verify for other harnesses;
//! shim backends (built-in and third-party) chosen by configuration; and
//! every way out (Ctrl-C, a killed controller) leaves nothing behind.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::snapshot;
use crate::support::{Run, build_cdylib, noot, noot_env};

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        if name.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }
    dir
}

/// The JSON document with what changes from run to run replaced.
fn stable(stdout: &str, dir: &Path) -> String {
    let mut doc: Value = serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    if let Some(journal) = doc["journal"].as_array_mut() {
        for call in journal {
            call["pid"] = Value::from(0);
            call["duration_ms"] = Value::from(0);
            call["cwd"] = Value::from("[dir]");
        }
    }
    let text = serde_json::to_string_pretty(&doc).expect("json");
    crate::support::redact_path(&text, dir, "dir")
}

/// Whether `pid` runs (a zombie waiting for a reaper does not: in a
/// container, PID 1 may never reap orphans).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        }
        Err(_) => false,
    }
}

const ISSUE_SCENARIO: &str = r#"[[mock]]
command = "git"
args = ["push", "origin", "main"]
stdout = "pushed\n"
exit_code = 0
times = 1

[[stub]]
command = "date"
stdout = "2026-01-01\n"

[[spy]]
command = "printf"
passthrough = true
"#;

#[test]
fn the_issue_s_scenario_runs_a_script_and_passes_with_the_script_s_exit_code() {
    let dir = project(&[
        ("doubles.toml", ISSUE_SCENARIO),
        ("release.sh", "#!/bin/sh\ngit push origin main\ndate\nenv printf '%s!\\n' done\nexit 3\n"),
    ]);
    let run = noot(dir.path(), &["mox", "run", "--scenario", "doubles.toml", "--", "./release.sh"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(run.stdout, "pushed\n2026-01-01\ndone!\ncommand doubles: every expectation met\n");
}

#[test]
fn a_mocked_git_gets_stdin_and_env_from_the_script() {
    let dir = project(&[
        (
            "doubles.toml",
            "[[mock]]\ncommand = \"git\"\nargs = [\"commit\", \"-F\", \"-\"]\nstdin = { contains = \"fix:\" }\nenv = { GIT_AUTHOR_NAME = \"noot\" }\nrun = [\"sh\", \"-c\", 'printf \"%s by %s\\n\" \"$(cat)\" \"$GIT_AUTHOR_NAME\"']\n",
        ),
        ("commit.sh", "#!/bin/sh\necho 'fix: the thing' | git commit -F -\n"),
    ]);
    let run = noot(dir.path(), &["mox", "run", "--scenario", "doubles.toml", "--", "./commit.sh"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("fix: the thing by noot\n"), "{run:?}");
    // The caller contradicting the expectation's env is a mismatch, named.
    let run = noot_env(
        dir.path(),
        &["mox", "run", "--scenario", "doubles.toml", "--", "./commit.sh"],
        &[("GIT_AUTHOR_NAME", "someone")],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("Reason:\n  env['GIT_AUTHOR_NAME'] 'someone' != 'noot'"),
        "{run:?}"
    );
}

const FAILING_SCENARIO: &str = r#"[[mock]]
command = "git"
args = ["add", "."]
ordered = true

[[mock]]
command = "git"
args = ["commit", { regex = '^-m' }]
ordered = true

[[mock]]
command = "git"
args = ["push"]
times = 1

[[mock]]
command = "gh"
args = ["release", "create", { is_a = "path" }]

[[mock]]
command = "deploy"
env = { API_TOKEN = "expected-token" }
"#;

const FAILING_SCRIPT: &str = "#!/bin/sh\ngit commit -mwip\ngit add .\ngit push\ngit push\ngit pull\nAPI_TOKEN=leaked-token deploy\nexit 0\n";

#[test]
fn every_kind_of_failure_is_reported_diff_style_in_text_and_json() {
    let dir = project(&[("doubles.toml", FAILING_SCENARIO), ("ship.sh", FAILING_SCRIPT)]);
    let run = noot(dir.path(), &["mox", "run", "--scenario", "doubles.toml", "--", "./ship.sh"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        !run.stdout.contains("leaked-token") && !run.stderr.contains("leaked-token"),
        "secret values are masked"
    );
    snapshot!("mox_run_failures_human", run.stdout);
    let run = noot(
        dir.path(),
        &["mox", "run", "--scenario", "doubles.toml", "--format", "json", "--", "./ship.sh"],
    );
    assert_eq!(run.code, 1);
    assert!(!run.stdout.contains("leaked-token"));
    snapshot!("mox_run_failures_json", stable(&run.stdout, dir.path()));
}

#[test]
fn spies_pass_through_to_printf_and_ls_and_a_missing_command_exits_127() {
    let dir = project(&[
        (
            "doubles.toml",
            "[[spy]]\ncommand = \"printf\"\npassthrough = true\n[[spy]]\ncommand = \"ls\"\npassthrough = true\n[[spy]]\ncommand = \"no-such-tool-xyz\"\npassthrough = true\n",
        ),
        ("a.txt", ""),
        (
            "list.sh",
            "#!/bin/sh\nenv printf 'n=%d\\n' 42\nls a.txt\nno-such-tool-xyz --flag\necho \"missing=$?\"\n",
        ),
    ]);
    let run = noot(
        dir.path(),
        &["mox", "run", "--scenario", "doubles.toml", "--format", "json", "--", "./list.sh"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("n=42\na.txt\n"),
        "the command's stdout goes to stderr in JSON mode: {run:?}"
    );
    assert!(
        run.stderr.contains("no-such-tool-xyz: command not found on the original PATH"),
        "{run:?}"
    );
    assert!(run.stderr.contains("missing=127"), "{run:?}");
    let doc: Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    let journal = doc["journal"].as_array().expect("journal");
    let outs: Vec<(&str, &str, i64)> = journal
        .iter()
        .map(|c| {
            (
                c["command"].as_str().unwrap_or(""),
                c["stdout"].as_str().unwrap_or(""),
                c["exit_code"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        outs,
        vec![("printf", "n=42\n", 0), ("ls", "a.txt\n", 0), ("no-such-tool-xyz", "", 127)]
    );
    assert!(journal.iter().all(|c| c["answer"] == "passthrough"));
}

#[test]
fn bad_scenarios_name_the_line_and_exit_2() {
    let dir = project(&[("doubles.toml", "[[mock]]\ncommand = \"git\"\ntimes = \"once\"\n")]);
    let run = noot(dir.path(), &["mox", "run", "--scenario", "doubles.toml", "--", "true"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("doubles.toml:3:9:"), "{run:?}");
    assert!(run.stderr.contains("help:"), "{run:?}");
    let run = noot(dir.path(), &["mox", "run", "--scenario", "missing.toml", "--", "true"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot read missing.toml"), "{run:?}");
}

fn wait_for(path: &Path, within: Duration) -> String {
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text;
            }
        }
        assert!(start.elapsed() < within, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ctrl_c_during_a_run_leaves_no_process_socket_or_folder_behind() {
    let dir = project(&[
        ("doubles.toml", "[[stub]]\ncommand = \"git\"\n"),
        (
            "slow.sh",
            "#!/bin/sh\ngit status\nsleep 300 &\necho \"$! $NOOT_MOX_SOCKET\" > state.txt\nwait\n",
        ),
    ]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_noot"))
        .args(["mox", "run", "--scenario", "doubles.toml", "--", "./slow.sh"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("noot starts");
    let state = wait_for(&dir.path().join("state.txt"), Duration::from_secs(20));
    let (pid, socket) = state.trim().split_once(' ').expect("pid and socket");
    let pid: i32 = pid.parse().expect("pid");
    let socket = PathBuf::from(socket);
    assert!(socket.exists());
    // SAFETY: sending SIGINT to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let started = Instant::now();
    let status = child.wait().expect("noot exits");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(status.code(), Some(130));
    std::thread::sleep(Duration::from_millis(100));
    assert!(!alive(pid), "the script's background sleep outlived noot");
    assert!(!socket.exists(), "socket left behind");
    assert!(!socket.parent().expect("dir").exists(), "shim folder left behind");
}

/// Starts `noot mox serve` in the foreground and returns it with the
/// environment it printed.
fn serve(dir: &Path, extra: &[&str]) -> (Child, Vec<(String, String)>) {
    let mut args = vec!["mox", "serve", "--scenario", "doubles.toml"];
    args.extend_from_slice(extra);
    let mut child = Command::new(env!("CARGO_BIN_EXE_noot"))
        .args(&args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("noot serve starts");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut vars = Vec::new();
    while vars.len() < 2 {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read") == 0 {
            break;
        }
        let rest = line.trim().strip_prefix("export ").expect("an export line");
        let (name, value) = rest.split_once('=').expect("NAME=value");
        vars.push((name.to_string(), value.trim_matches('\'').to_string()));
    }
    (child, vars)
}

#[test]
fn a_shim_whose_controller_is_killed_mid_call_returns_at_once() {
    let dir =
        project(&[("doubles.toml", "[[stub]]\ncommand = \"slow\"\nrun = [\"sleep\", \"3\"]\n")]);
    let (mut server, vars) = serve(dir.path(), &[]);
    let shim = Command::new("sh")
        .args(["-c", "slow; echo \"exit=$?\""])
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("shim starts");
    std::thread::sleep(Duration::from_millis(300));
    server.kill().expect("kill -9 the controller");
    let _ = server.wait();
    // kill -9 leaves the controller no chance to clean up: this test does.
    let socket = &vars.iter().find(|(k, _)| k == "NOOT_MOX_SOCKET").expect("socket").1;
    let folder = PathBuf::from(socket).parent().map(Path::to_path_buf).expect("folder");
    let started = Instant::now();
    let out = shim.wait_with_output().expect("shim ends");
    assert!(started.elapsed() < Duration::from_secs(2), "the shim hung {:?}", started.elapsed());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "exit=125\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("went away before answering"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    std::fs::remove_dir_all(folder).expect("remove the dead controller's folder");
}

#[test]
fn serve_and_verify_drive_doubles_from_any_harness() {
    let dir = project(&[("doubles.toml", ISSUE_SCENARIO)]);
    // A shell harness, as bats would: eval the exports, run, verify.
    let script = format!(
        "eval \"$({noot} mox serve --scenario doubles.toml --daemon --watch-pid $$)\"\n\
         echo \"socket=$NOOT_MOX_SOCKET\"\n\
         git push origin main\n\
         {noot} mox verify; echo \"verify=$?\"\n",
        noot = env!("CARGO_BIN_EXE_noot")
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("pushed\ncommand doubles: every expectation met\nverify=0\n"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let socket = stdout.lines().find_map(|l| l.strip_prefix("socket=")).expect("socket line");
    let start = Instant::now();
    while Path::new(socket).parent().is_some_and(Path::exists)
        && start.elapsed() < Duration::from_secs(3)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !Path::new(socket).parent().expect("dir").exists(),
        "the controller stops after verify"
    );

    // Verification failures: exit 1 and the report; JSON on request.
    let (mut server, vars) = serve(dir.path(), &[]);
    let env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = noot_env(dir.path(), &["mox", "verify", "--format", "json"], &env);
    assert_eq!(run.code, 1, "{run:?}");
    let doc: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(doc["failures"][0]["title"], "Unfulfilled expectation");
    assert_eq!(server.wait().expect("serve exits").code(), Some(0));

    // No controller: exit 2 with the fix.
    let run = noot(dir.path(), &["mox", "verify"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("NOOT_MOX_SOCKET is not set"), "{run:?}");
}

#[test]
fn a_served_controller_stops_when_the_watched_process_exits() {
    let dir = project(&[("doubles.toml", ISSUE_SCENARIO)]);
    let mut watched = Command::new("sleep").arg("300").spawn().expect("sleep");
    let pid = watched.id().to_string();
    let (mut server, vars) = serve(dir.path(), &["--watch-pid", &pid]);
    let socket =
        PathBuf::from(&vars.iter().find(|(k, _)| k == "NOOT_MOX_SOCKET").expect("socket").1);
    watched.kill().expect("kill");
    let _ = watched.wait();
    let started = Instant::now();
    let status = server.wait().expect("serve exits");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(status.code(), Some(0));
    assert!(!socket.exists());
}

#[test]
fn the_script_backend_and_a_third_party_backend_work_alike() {
    let dir = project(&[
        ("doubles.toml", ISSUE_SCENARIO),
        ("release.sh", "#!/bin/sh\ngit push origin main\ndate\n"),
    ]);
    let args = ["mox", "run", "--scenario", "doubles.toml", "--", "./release.sh"];
    let expected = "pushed\n2026-01-01\ncommand doubles: every expectation met\n";
    let run = noot_env(dir.path(), &args, &[("NOOT_SHIM_BACKEND", "script")]);
    assert_eq!((run.code, run.stdout.as_str()), (0, expected), "{run:?}");
    let run = noot_env(dir.path(), &args, &[("NOOT_SHIM_BACKEND", "natve")]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(
            "NOOT_SHIM_BACKEND: no shim-backend plugin named `natve` (did you mean `native`?)"
        ),
        "{run:?}"
    );

    let library = build_cdylib("noot-example-hardlink-shims", &[]);
    std::fs::write(
        dir.path().join("noot.toml"),
        format!(
            "[plugins]\npaths = [\"{}\"]\n\n[mox]\nshim_backend = \"hardlink\"\n",
            library.display()
        ),
    )
    .expect("noot.toml");
    let run = noot(dir.path(), &args);
    assert_eq!((run.code, run.stdout.as_str()), (0, expected), "{run:?}");
    let list = noot(dir.path(), &["plugins", "list"]);
    assert!(list.stdout.contains("hardlink"), "{list:?}");
}

#[test]
fn noot_is_its_own_launcher_when_noot_shim_is_not_installed() {
    let bin = tempfile::tempdir().expect("tempdir");
    let copy = bin.path().join("noot");
    std::fs::copy(env!("CARGO_BIN_EXE_noot"), &copy).expect("copy noot alone");
    let dir = project(&[
        ("doubles.toml", ISSUE_SCENARIO),
        ("release.sh", "#!/bin/sh\ngit push origin main\n"),
    ]);
    for backend in ["native", "script"] {
        let out = Command::new(&copy)
            .args(["mox", "run", "--scenario", "doubles.toml", "--", "./release.sh"])
            .current_dir(dir.path())
            .env("PATH", "/usr/bin:/bin")
            .env("NOOT_SHIM_BACKEND", backend)
            .env_remove("NOOT_SHIM")
            .stdin(Stdio::null())
            .output()
            .expect("runs");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, "pushed\ncommand doubles: every expectation met\n"),
            "{backend}: {run:?}"
        );
    }
}

#[test]
fn eight_noot_mox_runs_at_once_each_see_only_their_own_calls() {
    let dir = project(&[(
        "doubles.toml",
        "[[mock]]\ncommand = \"worker\"\nargs = [{ is_a = \"int\" }]\nat_least = 10\nrun = [\"sh\", \"-c\", 'echo \"$1\"', \"sh\"]\n",
    )]);
    let children: Vec<(usize, Child)> = (0..8)
        .map(|n| {
            let script = format!("for i in $(seq 10); do worker {n}; done");
            let child = Command::new(env!("CARGO_BIN_EXE_noot"))
                .args(["mox", "run", "--scenario", "doubles.toml", "--", "sh", "-c", &script])
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("noot starts");
            (n, child)
        })
        .collect();
    for (n, child) in children {
        let out = child.wait_with_output().expect("noot ends");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            stdout,
            format!("{}command doubles: every expectation met\n", format!("{n}\n").repeat(10))
        );
    }
}

#[test]
fn the_bundled_example_runs_as_the_readme_says() {
    let dir = crate::support::root().join("examples/mox");
    let args = ["mox", "run", "--scenario", "doubles.toml", "--", "./release.sh", "v1.2.0"];
    let run = noot(&dir, &args);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .ends_with("released v1.2.0 on 2026-12-02\ncommand doubles: every expectation met\n"),
        "{run:?}"
    );
    let run =
        noot(&dir, &["mox", "run", "--scenario", "doubles.toml", "--", "./release.sh", "1.2"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.starts_with("command doubles: 4 verification failures"), "{run:?}");
    assert!(run.stderr.contains("usage: release.sh vX.Y.Z"), "{run:?}");
}
