//! Regression tests: every bug fixed gets a test here first.

use std::sync::Arc;

use noot::engine::ports::{NoEvents, NoProgress, Ports};
use noot::plugins::Registry;

#[path = "../common/noot.rs"]
mod noot_cmd;
use noot_cmd::{mutate_fixture, noot_command, noot_run, python_project};

/// The default scrubber's rules use `\b`, which needs regex-automata's
/// `unicode-word-boundary` feature. The scrubber crate's own tests passed
/// without it because a dev-dependency switched it on through feature
/// unification; inside noot every rule failed to compile.
#[test]
fn default_scrubber_compiles_inside_the_host() {
    let ports = Ports::real(Arc::new(NoEvents), Arc::new(NoProgress));
    let registry = Registry::with_builtins().expect("built-ins");
    let scrubber = registry.new_scrubber("default", "{}", &ports).unwrap_or_else(|e| panic!("{e}"));
    let out = scrubber.scrub("ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9".into(), "file".into());
    assert_eq!(out.into_result().expect("scrubs").findings.len(), 1);
}

/// A rule whose pattern ends by consuming a terminator (`[\s"',;]|$`) never
/// matched a secret at the end of a line: the search range stopped before
/// the newline, and `$` means the end of the whole text, not of the range.
/// The AWS secret then fell through to the generic rule.
#[test]
fn a_secret_at_the_end_of_a_line_is_found_by_its_own_rule() {
    let ports = Ports::real(Arc::new(NoEvents), Arc::new(NoProgress));
    let registry = Registry::with_builtins().expect("built-ins");
    let scrubber = registry.new_scrubber("default", "{}", &ports).unwrap_or_else(|e| panic!("{e}"));
    let text = "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nnext line\n";
    let out = scrubber.scrub(text.into(), "file".into()).into_result().expect("scrubs");
    let rules: Vec<&str> = out.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["aws-secret-access-key"]);
    let key = "key=AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q\nmore";
    let out = scrubber.scrub(key.into(), "file".into()).into_result().expect("scrubs");
    assert_eq!(
        out.findings.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(),
        ["google-api-key"]
    );
}

/// `RealProcs::wait` took its process out of the table it kept, so
/// `kill_all` (Ctrl-C) and `kill_group` could not reach a process that a
/// runner thread was waiting for: an interrupted `noot run` left its test
/// processes running until they finished.
#[test]
fn kill_all_reaches_a_process_that_is_being_waited_for() {
    use noot::engine::ports::Procs;
    use noot::engine::procs::{ProcStatus, RealProcs, SpawnRequest};
    let procs = Arc::new(RealProcs::default());
    let request = SpawnRequest {
        program: "sleep".into(),
        args: vec!["30".into()],
        output_cap_bytes: 1024,
        ..SpawnRequest::default()
    };
    let handle = procs.spawn(&request).expect("spawns");
    let killer = Arc::clone(&procs);
    let started = std::time::Instant::now();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        killer.kill_all();
    });
    let result = procs.wait(handle, Some(20_000)).expect("waits");
    assert_eq!(result.status, ProcStatus::Signaled(libc::SIGKILL));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

/// toolz: a mutant that breaks `import toolz` makes pytest fail collection;
/// given node ids, pytest then exits 4 ("found no collectors"), which was
/// reported as a usage `error` instead of a kill.
#[test]
fn a_collection_failure_under_node_ids_is_a_kill() {
    use noot_plugin_api::MutantStatus;
    use noot_plugin_runners::pytest::{Ending, classify};
    let output = "\
==================================== ERRORS ====================================
________________ ERROR collecting toolz/tests/test_itertoolz.py ________________
E   TypeError: 'NoneType' object is not iterable
=========================== short test summary info ============================
ERROR toolz/tests/test_itertoolz.py - TypeError: 'NoneType' object is not ite...
1 error in 0.38s
ERROR: found no collectors for /tmp/p/mutants/toolz/tests/test_itertoolz.py::test_rest
";
    let (status, detail) = classify(Ending::Exited(4), output);
    assert_eq!(status, MutantStatus::Killed);
    assert_eq!(
        detail,
        "collection failed: toolz/tests/test_itertoolz.py - TypeError: 'NoneType' object is not ite..."
    );
    // A usage error that is not a collection failure stays an error.
    let (status, _) = classify(Ending::Exited(4), "ERROR: unrecognized arguments: --bogus\n");
    assert_eq!(status, MutantStatus::Error);
}

/// Labels named `n=1.0` and `n=1` as a difference between two variants
/// (their text differs) although the values, and so the ids, are the same
/// number: a field varies only if its canonical value does.
#[test]
fn a_label_does_not_count_number_spelling_as_a_difference() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("noot.toml"),
        "[experiment.e]\nconfigs = [\"a.toml\", \"b.json\"]\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("a.toml"), "n = 1.0\nm = \"x\"\n").expect("write");
    std::fs::write(dir.path().join("b.json"), r#"{"n": 1, "m": "y"}"#).expect("write");
    let experiment = noot::experiment::api::Experiment::load_in(dir.path(), "e").expect("loads");
    let labels: Vec<&str> = experiment.variants().iter().map(|v| v.label.as_str()).collect();
    assert_eq!(labels, ["m=x", "m=y"]);
}

/// `expand` lists multiply: seven lists of ten values asked for ten million
/// configs, which noot built one by one until memory ran out (and checked
/// each new one against every earlier one for duplicates). Past
/// `MAX_VARIANTS` the experiment is refused at once, at the table's line.
#[test]
fn an_expansion_past_the_variant_bound_is_refused_at_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lists: String =
        (0..7).map(|i| format!("k{i} = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n")).collect();
    std::fs::write(
        dir.path().join("noot.toml"),
        format!("[experiment.e]\ncommand = [\"true\"]\n[experiment.e.expand]\n{lists}"),
    )
    .expect("write");
    let error = match noot::experiment::api::Experiment::load_in(dir.path(), "e") {
        Ok(_) => panic!("ten million variants were accepted"),
        Err(e) => e.to_string(),
    };
    assert!(error.contains("noot.toml:3:"), "{error}");
    assert!(error.contains("more than 100000 config variants"), "{error}");
    assert!(error.contains("k0: 10 × k1: 10"), "{error}");
}

/// A controller for the command-doubles regressions, with the `noot-shim`
/// cargo built beside noot, or noot itself (its own shim launcher when a
/// symlink named like the command runs it) when that was not built.
fn mox() -> noot_mox::Mox {
    let noot = std::path::Path::new(env!("CARGO_BIN_EXE_noot"));
    let shim = noot.with_file_name("noot-shim");
    let launcher = if shim.exists() { shim } else { noot.to_path_buf() };
    noot_mox::Mox::builder()
        .backend(noot_mox::Backend::Native)
        .launcher(launcher)
        .build()
        .expect("controller")
}

fn sh(mox: &noot_mox::Mox, script: &str) -> std::process::Output {
    mox.command("sh")
        .args(["-c", script])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("sh runs")
}

