//! The shim and the library together, with real processes: a shell script
//! under test calls doubled commands through `noot-shim`, and the Rust test
//! verifies. Every scenario runs on both shim backends.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use noot_mox::{Backend, Mox, Response, any, contains, is_a, ok, regex, starts_with};

const LAUNCHER: &str = env!("CARGO_BIN_EXE_noot-shim");

fn mox(backend: Backend) -> Mox {
    Mox::builder().backend(backend).launcher(LAUNCHER).build().expect("controller starts")
}

fn backends() -> [Backend; 2] {
    [Backend::Native, Backend::Script]
}

fn sh(mox: &Mox, script: &str) -> Output {
    mox.command("sh").arg("-c").arg(script).stdin(Stdio::null()).output().expect("sh runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_script_calls_a_mocked_git_with_stdin_and_env() {
    for backend in backends() {
        let mox = mox(backend.clone());
        mox.mock("git")
            .with_args(["push", "origin", "main"])
            .with_stdin("payload\n")
            .with_env([("GIT_TRACE", "0")])
            .returns(Response::new("pushed\n", "remote: ok\n", 0));
        let out = sh(&mox, "printf 'payload\\n' | git push origin main; echo \"exit=$?\"");
        assert_eq!(text(&out.stdout), "pushed\nexit=0\n", "{backend:?}");
        assert_eq!(text(&out.stderr), "remote: ok\n", "{backend:?}");
        mox.verify().expect("every expectation met");
        let journal = mox.journal();
        assert_eq!(journal.len(), 1);
        assert_eq!(
            journal[0].stdin.as_ref().map(|s| s.lossy().into_owned()).as_deref(),
            Some("payload\n")
        );
        assert_eq!(journal[0].env.get("GIT_TRACE").map(String::as_str), Some("0"), "injected");
    }
}

#[test]
fn comparators_accept_what_they_describe() {
    for backend in backends() {
        let mox = mox(backend);
        mox.mock("deploy")
            .with_matching_args([
                any(),
                is_a(noot_mox::Kind::Int),
                regex(r"^v\d"),
                contains("prod"),
                starts_with("--"),
            ])
            .returns(ok("deployed\n"));
        let out = sh(&mox, "deploy app 3 v1.2 eu-prod-1 --now");
        assert_eq!(text(&out.stdout), "deployed\n");
        mox.verify().expect("matched");
    }
}

#[test]
fn an_unexpected_call_fails_at_once_with_the_reason_and_again_at_verify() {
    let mox = mox(Backend::Auto);
    mox.mock("git").with_args(["push", "origin", "main"]).returns(ok(""));
    let out = sh(&mox, "git pull origin main; echo \"exit=$?\"");
    assert_eq!(text(&out.stdout), "exit=1\n");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("Unexpected command invocation"), "{stderr}");
    assert!(stderr.contains("Reason:\n  arg[0] 'pull' != 'push'"), "{stderr}");
    let report = mox.verify().expect_err("fails").to_string();
    assert!(report.starts_with("command doubles: 2 verification failures"), "{report}");
    assert!(report.contains("Unexpected command invocation"), "{report}");
    assert!(report.contains("Unfulfilled expectation"), "{report}");
}

#[test]
fn spies_pass_through_to_real_commands_and_record_them() {
    for backend in backends() {
        let mox = mox(backend);
        let printf = mox.spy("printf").passthrough();
        let ls = mox.spy("ls").passthrough();
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.txt"), "").expect("write");
        // `env` makes the shell run printf from PATH instead of its builtin.
        let script = format!("env printf '%s-%s\\n' x y; ls {}", dir.path().display());
        let out = sh(&mox, &script);
        assert_eq!(text(&out.stdout), "x-y\na.txt\n");
        printf.assert_called_with(["%s-%s\\n", "x", "y"]);
        ls.assert_called_times(1);
        assert_eq!(ls.invocations()[0].stdout.lossy(), "a.txt\n");
        mox.verify().expect("spies verify");
    }
}

