//! The shim's side: what `noot-shim` does when the code under test runs a
//! doubled command.
//!
//! It reads its command from `argv[0]` (or `--as NAME`), its stdin when
//! that is not a terminal, and its environment; sends them to the
//! controller named by `NOOT_MOX_SOCKET`; and applies the reply. It never
//! hangs: connecting retries with backoff for `NOOT_MOX_TIMEOUT` seconds
//! (default 5), and a controller that is gone (or dies mid-call) gives one
//! line on stderr and exit code 125. A passthrough runs the real command
//! from the original `PATH`, streams its output to the caller while keeping
//! a capped copy, and reports the result back for the journal.

use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::bytes::Bytes;
use crate::protocol::{
    DEFAULT_TIMEOUT_SECS, EXIT_CONTROLLER_UNREACHABLE, EXIT_NOT_FOUND, Invocation,
    PassthroughResult, Reply, ReplyEnvelope, Request, SOCKET_ENV, STDIN_ENV, TIMEOUT_ENV,
    WireError, receive, request, send,
};

/// How much of a passthrough's stdout and of its stderr the journal keeps
/// (the caller gets everything).
pub const PASSTHROUGH_CAPTURE_BYTES: usize = 64 * 1024 * 1024;

/// Runs the shim with `args` (`argv[0]` first) and returns its exit code.
pub fn run(args: Vec<OsString>) -> i32 {
    match shim(args) {
        Ok(code) => code,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "noot-shim: {message}");
            EXIT_CONTROLLER_UNREACHABLE
        }
    }
}

fn command_and_args(mut args: Vec<OsString>) -> Result<(String, Vec<OsString>), String> {
    if args.get(1).is_some_and(|a| a == "--as") {
        let name = args.get(2).ok_or("--as needs a command name")?.to_string_lossy().into_owned();
        return Ok((name, args.split_off(3)));
    }
    let argv0 = args.first().cloned().unwrap_or_default();
    let name =
        Path::new(&argv0).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let rest = if args.is_empty() { Vec::new() } else { args.split_off(1) };
    Ok((name, rest))
}

fn timeout() -> Result<Duration, String> {
    match std::env::var(TIMEOUT_ENV) {
        Ok(text) if !text.trim().is_empty() => match text.trim().parse::<f64>() {
            Ok(secs) if secs.is_finite() && secs > 0.0 => Ok(Duration::from_secs_f64(secs)),
            _ => Err(format!("{TIMEOUT_ENV}={text} is not a positive number of seconds")),
        },
        _ => Ok(Duration::from_secs_f64(DEFAULT_TIMEOUT_SECS)),
    }
}

/// Connects, retrying with backoff until `deadline`.
fn connect(socket: &Path, deadline: Instant) -> Result<UnixStream, String> {
    let mut pause = Duration::from_millis(2);
    loop {
        match UnixStream::connect(socket) {
            Ok(stream) => return Ok(stream),
            Err(e) if Instant::now() + pause >= deadline => {
                return Err(format!(
                    "cannot reach the noot mox controller at {}: {e} (gave up after {TIMEOUT_ENV} seconds; is the test or `noot mox serve` still running?)",
                    socket.display()
                ));
            }
            Err(_) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
        }
    }
}

/// Sends `message` to the controller at `socket` (retrying the connection
/// until `deadline`) and returns its reply.
pub fn exchange(socket: &Path, deadline: Instant, message: Request) -> Result<Reply, String> {
    let mut stream = connect(socket, deadline)?;
    send(&mut stream, &request(message))
        .map_err(|e| format!("cannot send to the controller: {e}"))?;
    match receive::<ReplyEnvelope>(&mut stream) {
        Ok(envelope) => Ok(envelope.reply),
        Err(WireError::Empty) => Err(format!(
            "the noot mox controller at {} went away before answering",
            socket.display()
        )),
        Err(e) => Err(format!("bad reply from the controller: {e}")),
    }
}

fn shim(args: Vec<OsString>) -> Result<i32, String> {
    let (command, rest) = command_and_args(args)?;
    let socket = std::env::var_os(SOCKET_ENV).filter(|s| !s.is_empty()).ok_or_else(|| {
        format!("{SOCKET_ENV} is not set: `{command}` is a noot mox shim and runs only under a controller")
    })?;
    let socket = PathBuf::from(socket);
    let deadline = Instant::now() + timeout()?;
    let stdin = read_stdin()?;
    let invocation = Invocation {
        command: command.clone(),
        args: rest.iter().map(|a| Bytes(a.as_encoded_bytes().to_vec())).collect(),
        stdin: stdin.clone().map(Bytes),
        env: std::env::vars_os()
            .map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned()))
            .collect(),
        cwd: std::env::current_dir().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default(),
        pid: std::process::id(),
    };
    match exchange(&socket, deadline, Request::Invoke(invocation))? {
        Reply::Respond(response) => {
            write_all(&mut std::io::stdout(), response.stdout.as_slice());
            write_all(&mut std::io::stderr(), response.stderr.as_slice());
            Ok(response.exit_code)
        }
        Reply::Error { message, exit_code } => {
            let _ = writeln!(std::io::stderr(), "{message}");
            Ok(exit_code)
        }
        Reply::Passthrough { id, lookup_path, env } => {
            let shim_dir = socket.parent().map(Path::to_path_buf).unwrap_or_default();
            let result = passthrough(&command, &rest, stdin, &lookup_path, &shim_dir, &env, id);
            let code = result.exit_code;
            // The caller already has the output; a controller gone now only
            // loses the journal entry, which verify reports.
            let report_deadline = Instant::now() + timeout()?;
            exchange(&socket, report_deadline, Request::PassthroughResult(result))?;
            Ok(code)
        }
        other => Err(format!("unexpected reply from the controller: {other:?}")),
    }
}