/// A command name with a newline went unquoted into the comment line of
/// the script backend's shim, so `command = "x\nrm -rf ~"` wrote a live
/// shell line into the shim.
#[test]
fn a_command_name_with_a_control_character_is_refused() {
    for bad in ["x\nrm -rf ~", "x\r", "tab\tname", "nul\0"] {
        assert!(noot_mox::shims::valid_command(bad).is_err(), "{bad:?}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let made = noot_mox::shims::ShimBackend::make(
        &noot_mox::shims::ScriptShims,
        dir.path(),
        std::path::Path::new("/bin/noot-shim"),
        "git",
    )
    .expect("script");
    let text = std::fs::read_to_string(made).expect("read");
    assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 1, "{text}");
    let scenario = noot::mox::scenario::parse(
        std::path::Path::new("s.toml"),
        "[[stub]]\ncommand = \"x\\nrm -rf ~\"\n",
    );
    assert!(scenario.is_err());
}

/// With SIGPIPE at its default (the shim is `no_main`), a passthrough spy
/// whose reader went away (`… | head -1`) killed the shim before it
/// reported back: the caller saw 141 and verify said the result was lost.
#[test]
fn a_passthrough_whose_reader_goes_away_still_reports_back() {
    let mox = mox();
    let seq = mox.spy("seq").passthrough();
    let out = sh(&mox, "seq 1 300000 | head -1; echo \"status=${PIPESTATUS:-n/a}\"");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("1\n"), "{out:?}");
    seq.assert_called_times(1);
    mox.verify().expect("the passthrough reported back");
    let call = &seq.invocations()[0];
    assert!(
        call.stdout.as_slice().starts_with(b"1\n2\n"),
        "the journal keeps what the real seq wrote"
    );
}

/// Selection took the first spy that accepted a call and only then looked
/// at its count, so a full first spy sent the call past a second spy that
/// still had room.
#[test]
fn a_full_spy_hands_the_call_to_the_next_spy() {
    let mox = mox();
    let first = mox.spy("git").returns(noot_mox::ok("first\n")).times(1);
    let second = mox.spy("git").returns(noot_mox::ok("second\n"));
    let out = sh(&mox, "git; git");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "first\nsecond\n");
    first.assert_called_times(1);
    second.assert_called_times(1);
    mox.verify().expect("both spies satisfied");
}

/// A predicate that panicked unwound the controller's accepting thread:
/// every later call found no controller, and nothing was reported.
#[test]
fn a_panicking_predicate_fails_its_call_and_the_controller_carries_on() {
    let mox = mox();
    mox.mock("deploy")
        .with_matching_args([noot_mox::predicate("explodes", |_| panic!("predicate bug"))]);
    mox.stub("date").returns(noot_mox::ok("today\n"));
    let out = sh(&mox, "deploy prod; echo \"deploy=$?\"; date");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("deploy=1\ntoday\n"),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("predicate bug"));
    let report = mox.verify().expect_err("the panic is a failure").to_string();
    assert!(report.contains("predicate bug"), "{report}");
}

/// Once a mock had all its calls, a catch-all stub of the same command
/// answered the next matching call silently, so `times(1)` was not enforced.
#[test]
fn a_call_past_a_full_mock_is_additional_even_with_a_catch_all_stub() {
    let mox = mox();
    mox.mock("git").with_args(["push"]).returns(noot_mox::ok("")).times(1);
    mox.stub("git").returns(noot_mox::ok("stub\n"));
    let out = sh(&mox, "git push; git push; echo \"second=$?\"; git status");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout, "second=1\nstub\n");
    let report = mox.verify().expect_err("additional").to_string();
    assert!(report.contains("Unexpected additional invocation"), "{report}");
}

fn noot_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_noot"))
        .args(args)
        .current_dir(dir)
        .env_remove("NOOT_SHIM_BACKEND")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("noot runs")
}

/// A double named like the controller's socket (`mox.sock`) failed to get
/// its shim, and the controller dropped on that error path panicked with
/// "dropped without verify()" (exit 101) instead of reporting the error.
#[test]
fn a_command_named_like_the_socket_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["mox.sock", ".noot-mox.sock"] {
        let scenario = format!("[[stub]]\ncommand = \"{name}\"\n");
        std::fs::write(dir.path().join("s.toml"), scenario).expect("write");
        let out = noot_in(dir.path(), &["mox", "run", "--scenario", "s.toml", "--", "true"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        if name == "mox.sock" {
            assert_eq!(out.status.code(), Some(0), "`mox.sock` is an ordinary name now: {stderr}");
        } else {
            assert_eq!(out.status.code(), Some(2), "{stderr}");
            assert!(stderr.contains("reserved"), "{stderr}");
        }
    }
}

/// A passthrough ran its real command with the shim folder taken off its
/// `PATH`, so what a spied `env`, `make` or `xargs` ran escaped the doubles.
#[test]
fn a_spied_command_runs_its_children_through_the_doubles() {
    let mox = mox();
    let env = mox.spy("env").passthrough();
    let git = mox.mock("git").with_args(["via-env"]).returns(noot_mox::ok("mocked\n"));
    let out = sh(&mox, "env git via-env");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "mocked\n", "{out:?}");
    env.assert_called_times(1);
    git.assert_called_times(1);
    mox.verify().expect("the mock answered the spied env's child");
}

/// Only environment values were masked: a token passed on as an argument
/// (`curl -H "Authorization: Bearer $GITHUB_TOKEN"`) was printed in full in
/// the reports, on the shim's stderr and in the JSON journal.
#[test]
fn a_token_passed_as_an_argument_is_hidden_in_reports_and_json() {
    let mox = mox();
    mox.mock("curl").with_args(["https://api.example.invalid/"]);
    let out = mox
        .command("sh")
        .args(["-c", "curl -H \"Authorization: Bearer $GITHUB_TOKEN\" https://api.example.invalid/; echo $GITHUB_TOKEN | curl -d @- x"])
        .env("GITHUB_TOKEN", "ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("sh runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Bearer ***"), "{stderr}");
    assert!(!stderr.contains("ghp_R2d2"), "{stderr}");
    let report = mox.verify().expect_err("unexpected calls").to_string();
    assert!(report.contains("Bearer ***") && !report.contains("ghp_R2d2"), "{report}");
    let document = mox.report_document().to_string();
    assert!(!document.contains("ghp_R2d2"), "{document}");
    assert!(!format!("{:?}", mox.journal()).contains("ghp_R2d2"));
}

/// `serve --daemon` watched noot's parent, which under `eval "$(… | cat)"`
/// is a subshell gone at once: the controller stopped, its folder went, and
/// the doubled `git` fell through to the real one. After `verify` the same
/// happened by design. Now it watches the caller's process group, and keeps
/// its shims (failing with 125) until that group is gone.
#[test]
fn a_served_double_never_falls_through_to_the_real_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("s.toml"),
        "[[mock]]\ncommand = \"git\"\nargs = [\"fetch\"]\nstdout = \"doubled\\n\"\n",
    )
    .expect("write");
    let script = format!(
        "eval \"$({noot} mox serve --scenario s.toml --daemon | cat)\"\n\
         sleep 0.5\n\
         git fetch; echo \"first=$?\"\n\
         {noot} mox verify >/dev/null; echo \"verify=$?\"\n\
         git fetch; echo \"after=$?\"\n\
         echo \"$NOOT_MOX_SOCKET\"\n",
        noot = env!("CARGO_BIN_EXE_noot")
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.starts_with("doubled\nfirst=0\nverify=0\nafter=125\n"), "{stdout}{stderr}");
    assert!(stderr.contains("has stopped"), "{stderr}");
    let socket = stdout.lines().last().expect("socket line");
    let folder = std::path::Path::new(socket).parent().expect("folder").to_path_buf();
    let start = std::time::Instant::now();
    while folder.exists() && start.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!folder.exists(), "the folder goes once the harness is gone");
}