#[test]
fn a_passthrough_to_a_missing_command_exits_127_naming_it() {
    let mox = Mox::builder().launcher(LAUNCHER).path("/nonexistent").build().expect("controller");
    mox.spy("no-such-tool-xyz").passthrough();
    let out = Command::new(mox.shim_dir().join("no-such-tool-xyz"))
        .envs(mox.env())
        .stdin(Stdio::null())
        .output()
        .expect("shim runs");
    assert_eq!(out.status.code(), Some(127));
    assert!(text(&out.stderr).contains("no-such-tool-xyz: command not found on the original PATH"));
    assert_eq!(mox.journal()[0].exit_code, 127);
    mox.verify().expect("a missing command is the caller's result, not a double's failure");
}

/// A spied command killed by a signal ends its shim by the same signal,
/// as the real command would have ended for its caller; the journal keeps
/// the shell's 128 + N.
#[test]
fn a_spied_command_killed_by_a_signal_ends_its_shim_the_same_way() {
    use std::os::unix::process::ExitStatusExt;
    let bin = tempfile::tempdir().expect("tempdir");
    let real = bin.path().join("noot-test-dies");
    std::fs::write(&real, "#!/bin/sh\nkill -TERM $$\n").expect("write");
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mox = Mox::builder()
        .launcher(LAUNCHER)
        .path(bin.path().as_os_str())
        .build()
        .expect("controller starts");
    mox.spy("noot-test-dies").passthrough();
    let out = Command::new(mox.shim_dir().join("noot-test-dies"))
        .envs(mox.env())
        .stdin(Stdio::null())
        .output()
        .expect("shim runs");
    assert_eq!(out.status.signal(), Some(15), "{:?} {}", out.status, text(&out.stderr));
    assert_eq!(mox.journal()[0].exit_code, 128 + 15);
    mox.verify().expect("a signal is the caller's result, not a double's failure");
}

/// The builder's timeout reaches the shims as NOOT_MOX_TIMEOUT; a value
/// that is not a positive number of seconds is refused by the shim at
/// once, in one line, with the controller-unreachable code.
#[test]
fn a_shim_refuses_a_timeout_that_is_not_a_positive_number() {
    let mox = Mox::builder()
        .launcher(LAUNCHER)
        .timeout(Duration::from_millis(1500))
        .build()
        .expect("controller starts");
    assert!(mox.env().contains(&("NOOT_MOX_TIMEOUT".into(), "1.5".into())), "{:?}", mox.env());
    mox.stub("git").returns(ok("fine\n"));
    let git = mox.shim_dir().join("git");
    let out = Command::new(&git).envs(mox.env()).stdin(Stdio::null()).output().expect("runs");
    assert_eq!(text(&out.stdout), "fine\n");
    for bad in ["soon", "0", "-2"] {
        let out = Command::new(&git)
            .envs(mox.env())
            .env("NOOT_MOX_TIMEOUT", bad)
            .stdin(Stdio::null())
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(125), "{bad}");
        assert_eq!(
            text(&out.stderr),
            format!("noot-shim: NOOT_MOX_TIMEOUT={bad} is not a positive number of seconds\n")
        );
    }
    assert_eq!(mox.journal().len(), 1, "refused calls never reach the controller");
    mox.verify().expect("the stub answered");
}

#[test]
fn a_shim_whose_controller_is_gone_returns_quickly_with_a_distinct_code() {
    let mox = mox(Backend::Script);
    mox.stub("git");
    let shim = mox.shim_dir().join("git");
    let env = mox.env();
    let kept = tempfile::tempdir().expect("tempdir");
    let copy = kept.path().join("git");
    std::fs::copy(&shim, &copy).expect("copy the script shim");
    mox.close();
    let started = Instant::now();
    let out = Command::new(&copy)
        .envs(env)
        .env("NOOT_MOX_TIMEOUT", "0.5")
        .stdin(Stdio::null())
        .output()
        .expect("shim runs");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(125));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("controller at") && stderr.contains("has stopped"), "{stderr}");
}

#[test]
fn binary_stdin_and_a_ten_mebibyte_binary_stdout_cross_intact() {
    for backend in backends() {
        let mox = mox(backend);
        let big: Vec<u8> = (0..10 * 1024 * 1024).map(|i| (i * 7 % 256) as u8).collect();
        mox.stub("blob").returns(Response::new(big.clone(), Vec::<u8>::new(), 0));
        let input: Vec<u8> = vec![0, 1, 2, 0xff, 0xfe, b'\n', 0];
        let mut child = mox
            .command("blob")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("shim runs");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(&input).expect("write stdin");
        }
        let out = child.wait_with_output().expect("waits");
        assert!(out.stdout == big, "stdout differs ({} bytes)", out.stdout.len());
        assert_eq!(mox.journal()[0].stdin.as_ref().map(|s| s.0.clone()), Some(input));
        mox.verify().expect("stub");
    }
}

