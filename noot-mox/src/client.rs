//! The shim's side: what `noot-shim` does when the code under test runs a
//! doubled command.
//!
//! It reads its command from `argv[0]` (or `--as NAME`), its stdin when
//! that is not a terminal, and its environment; sends them to the
//! controller named by `NOOT_MOX_SOCKET`; and applies the reply. It never
//! hangs: a controller that is gone (or dies mid-call) gives one line on
//! stderr and exit code 125 at once, and a busy one is retried with backoff
//! for `NOOT_MOX_TIMEOUT` seconds (default 5). A passthrough order runs the real
//! command ([`crate::passthrough`]) and reports the result back.
//!
//! It behaves like the command it stands in for when its reader goes away:
//! SIGPIPE is held off while the shim still has to talk to its controller,
//! then raised on itself (exit by signal, as `git log | head -1` would), and
//! a real command killed by a signal is re-raised the same way.

use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::bytes::Bytes;
use crate::passthrough::{Ending, exec_real_if_nested, passthrough};
use crate::protocol::{
    DEFAULT_TIMEOUT_SECS, EXIT_CONTROLLER_UNREACHABLE, Invocation, Reply, ReplyEnvelope, Request,
    SOCKET_ENV, STDIN_ENV, TIMEOUT_ENV, WireError, receive, request, send,
};

/// The most stdin a shim sends. More is refused with a message rather than
/// cut short: a passthrough would feed the real command a truncated input.
pub const STDIN_LIMIT_BYTES: u64 = 32 * 1024 * 1024;

/// Runs the shim with `args` (`argv[0]` first) and returns its exit code,
/// unless it ends by a signal as the real command would.
pub fn run(args: Vec<OsString>) -> i32 {
    // SAFETY: setting a signal's disposition to "ignore" has no
    // preconditions; it only changes how this process reacts to SIGPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    match shim(args) {
        Ok(Ending::Code(code)) => code,
        Ok(Ending::Signal(signal)) => raise(signal),
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "noot-shim: {message}");
            EXIT_CONTROLLER_UNREACHABLE
        }
    }
}

/// Ends this process by `signal` with its default action, as the command
/// would have ended; falls back to the shell's `128 + N` if it survives.
fn raise(signal: i32) -> i32 {
    // SAFETY: restoring a default disposition and raising a signal on
    // ourselves have no memory-safety preconditions.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
    128 + signal
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

/// Connects, retrying with backoff until `deadline` while the controller
/// may only be busy. A socket that is missing, or that nobody listens on,
/// means the controller has stopped or died (it binds its socket before it
/// makes any shim), so that fails at once.
fn connect(socket: &Path, deadline: Instant) -> Result<UnixStream, String> {
    let mut pause = Duration::from_millis(2);
    loop {
        let gone = |e: &std::io::Error| {
            matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused)
        };
        match UnixStream::connect(socket) {
            Ok(stream) => return Ok(stream),
            Err(e) if gone(&e) => {
                return Err(format!(
                    "the noot mox controller at {} has stopped ({e}); the test, `noot mox run` or `noot mox serve` that made this shim is over",
                    socket.display()
                ));
            }
            Err(e) if Instant::now() + pause >= deadline => {
                return Err(format!(
                    "cannot reach the noot mox controller at {}: {e} (gave up after {TIMEOUT_ENV} seconds)",
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

fn shim(args: Vec<OsString>) -> Result<Ending, String> {
    let (command, rest) = command_and_args(args)?;
    let socket = std::env::var_os(SOCKET_ENV).filter(|s| !s.is_empty()).ok_or_else(|| {
        format!(
            "{SOCKET_ENV} is not set: `{command}` is a noot mox shim and runs only under a controller"
        )
    })?;
    let socket = PathBuf::from(socket);
    let shim_dir = socket.parent().map(Path::to_path_buf).unwrap_or_default();
    if let Some(failure) = exec_real_if_nested(&command, &rest, &shim_dir, "") {
        let _ = writeln!(std::io::stderr(), "noot-shim: {failure}");
        return Ok(Ending::Code(crate::protocol::EXIT_NOT_FOUND));
    }
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
            let out = write_all(&mut std::io::stdout(), response.stdout.as_slice());
            let _ = write_all(&mut std::io::stderr(), response.stderr.as_slice());
            Ok(if out { Ending::Code(response.exit_code) } else { Ending::Signal(libc::SIGPIPE) })
        }
        Reply::Error { message, exit_code } => {
            let _ = writeln!(std::io::stderr(), "{message}");
            Ok(Ending::Code(exit_code))
        }
        Reply::Passthrough { id, lookup_path, env } => {
            let (result, ending) =
                passthrough(&command, &rest, stdin, &lookup_path, &shim_dir, &env, id);
            // The caller has had the real command's output; a controller
            // gone by now costs only the journal entry, which verify (if
            // anyone still runs it) reports as lost. The result stands.
            let report_deadline = Instant::now() + timeout()?;
            if let Err(message) =
                exchange(&socket, report_deadline, Request::PassthroughResult(result))
            {
                let _ = writeln!(std::io::stderr(), "noot-shim: {message}");
            }
            Ok(ending)
        }
        other => Err(format!("unexpected reply from the controller: {other:?}")),
    }
}

/// Writes `bytes`; false when the reader went away (EPIPE).
fn write_all(out: &mut dyn Write, bytes: &[u8]) -> bool {
    !matches!(
        out.write_all(bytes).and_then(|()| out.flush()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe
    )
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
    match stdin.lock().take(STDIN_LIMIT_BYTES + 1).read_to_end(&mut buffer) {
        Ok(n) if n as u64 > STDIN_LIMIT_BYTES => Err(format!(
            "stdin is larger than {} MiB, the most a double takes; double a command that reads a file instead",
            STDIN_LIMIT_BYTES / (1024 * 1024)
        )),
        Ok(_) => Ok(Some(buffer)),
        // A closed descriptor 0: no stdin at all.
        Err(e) if e.raw_os_error() == Some(libc::EBADF) => Ok(None),
        Err(e) => Err(format!("cannot read stdin: {e}")),
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
}