/// A recording's field that was not valid UTF-8 skipped scrubbing
/// altogether: one stray byte in a long output kept every token in it.
#[test]
fn a_token_after_a_stray_byte_is_still_scrubbed() {
    use noot_mox::fixture::Recording;
    use noot_mox::scrubbing::{DefaultScrubber, scrub_recording};
    let token = "ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9";
    let mut stdout = b"log \xff\n".to_vec();
    stdout.extend_from_slice(format!("token {token}\n").as_bytes());
    let mut recording = Recording {
        sequence: 1,
        command: "git".into(),
        args: vec![],
        stdin: None,
        env: Default::default(),
        stdout: noot_mox::Bytes(stdout),
        stderr: noot_mox::Bytes::default(),
        exit_code: 0,
        timestamp: String::new(),
        duration_ms: 0,
        repeatable: false,
        extra: Default::default(),
    };
    let scrubber = DefaultScrubber::new().expect("scrubber");
    let mut review = Vec::new();
    scrub_recording(&scrubber, &Default::default(), &mut recording, &mut review).expect("scrubs");
    let kept = recording.stdout.as_slice();
    assert!(!String::from_utf8_lossy(kept).contains(token));
    assert!(kept.starts_with(b"log \xff\n"), "the stray byte is kept as it was");
    assert_eq!(review.len(), 1);
    assert_eq!(review[0].offset, 12, "offsets count the bytes before the run");
}

/// With `max_journal_entries` set, a passthrough whose journal entry had
/// been dropped by the time its result came back was left out of the
/// fixture.
#[test]
fn a_recording_survives_a_journal_bound_of_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = dir.path().join("f.json");
    let noot = std::path::Path::new(env!("CARGO_BIN_EXE_noot"));
    let shim = noot.with_file_name("noot-shim");
    let mox = noot_mox::Mox::builder()
        .launcher(if shim.exists() { shim } else { noot.to_path_buf() })
        .max_journal_entries(1)
        .build()
        .expect("controller");
    mox.spy("printf").passthrough().record(&fixture);
    mox.stub("true");
    // printf's result comes back after `true` has pushed it out of the journal.
    let out = sh(&mox, "env printf 'a\\n' & true; wait");
    assert!(out.status.success());
    mox.verify().expect("saved");
    let (saved, _) = noot_mox::fixture::Fixture::load(&fixture).expect("fixture");
    assert_eq!(saved.recordings.len(), 1);
    assert_eq!(saved.recordings[0].stdout.lossy(), "a\n");
}

/// A repeatable recording answered every call, so an identical recording
/// after it was never used and reported as never replayed.
#[test]
fn a_repeatable_recording_does_not_starve_an_identical_later_one() {
    use noot_mox::fixture::{Fixture, Recording};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("f.json");
    let recording = |sequence, stdout: &str, repeatable| Recording {
        sequence,
        command: "date".into(),
        args: vec![],
        stdin: None,
        env: Default::default(),
        stdout: stdout.into(),
        stderr: noot_mox::Bytes::default(),
        exit_code: 0,
        timestamp: String::new(),
        duration_ms: 0,
        repeatable,
        extra: Default::default(),
    };
    let mut fixture = Fixture::new("test");
    fixture.recordings = vec![recording(1, "one\n", true), recording(2, "two\n", false)];
    fixture.save(&path).expect("save");
    let mox = mox();
    mox.replay(&path, noot_mox::Mode::Strict).expect("replay");
    let out = sh(&mox, "date; date; date");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one\ntwo\none\n");
    mox.verify().expect("every recording used");
}

/// `kill $pid` of a spied command reached only its shim: the real command
/// ran on as an orphan and verify said its result was lost.
#[test]
fn killing_a_spied_command_stops_the_real_one_too() {
    use std::os::unix::process::ExitStatusExt;
    let mox = mox();
    let spy = mox.spy("sleep").passthrough();
    let mut shim =
        mox.command("sleep").arg("30").stdin(std::process::Stdio::null()).spawn().expect("shim");
    let shim_pid = shim.id() as i32;
    let parent_of = |pid: &str| -> Option<i32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
    };
    let started = std::time::Instant::now();
    let real = loop {
        let found = std::fs::read_dir("/proc")
            .expect("/proc")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.chars().all(|c| c.is_ascii_digit()))
            .find(|pid| parent_of(pid) == Some(shim_pid));
        if let Some(pid) = found {
            break pid;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the real sleep never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    // SAFETY: signalling our own child.
    unsafe { libc_kill(shim_pid, 15) };
    let status = shim.wait().expect("the shim ends");
    assert_eq!(status.signal(), Some(15), "the shim dies of the real command's signal");
    std::thread::sleep(std::time::Duration::from_millis(100));
    let running = std::fs::read_to_string(format!("/proc/{real}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    });
    assert!(!running, "the real sleep outlived its shim");
    spy.assert_called_times(1);
    assert_eq!(spy.last_call().map(|c| c.exit_code), Some(143));
    mox.verify().expect("the result came back");
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, signal: i32) -> i32;
}

/// A spy recorded with `with_env` and replayed with the same `with_env`
/// missed: the injected value was in the recording, not in the live call.
#[test]
fn a_with_env_spy_replays_what_it_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = dir.path().join("f.json");
    {
        let mox = mox();
        mox.spy("printenv").with_env([("GIT_DIR", "/repo/.git")]).passthrough().record(&fixture);
        let out = sh(&mox, "printenv GIT_DIR");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "/repo/.git\n");
        mox.verify().expect("recorded");
    }
    let mox = mox();
    mox.spy("printenv").with_env([("GIT_DIR", "/repo/.git")]).replay(&fixture).expect("loads");
    let out = sh(&mox, "printenv GIT_DIR");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "/repo/.git\n", "{out:?}");
    mox.verify().expect("replayed");
}