#[test]
fn arguments_with_spaces_quotes_newlines_and_non_utf8_bytes_arrive_exactly() {
    for backend in backends() {
        let mox = mox(backend);
        let spy = mox.spy("tool").returns(ok(""));
        let weird: Vec<OsString> = vec![
            "two words".into(),
            "it's \"quoted\"".into(),
            "line1\nline2".into(),
            OsString::from_vec(vec![b'x', 0xff, 0xfe]),
            "".into(),
            "$HOME `id` *".into(),
        ];
        let status = mox.command("tool").args(&weird).stdin(Stdio::null()).status().expect("runs");
        assert!(status.success());
        let got: Vec<Vec<u8>> = spy.invocations()[0].args.iter().map(|a| a.0.clone()).collect();
        let want: Vec<Vec<u8>> = weird.into_iter().map(OsString::into_vec).collect();
        assert_eq!(got, want);
        mox.verify().expect("spy");
    }
}

#[test]
fn eight_controllers_at_once_never_see_each_others_calls() {
    let handles: Vec<_> = (0..8)
        .map(|n| {
            std::thread::spawn(move || {
                let mox = mox(if n % 2 == 0 { Backend::Native } else { Backend::Script });
                mox.mock("worker")
                    .with_args([n.to_string()])
                    .returns(ok(format!("{n}\n")))
                    .times(20);
                let script = format!("for i in $(seq 20); do worker {n}; done");
                let out = sh(&mox, &script);
                assert_eq!(text(&out.stdout), format!("{n}\n").repeat(20));
                mox.verify().expect("each controller saw only its own calls");
                mox.shim_dir().to_path_buf()
            })
        })
        .collect();
    let dirs: Vec<_> = handles.into_iter().map(|h| h.join().expect("thread")).collect();
    for dir in dirs {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

#[test]
fn handlers_compute_answers_from_the_call() {
    let mox = mox(Backend::Auto);
    mox.stub("echo-args").runs(|call| {
        let args: Vec<String> = call.args.iter().map(|a| a.lossy().into_owned()).collect();
        ok(format!("{}|{}\n", args.join(","), call.cwd))
    });
    let out = mox.command("echo-args").args(["a", "b"]).current_dir("/").output().expect("runs");
    assert_eq!(text(&out.stdout), "a,b|/\n");
    mox.verify().expect("stub");
}

/// The message a check panicked with.
fn panic_message(check: impl FnOnce()) -> String {
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check));
    let payload = caught.expect_err("the check panics");
    payload.downcast_ref::<String>().cloned().unwrap_or_default()
}

/// A double's assertions pass when met, and otherwise panic naming the
/// double, the calls it got and what was expected.
#[test]
fn a_double_s_assertions_name_it_and_the_calls_it_got() {
    let mox = mox(Backend::Auto);
    let git = mox.spy("git").returns(ok("")).times_called(2).any_order();
    let gh = mox.spy("gh").returns(ok("")).never();
    let out = sh(&mox, "git fetch && git push origin main");
    assert!(out.status.success(), "{}", text(&out.stderr));
    git.assert_called();
    git.assert_called_times(2);
    git.assert_called_with(["push", "origin", "main"]);
    gh.assert_not_called();
    assert_eq!((git.kind(), format!("{git:?}")), (noot_mox::DoubleKind::Spy, "spy git #1".into()));

    assert_eq!(
        panic_message(|| gh.assert_called()),
        "expected spy gh #2 to be called at least once, but it was never called"
    );
    assert_eq!(
        panic_message(|| git.assert_not_called()),
        "expected spy git #1 not to be called, but it was called 2 time(s); last: git('push', 'origin', 'main')"
    );
    assert_eq!(
        panic_message(|| git.assert_called_times(1)),
        "expected spy git #1 to be called 1 time(s), but it was called 2 time(s)"
    );
    assert_eq!(
        panic_message(|| gh.assert_called_with(["pr", "list"])),
        "expected spy gh #2 to be called with ['pr', 'list'], but it was never called"
    );
    assert_eq!(
        panic_message(|| git.assert_called_with(["push", "origin", "dev"])),
        "spy git #1 was last called with ['push', 'origin', 'main'], expected ['push', 'origin', 'dev']: arg[2] 'main' != 'dev'"
    );
    mox.verify().expect("two calls of git, none of gh");
}