fn write_all(out: &mut dyn Write, bytes: &[u8]) {
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// Reads all of stdin, unless it is a terminal or `NOOT_MOX_STDIN=ignore`
/// (for code that runs a doubled command with an inherited stdin that never
/// closes: the shim would wait for its end, as `cat` would).
fn read_stdin() -> Result<Option<Vec<u8>>, String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() || std::env::var_os(STDIN_ENV).is_some_and(|v| v == "ignore") {
        return Ok(None);
    }
    let mut buffer = Vec::new();
    match stdin.lock().take(crate::protocol::MAX_MESSAGE_BYTES / 2).read_to_end(&mut buffer) {
        Ok(_) => Ok(Some(buffer)),
        // A closed descriptor 0: no stdin at all.
        Err(e) if e.raw_os_error() == Some(libc::EBADF) => Ok(None),
        Err(e) => Err(format!("cannot read stdin: {e}")),
    }
}

/// Finds `command` on `lookup_path`, skipping the shim folder.
pub fn find_real(command: &str, lookup_path: &str, shim_dir: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(lookup_path)
        .filter(|dir| dir != shim_dir && !dir.as_os_str().is_empty())
        .map(|dir| dir.join(command))
        .find(|p| p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// Copies `from` to `to` as it arrives, keeping the first `cap` bytes.
fn tee(mut from: impl Read, mut to: impl Write, cap: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                let _ = to.write_all(&chunk[..n]);
                let _ = to.flush();
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..n.min(room)]);
                truncated |= n > room;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    (kept, truncated)
}

fn passthrough(
    command: &str,
    args: &[OsString],
    stdin: Option<Vec<u8>>,
    lookup_path: &str,
    shim_dir: &Path,
    env: &std::collections::BTreeMap<String, String>,
    id: u64,
) -> PassthroughResult {
    let started = Instant::now();
    let fail = |code: i32, message: String| {
        let _ = writeln!(std::io::stderr(), "{message}");
        PassthroughResult {
            id,
            stdout: Bytes::default(),
            stderr: Bytes::from(format!("{message}\n")),
            exit_code: code,
            duration_ms: started.elapsed().as_millis() as u64,
            truncated: false,
        }
    };
    let Some(real) = find_real(command, lookup_path, shim_dir) else {
        return fail(
            EXIT_NOT_FOUND,
            format!("noot-shim: {command}: command not found on the original PATH"),
        );
    };
    let mut child = Command::new(&real);
    child.args(args).envs(env).stdout(Stdio::piped()).stderr(Stdio::piped());
    // The real command finds its own helpers on the original PATH, not on ours.
    child.env("PATH", lookup_path);
    child.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::inherit() });
    let mut child = match child.spawn() {
        Ok(child) => child,
        Err(e) => {
            return fail(126, format!("noot-shim: {command}: cannot run {}: {e}", real.display()));
        }
    };
    let feeder = match (stdin, child.stdin.take()) {
        (Some(bytes), Some(mut pipe)) => Some(std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })),
        _ => None,
    };
    let out = child.stdout.take().map(|pipe| {
        std::thread::spawn(move || tee(pipe, std::io::stdout(), PASSTHROUGH_CAPTURE_BYTES))
    });
    let err = child.stderr.take().map(|pipe| {
        std::thread::spawn(move || tee(pipe, std::io::stderr(), PASSTHROUGH_CAPTURE_BYTES))
    });
    let collect = |handle: Option<std::thread::JoinHandle<(Vec<u8>, bool)>>| {
        handle.and_then(|h| h.join().ok()).unwrap_or_default()
    };
    let (stdout, out_cut) = collect(out);
    let (stderr, err_cut) = collect(err);
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    let exit_code = match child.wait() {
        Ok(status) => status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        Err(_) => 1,
    };
    PassthroughResult {
        id,
        stdout: Bytes(stdout),
        stderr: Bytes(stderr),
        exit_code,
        duration_ms: started.elapsed().as_millis() as u64,
        truncated: out_cut || err_cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_comes_from_argv0_or_as() {
        let (name, rest) =
            command_and_args(vec!["/tmp/x/git".into(), "push".into()]).expect("argv0");
        assert_eq!((name.as_str(), rest.len()), ("git", 1));
        let (name, rest) =
            command_and_args(vec!["noot-shim".into(), "--as".into(), "gh".into(), "pr".into()])
                .expect("--as");
        assert_eq!((name.as_str(), rest), ("gh", vec![OsString::from("pr")]));
    }

    #[test]
    fn tee_keeps_a_capped_head_and_copies_everything() {
        let mut copy = Vec::new();
        let (kept, truncated) = tee(&b"abcdef"[..], &mut copy, 4);
        assert_eq!(
            (kept.as_slice(), truncated, copy.as_slice()),
            (&b"abcd"[..], true, &b"abcdef"[..])
        );
    }
}