/// `noot mox scrub` scrubbed the known fields only: a token under a key
/// this build does not know (kept, as readers keep unknown keys) stayed on
/// disk while the file was reported clean.
#[test]
fn a_secret_under_an_unknown_key_is_scrubbed_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = "ghp_R2d2C3po4Bb8Ewok5Yoda6Luke7Leia8Han9";
    let text = format!(
        "{{\"schema_version\": 1, \"metadata\": {{\"note\": \"{token}\"}}, \"team\": {{\"k\": [\"{token}\"]}}, \"recordings\": [{{\"sequence\": 1, \"command\": \"gh\", \"args\": [], \"exit_code\": 0, \"x_note\": \"{token}\"}}]}}"
    );
    std::fs::write(dir.path().join("f.json"), text).expect("write");
    let first = noot_in(dir.path(), &["mox", "scrub", "f.json"]);
    assert_eq!(first.status.code(), Some(1), "{first:?}");
    assert!(String::from_utf8_lossy(&first.stdout).contains("3 secret(s) redacted"), "{first:?}");
    let saved = std::fs::read_to_string(dir.path().join("f.json")).expect("read");
    assert!(!saved.contains(token), "{saved}");
    assert!(saved.contains("\"team\""), "unknown keys are still kept");
    let second = noot_in(dir.path(), &["mox", "scrub", "f.json"]);
    assert_eq!(second.status.code(), Some(0), "{second:?}");
}