#[test]
fn the_private_folder_is_0700_and_gone_after_drop_even_on_panic() {
    let dir = {
        let mox = mox(Backend::Auto);
        mox.stub("x");
        let mode = std::fs::metadata(mox.shim_dir()).expect("dir").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        mox.verify().expect("ok");
        mox.shim_dir().to_path_buf()
    };
    assert!(!dir.exists());
    let caught = std::panic::catch_unwind(|| {
        let mox = mox(Backend::Auto);
        let dir = mox.shim_dir().to_path_buf();
        std::panic::panic_any(dir);
    });
    let dir = caught.expect_err("panicked").downcast::<std::path::PathBuf>().expect("the dir");
    assert!(!dir.exists(), "{} left behind after a panic", dir.display());
}

#[test]
fn dropping_without_verify_is_an_error_not_silence() {
    let caught = std::panic::catch_unwind(|| {
        let mox = mox(Backend::Auto);
        mox.mock("git").with_args(["push"]);
    });
    let message = caught.expect_err("drop panics");
    let message = message.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("dropped without verify()"), "{message}");
    assert!(message.contains("Unfulfilled expectation"), "{message}");
}

#[test]
fn another_user_cannot_get_answers_from_the_socket() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc_geteuid() } != 0 {
        eprintln!("skipped: needs root to switch uid (the uid check is unit-tested in noot-mox)");
        return;
    }
    let mox = mox(Backend::Auto);
    mox.stub("git").returns(ok("secret answer\n"));
    let shim = mox.shim_dir().join("git");
    let run_as_nobody = |dir_mode: u32| {
        std::fs::set_permissions(mox.shim_dir(), std::fs::Permissions::from_mode(dir_mode))
            .expect("chmod");
        let socket_mode = if dir_mode == 0o700 { 0o755 } else { 0o777 };
        std::fs::set_permissions(mox.socket_path(), std::fs::Permissions::from_mode(socket_mode))
            .expect("chmod socket");
        let mut command = Command::new(LAUNCHER);
        command
            .args(["--as", "git"])
            .envs(mox.env())
            .env("NOOT_MOX_TIMEOUT", "0.3")
            .stdin(Stdio::null());
        std::os::unix::process::CommandExt::uid(&mut command, 65534);
        std::os::unix::process::CommandExt::gid(&mut command, 65534);
        command.output().expect("runs as nobody")
    };
    // The folder's mode keeps other users out of the socket entirely …
    let out = run_as_nobody(0o700);
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).contains("Permission denied"), "{}", text(&out.stderr));
    // … and were it opened up, the server still refuses another uid.
    let out = run_as_nobody(0o711);
    assert!(!text(&out.stdout).contains("secret answer"));
    assert!(text(&out.stderr).contains("refused: uid 65534"), "{}", text(&out.stderr));
    assert!(shim.exists());
    assert!(mox.journal().is_empty(), "a refused peer leaves no journal entry");
    mox.verify().expect("nothing was called");
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

#[test]
fn malformed_messages_get_an_error_reply_and_the_controller_carries_on() {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    let mox = mox(Backend::Auto);
    mox.stub("git").returns(ok("still here\n"));
    for garbage in [
        &b"not json"[..],
        b"{\"protocol\":1,\"type\":\"invoke\"}",
        b"{\"protocol\":99,\"type\":\"verify\"}",
        &[0xff; 3],
    ] {
        let mut stream = UnixStream::connect(mox.socket_path()).expect("connect");
        stream.write_all(garbage).expect("write");
        stream.shutdown(std::net::Shutdown::Write).expect("half-close");
        let mut reply = String::new();
        stream.read_to_string(&mut reply).expect("a reply");
        assert!(reply.contains("\"type\":\"error\""), "{reply}");
    }
    let out = sh(&mox, "git");
    assert_eq!(text(&out.stdout), "still here\n");
    mox.verify().expect("the garbage was not a call");
}