/// `noot mox validate` read every `[` as a glob, so the fixtures the pytest
/// plugin names after parametrized tests (`test_x[1].json`) matched nothing.
#[test]
fn validate_takes_an_existing_path_with_brackets_as_it_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("test_x[1].json"),
        "{\"schema_version\": 1, \"metadata\": {}, \"recordings\": []}",
    )
    .expect("write");
    let out = noot_in(dir.path(), &["mox", "validate", "test_x[1].json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// Recording kept machine-wide variables under the command's prefix (this
/// machine's `GIT_SSL_CAINFO`), so a strict replay failed on any other
/// machine. Only what the caller set or changed is kept.
#[test]
fn inherited_prefix_variables_are_not_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = dir.path().join("git.json");
    let mox = mox();
    mox.spy("git").returns(noot_mox::ok("")).record(&fixture);
    let out = mox
        .command("sh")
        .args(["-c", "GIT_DIR=/repo/.git git status"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("sh runs");
    assert!(out.status.success());
    mox.verify().expect("saved");
    let (saved, _) = noot_mox::fixture::Fixture::load(&fixture).expect("fixture");
    let names: Vec<&str> = saved.recordings[0].env.keys().map(String::as_str).collect();
    assert_eq!(names, ["GIT_DIR"], "only what the caller set");
}

/// The mutated tree was written to `mutants/` at the project root. A user
/// whose tests sit at the root, with no `testpaths`, then got "import file
/// mismatch" from their own `pytest`, which collected the mutated copy of
/// the tests beside the originals. The tree now lives under `.noot/`, a
/// dot-folder pytest never collects from.
#[test]
fn the_mutated_tree_does_not_disturb_the_users_own_pytest() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("pkg")).expect("mkdir");
    std::fs::write(dir.path().join("pkg/__init__.py"), "def add(a, b):\n    return a + b\n")
        .expect("write");
    std::fs::write(
        dir.path().join("test_pkg.py"),
        "from pkg import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    )
    .expect("write");
    let (code, _, stderr) = noot_run(dir.path(), &["run"]);
    assert_eq!(code, Some(0), "{stderr}");
    let pytest = std::process::Command::new("python3")
        .args(["-m", "pytest", "-q"])
        .current_dir(dir.path())
        .env_remove("PYTHONPATH")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("pytest runs");
    let report = String::from_utf8_lossy(&pytest.stdout);
    assert!(pytest.status.success(), "the user's own pytest fails after noot run:\n{report}");
    assert!(report.contains("1 passed"), "only the user's test, once:\n{report}");
}

/// Wrong verdicts and messages of Python mutation testing (issue 13), each
/// on a fixture project under `tests/fixtures/mutate/` with real pytest.
mod python_verdicts {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use super::{mutate_fixture as project, noot_run as noot};

    /// `noot run --runner RUNNER --format json`: id → (status, detail).
    fn verdicts(dir: &Path, runner: &str) -> BTreeMap<String, (String, String)> {
        let (code, stdout, stderr) =
            noot(dir, &["run", "--runner", runner, "--format", "json", "-j", "2"]);
        assert_eq!(code, Some(0), "{runner}: {stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{runner}: one JSON document ({e}):\n{stdout}"));
        report["mutants"]
            .as_array()
            .expect("mutants")
            .iter()
            .map(|m| {
                let text = |key: &str| m[key].as_str().unwrap_or_default().to_owned();
                (text("id"), (text("status"), text("detail")))
            })
            .collect()
    }

    /// The project's own `src/`, as a test that escapes the mutated tree
    /// would name it.
    fn original_src(dir: &Path) -> PathBuf {
        dir.join("src").canonicalize().expect("src")
    }

    /// A mutant that makes `import confpkg` fail while `conftest.py`
    /// imports it: pytest exits 4 with "ImportError while loading conftest"
    /// and noot said `error`. The suite cannot even start under it: killed.
    #[test]
    fn a_mutant_that_breaks_the_import_of_a_conftest_is_killed() {
        for runner in ["subprocess", "inprocess"] {
            let dir = project("conftestimport");
            let found = verdicts(dir.path(), runner);
            assert_eq!(found.len(), 4, "{runner}: {found:?}");
            for (id, (status, detail)) in &found {
                assert_eq!(status, "killed", "{runner}: {id}: {detail}");
            }
            let (_, detail) = &found["confpkg.divisor__noot_2"];
            assert!(detail.contains("conftest"), "{runner}: {detail}");
            assert!(detail.contains("ZeroDivisionError"), "{runner}: {detail}");
        }
    }

    /// A mutant of the function a parametrisation is built from changes
    /// which tests exist: the selected `test_…[2]` is "not found" (pytest
    /// exit 4), which was an `error`. The suite noticed: killed.
    #[test]
    fn a_mutant_that_changes_which_tests_exist_is_killed() {
        for runner in ["subprocess", "inprocess"] {
            let dir = project("paramcases");
            let found = verdicts(dir.path(), runner);
            let (status, detail) = &found["parampkg.cases__noot_3"];
            assert_eq!(status, "killed", "{runner}: {detail}");
            assert!(detail.contains("not found"), "{runner}: {detail}");
            let errors: Vec<_> = found.iter().filter(|(_, (s, _))| s == "error").collect();
            assert!(errors.is_empty(), "{runner}: {errors:?}");
        }
    }

    /// A test file that puts the project's own `src/` first on `sys.path`
    /// imports `beta` from there; the stats run said nothing as long as
    /// some other module was reached, and beta's mutants went untested.
    #[test]
    fn the_stats_run_stops_when_any_mutated_module_escaped() {
        let dir = project("pathescape");
        let src = original_src(dir.path());
        std::fs::write(
            dir.path().join("tests/test_beta.py"),
            format!(
                "import sys\nsys.path.insert(0, {:?})\nimport beta  # noqa: E402\n\n\ndef test_dec():\n    assert beta.dec(3) == 2\n",
                src.display().to_string()
            ),
        )
        .expect("write");
        let (code, stdout, stderr) = noot(dir.path(), &["run"]);
        assert_eq!(code, Some(2), "{stdout}\n{stderr}");
        let path = src.join("beta").join("__init__.py");
        assert!(stderr.contains(&format!("beta was imported from {}", path.display())), "{stderr}");
        assert!(!stderr.contains("alpha was imported"), "alpha stayed in the tree: {stderr}");
        assert!(stderr.contains("sys.path"), "the fix: {stderr}");
    }

    /// The same escape, hidden from the stats run by import order: there
    /// `test_alpha.py` imports `beta` from the mutated tree first, but a
    /// mutant of `beta` runs `test_beta.py` alone, which imports the
    /// original. Under `subprocess` every such mutant "survived" silently.
    #[test]
    fn a_mutant_whose_tests_import_the_original_module_is_an_error() {
        for runner in ["subprocess", "inprocess"] {
            let dir = project("pathescape");
            let src = original_src(dir.path());
            std::fs::write(
                dir.path().join("tests/test_alpha.py"),
                "import alpha\nimport beta  # noqa: F401\n\n\ndef test_inc():\n    assert alpha.inc(1) == 2\n",
            )
            .expect("write");
            std::fs::write(
                dir.path().join("tests/test_beta.py"),
                format!(
                    "import sys\nsys.path.insert(0, {:?})\nimport beta  # noqa: E402\n\n\ndef test_dec():\n    assert beta.dec(3) == 2\n",
                    src.display().to_string()
                ),
            )
            .expect("write");
            let found = verdicts(dir.path(), runner);
            let beta: Vec<_> = found.iter().filter(|(id, _)| id.starts_with("beta.")).collect();
            assert!(!beta.is_empty(), "{runner}: {found:?}");
            for (id, (status, detail)) in beta {
                assert_ne!(status, "survived", "{runner}: {id}: {detail}");
                if runner == "subprocess" {
                    // Its test process never saw the mutant: no verdict.
                    assert_eq!(status, "error", "{id}: {detail}");
                    let path = src.join("beta").join("__init__.py");
                    assert!(detail.contains(&format!("beta from {}", path.display())), "{detail}");
                    assert!(detail.contains("sys.path"), "the fix: {detail}");
                }
            }
        }
    }

    /// A test that, on a path only a mutant takes, drops the mutated module
    /// and imports the original from the project (a "reference copy"
    /// fallback): under `inprocess` the check in each child skipped every
    /// module name its worker had already seen, so the re-import under the
    /// same name passed unnoticed and the mutant "survived" although the
    /// test judged the original. The stats run never takes that path.
    #[test]
    fn a_test_that_imports_the_original_again_while_it_runs_is_an_error() {
        // By an import statement, and through importlib, which the import
        // audit event does not announce (a helper's review found it).
        let imports = ["import beta as original", "original = importlib.import_module('beta')"];
        for (runner, import) in
            [("subprocess", imports[0]), ("inprocess", imports[0]), ("inprocess", imports[1])]
        {
            let dir = project("pathescape");
            let src = original_src(dir.path());
            std::fs::write(
                dir.path().join("tests/test_beta.py"),
                format!(
                    "import importlib\nimport sys\n\nimport beta\n\n\ndef test_dec():\n    \
                     if beta.dec(3) == 2:\n        return\n    \
                     sys.modules.pop('beta', None)\n    \
                     sys.path.insert(0, {:?})\n    \
                     {import}\n    \
                     assert original.dec(3) == 2\n",
                    src.display().to_string()
                ),
            )
            .expect("write");
            let found = verdicts(dir.path(), runner);
            let beta: Vec<_> = found.iter().filter(|(id, _)| id.starts_with("beta.")).collect();
            assert!(!beta.is_empty(), "{runner}: {found:?}");
            for (id, (status, detail)) in beta {
                assert_eq!(status, "error", "{runner}: {id}: {detail}");
                assert!(detail.contains("beta"), "{runner}: {id}: {detail}");
            }
        }
    }

    /// A package with nothing to mutate stopped with "the tests imported
    /// the original package instead of the mutated copy".
    #[test]
    fn a_package_without_mutants_says_so() {
        let dir = project("unreached");
        std::fs::write(dir.path().join("src/lonely/__init__.py"), "NAME = \"lonely\"\n")
            .expect("write");
        let (code, _, stderr) = noot(dir.path(), &["run"]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("0 mutants"), "{stderr}");
        assert!(stderr.contains("pragma"), "what to check: {stderr}");
        assert!(!stderr.contains("imported the original"), "{stderr}");
    }

    /// Functions no test calls stopped with the same wrong cause.
    #[test]
    fn functions_no_test_reaches_are_named_as_such() {
        let dir = project("unreached");
        let (code, _, stderr) = noot(dir.path(), &["run"]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains("2 mutants in 2 functions, and no test reaches any of them"),
            "{stderr}"
        );
        assert!(!stderr.contains("imported the original"), "{stderr}");
        assert!(!stderr.contains("was imported from"), "nothing escaped: {stderr}");
    }

    /// A module the tests import does not parse: the run ended in "pytest
    /// collected no tests", hiding pytest's own collection error.
    #[test]
    fn a_syntax_error_in_the_users_code_shows_pytests_collection_error() {
        let dir = project("syntaxerr");
        let (code, _, stderr) = noot(dir.path(), &["run"]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(!stderr.contains("collected no tests"), "{stderr}");
        assert!(stderr.contains("without any mutant"), "{stderr}");
        assert!(stderr.contains("SyntaxError"), "pytest's own error: {stderr}");
        assert!(stderr.contains("helper.py"), "the file: {stderr}");
    }
}

/// Selection, keys and `--debug` of `noot run` (issue 13), on the `calc`
/// fixture with real pytest.
mod mutation_runs {
    fn calc() -> tempfile::TempDir {
        super::mutate_fixture("calc")
    }

    use super::noot_run as noot;

    fn summary(stdout: &str) -> serde_json::Value {
        let report: serde_json::Value = serde_json::from_str(stdout).expect("one JSON document");
        report["summary"].clone()
    }

    /// Under heavy load (the machine running four builds), a mutant that
    /// prints 5 MB and passes was called `timeout` by the subprocess
    /// runner: it passed the wall-clock deadline, its tests alone were
    /// quick, and a wall-clock timeout stood on that comparison. Load
    /// slows a run without making it endless: a wall-clock timeout is now
    /// confirmed by running the mutant again with generous limits; only a
    /// CPU-time timeout (the test process's own CPU, which load does not
    /// change) stands on the comparison.
    #[test]
    fn a_mutant_slow_only_once_is_judged_again_not_called_a_timeout() {
        for runner in ["subprocess", "inprocess"] {
            // The mutant `is` → `is not` sleeps past the deadline the
            // first time only, as a loaded machine would make it.
            let dir = super::python_project(
                "import os, time\n\n\ndef slow_once(flag=False):\n    if flag is True:\n        \
                 marker = os.path.join(os.environ['NOOT_PROJECT_DIR'], '.slow-once')\n        \
                 if not os.path.exists(marker):\n            open(marker, 'w').close()\n            \
                 time.sleep(6)\n    return 1\n",
                "from pkg import slow_once\n\n\ndef test_slow_once():\n    assert slow_once() >= 1\n",
            );
            std::fs::write(dir.path().join("noot.toml"), "[mutate]\ntimeout_floor = 1\n")
                .expect("write");
            let (code, stdout, stderr) =
                noot(dir.path(), &["run", "--runner", runner, "--format", "json"]);
            assert_eq!(code, Some(0), "{stderr}");
            let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
            let mutants = report["mutants"].as_array().expect("mutants");
            let slow = mutants
                .iter()
                .find(|m| m["replacement"].as_str() == Some("is not"))
                .unwrap_or_else(|| panic!("no `is not` mutant: {report}"));
            assert_eq!(slow["status"], "survived", "{runner}: {slow}");
        }
    }

    /// After `noot status --forget runner`, a run that reused every result
    /// said `runner: auto` and nothing else: no runner was chosen, and the
    /// summary did not say why.
    #[test]
    fn a_run_that_needed_no_runner_says_why_the_auto_runner_was_not_decided() {
        let dir = calc();
        let (code, _, stderr) = noot(dir.path(), &["run", "-j", "2"]);
        assert!(matches!(code, Some(0 | 1)), "{stderr}");
        let (code, _, stderr) = noot(dir.path(), &["status", "--forget", "runner"]);
        assert_eq!(code, Some(0), "{stderr}");
        let (code, stdout, stderr) = noot(dir.path(), &["run", "--format", "json"]);
        assert!(matches!(code, Some(0 | 1)), "{stderr}");
        let summary = summary(&stdout);
        assert_eq!(summary["tested"], 0, "{summary}");
        let reason = summary["runner_reason"].as_str().unwrap_or_default();
        assert!(reason.starts_with("not decided: no mutant had to run"), "{summary}");
        // A Python project records no build decision: forgetting one says
        // so instead of printing the status as if something went.
        let (code, _, stderr) = noot(dir.path(), &["status", "--forget", "build"]);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stderr.contains("nothing to forget: no `build` decision"), "{stderr}");
    }

    /// A project whose pytest configuration sets `testpaths` to a folder
    /// that does not exist, with no test file elsewhere, stopped after the
    /// stats run with "pytest collected no tests (test paths: )": no file,
    /// no line, no fix.
    #[test]
    fn testpaths_naming_a_missing_folder_stop_at_their_line() {
        let dir = super::python_project("def f():\n    return 1\n", "");
        std::fs::remove_dir_all(dir.path().join("tests")).expect("rm tests");
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[project]\nname = \"pkg\"\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n",
        )
        .expect("write");
        let (code, _, stderr) = noot(dir.path(), &["run"]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains("pyproject.toml:5:1: pytest's testpaths names \"tests\""),
            "{stderr}"
        );
        assert!(stderr.contains("help: create the folder"), "{stderr}");
        assert!(!dir.path().join(".noot").exists(), "nothing written");
    }

    /// `noot show ID --output` of a survivor under the `inprocess` runner
    /// said no output was kept: pytest's capture, when a test's phase ended,
    /// put back the worker's own stdout and stderr, which it had saved when
    /// the worker started, so whatever the child wrote after its first test
    /// went to the worker's log; and a child's session never ends, so
    /// pytest printed no summary either.
    #[test]
    fn a_survivors_output_under_the_inprocess_runner_says_what_its_tests_came_to() {
        let dir = super::python_project(
            "def clamp(x):\n    return max(x, 0)\n",
            "from pkg import clamp\n\n\ndef test_clamp():\n    assert clamp(5) == 5\n",
        );
        let (code, stdout, stderr) =
            noot(dir.path(), &["run", "--runner", "inprocess", "--format", "json"]);
        assert_eq!(code, Some(0), "{stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
        let survivor = report["mutants"]
            .as_array()
            .expect("mutants")
            .iter()
            .find(|m| m["status"] == "survived")
            .unwrap_or_else(|| panic!("a survivor (0 → 1): {report}"));
        let id = survivor["id"].as_str().expect("id");
        let (code, stdout, stderr) = noot(dir.path(), &["show", id, "--output"]);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stdout.contains("PASSED tests/test_pkg.py::test_clamp"), "{stdout}");
    }

    /// A mutant that sends one test into a loop and makes another fail was
    /// `timeout` when the looping test ran first and `killed` when the
    /// failing one did, and the order follows measured times and the tests
    /// that killed the mutants judged just before. The tests after the one
    /// that reached its limit now run on; a failure among them kills.
    #[test]
    fn a_test_that_fails_after_another_looped_kills_the_python_mutant() {
        for runner in ["subprocess", "inprocess"] {
            // Any mutant of `step` but one passes the quickest test, sends
            // the countdown (second by its time) into a loop and fails the
            // slowest, exact test.
            let dir = super::python_project(
                "def step(n):\n    return n - 1\n",
                "import time\n\nfrom pkg import step\n\n\ndef test_a_number():\n    \
                 assert isinstance(step(1), int)\n\n\ndef test_countdown():\n    \
                 time.sleep(0.02)\n    n = 5\n    while n:\n        n = step(n)\n\n\n\
                 def test_step():\n    time.sleep(0.1)\n    assert step(3) == 2\n",
            );
            let (code, stdout, stderr) =
                noot(dir.path(), &["run", "--runner", runner, "--format", "json", "-j", "1"]);
            assert_eq!(code, Some(0), "{stderr}");
            let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
            let mutants = report["mutants"].as_array().expect("mutants");
            assert!(!mutants.is_empty(), "{report}");
            for mutant in mutants {
                assert_eq!(mutant["status"], "killed", "{runner}: {mutant}");
            }
            // The first mutant judged met the loop before the failure.
            assert!(
                mutants.iter().any(|m| m["detail"].as_str().is_some_and(
                    |d| d.contains("after tests/test_pkg.py::test_countdown reached its")
                )),
                "{runner}: {report}"
            );
        }
    }

    /// `noot run` started inside `.noot/mutants/` found the copy of the
    /// project's config there, took the mutated tree for a project and
    /// mutated it again into `.noot/mutants/.noot/mutants/`.
    #[test]
    fn a_run_inside_the_mutated_tree_is_refused_and_names_the_project() {
        let dir = calc();
        let (code, _, stderr) = noot(dir.path(), &["run", "--list"]);
        assert_eq!(code, Some(0), "{stderr}");
        let tree = dir.path().join(".noot/mutants");
        let (code, _, stderr) = noot(&tree, &["run", "--list"]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("mutated copy"), "{stderr}");
        let project = dir.path().canonicalize().expect("canonical");
        assert!(stderr.contains(&project.display().to_string()), "{stderr}");
        assert!(!tree.join(".noot/mutants").exists(), "the tree was mutated again");
    }

    /// An import-time mutant stored every test id of the suite with its
    /// result, and a survivor up to 64 KiB of output: `results.jsonl`
    /// reached 8 MB for 650 mutants. Now the result names the calling
    /// tests and says the whole suite ran; it keeps the end of the output,
    /// and `noot show ID --output` prints the whole.
    #[test]
    fn results_name_callers_not_the_whole_suite_and_keep_the_end_of_the_output() {
        let dir = super::mutate_fixture("imptime");
        let (code, _, stderr) =
            noot(dir.path(), &["run", "--runner", "subprocess", "imptime.table.limit"]);
        assert_eq!(code, Some(0), "{stderr}");
        let stored =
            std::fs::read_to_string(dir.path().join(".noot/mutate/results.json")).expect("results");
        let stored: serde_json::Value = serde_json::from_str(&stored).expect("json");
        let survivor = &stored["results"]["imptime.table.limit__noot_5"];
        assert_eq!(survivor["status"], "survived", "{survivor}");
        assert_eq!(survivor["tests"], serde_json::json!(["tests/test_table.py::test_limit"]));
        assert_eq!(survivor["whole_suite"], true);
        let (code, output, stderr) =
            noot(dir.path(), &["show", "imptime.table.limit__noot_5", "--output"]);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(output.contains("5 passed"), "pytest's own output: {output}");
        let (code, _, stderr) =
            noot(dir.path(), &["show", "imptime.table.limit__noot_1", "--output"]);
        assert_eq!(code, Some(2), "a killed mutant keeps no output: {stderr}");
        assert!(stderr.contains("no output kept"), "{stderr}");
    }

    /// `noot run FILTER --fail-under 90` with a FILTER that matched
    /// nothing passed a CI gate on "0 mutants".
    #[test]
    fn a_filter_that_matches_nothing_stops_with_the_closest_ids() {
        let dir = calc();
        let (code, stdout, stderr) =
            noot(dir.path(), &["run", "calc.core.addd", "--fail-under", "90"]);
        assert_eq!(code, Some(2), "{stdout}{stderr}");
        assert!(stderr.contains("no mutant matches `calc.core.addd`"), "{stderr}");
        assert!(stderr.contains("calc.core.add"), "the closest ids: {stderr}");
        assert!(stdout.is_empty(), "no summary: {stdout}");
        let (code, _, stderr) = noot(dir.path(), &["run", "--list", "nothing.here"]);
        assert_eq!(code, Some(2), "{stderr}");
    }

    /// `noot run --debug ID` printed no command when the result was reused.
    #[test]
    fn debug_prints_the_repro_of_a_reused_result_too() {
        let dir = calc();
        let (code, _, stderr) = noot(dir.path(), &["run", "calc.core.add"]);
        assert_eq!(code, Some(0), "{stderr}");
        let (code, stdout, stderr) =
            noot(dir.path(), &["run", "--debug", "calc.core.add__noot_1", "--format", "json"]);
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(summary(&stdout)["reused"], 1);
        assert!(stderr.contains("debug: calc.core.add__noot_1 (result reused): "), "{stderr}");
        assert!(stderr.contains("MUTANT_UNDER_TEST=calc.core.add__noot_1"), "{stderr}");
    }

    /// Keys joined the selected tests fastest first, an order measured anew
    /// by every stats run, and a comment anywhere in a module changed the
    /// key of all its mutants. Now a comment outside a function changes no
    /// key, one inside a function only that function's.
    #[test]
    fn comments_re_run_only_the_function_they_are_in() {
        let dir = calc();
        let (code, stdout, stderr) = noot(dir.path(), &["run", "--format", "json"]);
        assert_eq!(code, Some(0), "{stderr}");
        let total = summary(&stdout)["total"].as_u64().expect("total");
        let core = dir.path().join("src/calc/core.py");
        let text = std::fs::read_to_string(&core).expect("read");
        std::fs::write(&core, format!("# A note at the top.\n{text}\n# And one at the end.\n"))
            .expect("write");
        let (_, stdout, stderr) = noot(dir.path(), &["run", "--format", "json"]);
        assert_eq!(summary(&stdout)["tested"], 0, "a comment between functions: {stderr}");
        assert_eq!(summary(&stdout)["reused"], total);
        let text = std::fs::read_to_string(&core).expect("read");
        std::fs::write(&core, text.replace("    return a + b\n", "    # why\n    return a + b\n"))
            .expect("write");
        let (_, stdout, _) =
            noot(dir.path(), &["run", "--format", "json", "--runner", "subprocess"]);
        let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
        let tested: Vec<&str> = report["mutants"]
            .as_array()
            .expect("mutants")
            .iter()
            .filter(|m| m["reused"] == false && m["status"] != "no_tests")
            .filter_map(|m| m["function"].as_str())
            .collect();
        assert!(!tested.is_empty() && tested.iter().all(|f| *f == "calc.core.add"), "{tested:?}");
    }
}

/// A string literal's mutants are recorded at the literal's opening quote,
/// while their original text is its content. `noot show` looked for the
/// content at the quote, said the file had "changed since the last
/// `noot run`" for every string mutant, and the HTML viewer and the JUnit
/// diff marked or missed the wrong span.
#[test]
fn a_string_mutant_is_shown_as_its_diff() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("greet")).expect("mkdir");
    std::fs::write(dir.path().join("greet/__init__.py"), "def hello():\n    return 'Hi'\n")
        .expect("write");
    std::fs::write(
        dir.path().join("test_greet.py"),
        "from greet import hello\n\n\ndef test_hello():\n    assert hello()\n",
    )
    .expect("write");
    let noot = |args: &[&str]| noot_command(dir.path(), args).output().expect("noot runs");
    let run = noot(&["run"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let show = noot(&["show", "greet.hello__noot_1"]);
    let stdout = String::from_utf8_lossy(&show.stdout);
    assert!(show.status.success(), "{}", String::from_utf8_lossy(&show.stderr));
    assert!(stdout.contains("-    return 'Hi'\n+    return 'XXHiXX'\n"), "{stdout}");
}

/// Reliability of `noot run` (issue 14): concurrency, output, signals and
/// escaped processes, each on a small project written by the test.
mod run_reliability {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use super::python_project as project;

    use super::{noot_command as command, noot_run as noot};

    const ADD: &str = "def add(a, b):\n    return a + b\n";

    /// Two `noot run` in one project shared the runners' marker files and
    /// turned survivors into errors, both exiting 0. The second now stops
    /// at once, naming the first one's pid.
    #[test]
    fn a_second_run_in_the_same_project_stops_and_names_the_first() {
        let dir =
            project(ADD, "from pkg import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n");
        std::fs::create_dir_all(dir.path().join(".noot")).expect("mkdir");
        // Another run, as far as the lock can tell: flock held, pid written.
        let mut holder = std::process::Command::new("python3")
            .args([
                "-c",
                "import fcntl, os, sys, time\n\
                 f = open(sys.argv[1], 'a+')\n\
                 fcntl.flock(f, fcntl.LOCK_EX)\n\
                 f.seek(0); f.truncate(); f.write(str(os.getpid())); f.flush()\n\
                 print('locked', flush=True)\n\
                 time.sleep(60)\n",
                &dir.path().join(".noot/run.lock").display().to_string(),
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        let stdout = holder.stdout.take().expect("stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("read");
        assert_eq!(line.trim(), "locked");
        let (code, stdout, stderr) = noot(dir.path(), &["run"]);
        let _ = holder.kill();
        let _ = holder.wait();
        assert_eq!(code, Some(2), "{stdout}{stderr}");
        assert!(stderr.contains(&format!("another noot run (pid {})", holder.id())), "{stderr}");
        // Once it is gone, a run goes ahead.
        let (code, _, stderr) = noot(dir.path(), &["run"]);
        assert_eq!(code, Some(0), "{stderr}");
    }

    /// A crash in the middle of appending a result left a torn last line;
    /// the next result was appended onto it and lost with it.
    #[test]
    fn a_result_after_a_torn_line_starts_a_line_of_its_own() {
        use noot::engine::ports::RealFs;
        use noot::mutate::results::{MutantResult, ResultStore, Status};
        let dir = tempfile::tempdir().expect("tempdir");
        let fs = RealFs;
        let store = ResultStore::new(&fs, dir.path());
        let result = |id: &str| MutantResult {
            id: id.into(),
            key: "k".into(),
            status: Status::Killed,
            duration_ms: 1,
            tests: Vec::new(),
            whole_suite: false,
            exit_code: None,
            detail: String::new(),
            output: String::new(),
        };
        store.append(&result("m.a__noot_1")).expect("append");
        // kill -9 mid-write: half a line, no newline.
        let journal = dir.path().join("results.jsonl");
        let mut torn = std::fs::read(&journal).expect("read");
        torn.extend_from_slice(b"{\"schema_version\":1,\"id\":\"m.b__no");
        std::fs::write(&journal, torn).expect("write");
        store.append(&result("m.c__noot_1")).expect("append");
        let loaded = store.load().expect("load");
        let ids: Vec<&str> = loaded.results.keys().map(String::as_str).collect();
        assert_eq!(ids, ["m.a__noot_1", "m.c__noot_1"]);
    }

    /// Under `inprocess`, a test that printed 512 MB left a 512 MB file
    /// behind, which noot then read whole. The worker now keeps the last
    /// 64 KiB while the child prints, and noot reads no more.
    #[test]
    fn output_without_end_is_capped_in_memory_and_on_disk() {
        // Past pytest's capture, straight to the test process's stdout.
        let tests = "import os\nfrom pkg import add\n\n\ndef test_add(capfd):\n    \
                     chunk = b'x' * (1 << 20)\n    with capfd.disabled():\n        \
                     for _ in range(300):\n            os.write(1, chunk)\n    \
                     assert add(1, 2) is not None\n";
        let dir = project(ADD, tests);
        let (code, stdout, stderr) =
            noot(dir.path(), &["run", "--runner", "inprocess", "--format", "json"]);
        assert_eq!(code, Some(0), "{stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
        assert!(report["summary"]["survived"].as_u64().unwrap_or(0) >= 1, "{report}");
        let mut biggest = 0;
        for folder in [".noot/mutants/.noot/runner", ".noot/mutate/output", ".noot/mutate"] {
            for entry in std::fs::read_dir(dir.path().join(folder)).into_iter().flatten() {
                let meta = entry.expect("entry").metadata().expect("meta");
                if meta.is_file() {
                    biggest = biggest.max(meta.len());
                }
            }
        }
        assert!(biggest < 1 << 20, "a file of {biggest} bytes was left");
    }

    /// A grandchild that calls `setsid` and keeps the result pipe open
    /// cost 2 s per mutant under `inprocess` (the worker waited for an end
    /// of file).
    #[test]
    fn a_setsid_grandchild_holding_the_pipes_costs_no_time() {
        let tests = "import subprocess\nfrom pkg import add\n\n\ndef test_add():\n    \
                     subprocess.Popen(['setsid', 'sleep', '30'], close_fds=False, pass_fds=(3, 4, 5, 6, 7, 8, 9))\n    \
                     assert add(1, 2) > 0\n";
        let dir = project(ADD, tests);
        let (code, stdout, stderr) =
            noot(dir.path(), &["run", "--runner", "inprocess", "--format", "json"]);
        assert_eq!(code, Some(0), "{stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
        for mutant in report["mutants"].as_array().expect("mutants") {
            let ms = mutant["duration_ms"].as_u64().unwrap_or(0);
            assert!(ms < 1500, "{}: {ms} ms", mutant["id"]);
        }
        let _ = std::process::Command::new("pkill").args(["-f", "sleep 30"]).status();
    }

    /// Ctrl-C during the stats run was ignored until the suite finished
    /// (17.6 s for a 20 s test); a second one orphaned the stats pytest.
    #[test]
    fn ctrl_c_during_the_stats_run_stops_it_at_once() {
        let tests = "import time\nfrom pkg import add\n\n\ndef test_add():\n    \
                     time.sleep(20)\n    assert add(1, 2) == 3\n";
        let dir = project(ADD, tests);
        let mut child = command(dir.path(), &["run", "--runner", "subprocess"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("noot");
        // Until the stats run's pytest is running.
        let deadline = Instant::now() + Duration::from_secs(30);
        // (Test processes run in .noot/mutants/; noot itself in the project.)
        let tree = dir.path().join(".noot");
        while processes_in(&tree).is_empty() {
            assert!(Instant::now() < deadline, "the stats run never started");
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(500));
        // SAFETY: kill(2) on the child's pid with SIGINT.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGINT);
        }
        let sent = Instant::now();
        let status = child.wait().expect("wait");
        let took = sent.elapsed();
        assert_eq!(status.code(), Some(130));
        assert!(took < Duration::from_secs(2), "took {took:?}");
        std::thread::sleep(Duration::from_millis(300));
        let left = processes_in(&tree);
        assert!(left.is_empty(), "left running: {left:?}");
    }

    /// Processes (other than this test) whose working directory is inside
    /// `dir`: what a run in `dir` started.
    fn processes_in(dir: &Path) -> Vec<String> {
        let Ok(dir) = dir.canonicalize() else { return Vec::new() };
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let cwd = std::fs::read_link(entry.path().join("cwd"));
            if cwd.is_ok_and(|cwd| cwd.starts_with(&dir)) {
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                found.push(String::from_utf8_lossy(&cmdline).replace('\0', " "));
            }
        }
        found
    }
}

/// `noot scrub` over hostile trees: symlinked folders, loops, links given
/// to `--in-place`.
mod scrub_links;

/// `noot experiment run` killed or interrupted mid-call.
mod experiment_kills;

/// Kills and signals of `noot run`: nothing it started outlives it.
mod kills;

/// A fork bomb in a mutant meets the run's bound on processes.
mod fork_bomb;

/// `noot plugins check` builds each plugin with the project's options.
mod plugins_check;

#[path = "../common/labels.rs"]
mod labels;

/// The Rust analyser's reading of function modifiers.
mod rust_analysis;

/// Rust runs against what `cargo test` does.
mod rust_runs;