#[test]
fn noot_mox_stdin_ignore_leaves_an_open_stdin_unread() {
    let mox = mox(Backend::Auto);
    mox.stub("git").returns(ok("done\n"));
    // A stdin pipe that stays open: without the setting the shim would
    // wait for its end, as `cat` would.
    let mut child = mox
        .command("git")
        .env("NOOT_MOX_STDIN", "ignore")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("runs");
    let _keep_open = child.stdin.take();
    let started = Instant::now();
    let out = child.wait_with_output().expect("ends");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(text(&out.stdout), "done\n");
    assert_eq!(mox.journal()[0].stdin, None);
    mox.verify().expect("stub");
}

#[test]
fn a_spy_records_to_a_fixture_and_another_test_replays_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = dir.path().join("printf.json");
    {
        let mox = mox(Backend::Auto);
        mox.spy("printf").passthrough().record(&fixture);
        let out = sh(
            &mox,
            "env printf 'token=%s\\n' ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9; env printf 'two\\n'",
        );
        assert_eq!(text(&out.stdout), "token=ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9\ntwo\n");
        mox.verify().expect("records");
    }
    let saved = std::fs::read_to_string(&fixture).expect("the fixture was written at verify");
    assert!(!saved.contains("ghp_R2d2"), "scrubbed before it touched disk: {saved}");
    let mox = mox(Backend::Auto);
    let spy = mox.spy("printf").replay(&fixture).expect("loads");
    let out = sh(&mox, "env printf 'two\\n'");
    assert_eq!(text(&out.stdout), "two\n");
    spy.assert_called_times(0);
    let report = mox.verify().expect_err("one recording left").to_string();
    assert!(report.contains("1 recordings were never replayed"), "{report}");
}

/// What a harness in another language does over the socket: declare doubles
/// as data, answer `runs` through a callback socket of its own, inspect a
/// double, verify.
#[test]
fn a_harness_declares_doubles_and_answers_callbacks_over_the_socket() {
    use noot_mox::protocol::{Reply, Request};
    use std::io::{Read, Write};
    let mox = mox(Backend::Auto);
    let ask = |request: Request| {
        noot_mox::client::exchange(
            mox.socket_path(),
            Instant::now() + Duration::from_secs(5),
            request,
        )
        .expect("the controller answers")
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let callback = dir.path().join("callback.sock");
    let listener = std::os::unix::net::UnixListener::bind(&callback).expect("bind");
    let answering = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("a call");
        let mut request = Vec::new();
        stream.read_to_end(&mut request).expect("read");
        let call: serde_json::Value = serde_json::from_slice(&request).expect("json");
        let answer = format!(
            "{{\"stdout\": \"hello {}\\n\", \"exit_code\": 3}}",
            call["args"][0].as_str().unwrap_or("?")
        );
        stream.write_all(answer.as_bytes()).expect("answer");
    });
    let double = serde_json::json!({"kind": "mock", "command": "greet", "args": [{"regex": "^w"}], "callback": callback});
    let Reply::Configured { index } = ask(Request::Configure { index: None, double }) else {
        panic!("not configured")
    };
    let out = sh(&mox, "greet world; echo \"exit=$?\"");
    assert_eq!(text(&out.stdout), "hello world\nexit=3\n");
    answering.join().expect("callback thread");
    let Reply::Inspected { call_count, .. } = ask(Request::Inspect { index }) else {
        panic!("not inspected")
    };
    assert_eq!(call_count, 1);
    // Changing the double keeps its calls; a wrong kind is refused.
    let spy = serde_json::json!({"kind": "spy", "command": "greet"});
    let Reply::Error { message, exit_code } =
        ask(Request::Configure { index: Some(index), double: spy })
    else {
        panic!("accepted")
    };
    assert_eq!(exit_code, 2);
    assert!(message.contains("is a mock of greet, not a spy of greet"), "{message}");
    let Reply::Verified { ok, .. } = ask(Request::Verify) else { panic!("not verified") };
    assert!(ok);
    mox.mark_verified();
}
