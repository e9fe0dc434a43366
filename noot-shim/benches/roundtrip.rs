//! What one call of a command double costs, end to end, against the floor
//! of spawning any program at all.
//!
//! The benchmark starts two [`Mox`] controllers (native and script shim
//! backends), each with a stub `hello` that answers `ok\n`, and times, as a
//! caller would see it, `N` runs of each of: the native shim (a symlink to
//! `noot-shim`), the script shim (an `sh` wrapper that execs
//! `noot-shim --as hello`), the real `true` (the cost of spawning and
//! reaping any process: the floor), and a Python 3 shim of cmd-mox's shape
//! (a `#!python3` script that reads its stdin, sends the same JSON invoke
//! request over the native controller's socket and applies the reply). Every
//! run is a `std::process::Command` with stdin from `/dev/null` and stdout
//! and stderr piped and read, and every output is checked. It also times
//! the same request sent from this process straight to the socket (no
//! process at all), which splits the native figure into the spawn floor,
//! the socket round trip with the controller's work, and the shim's own
//! start-up. The variants take turns round-robin (the first of each round
//! rotating) after a short warm-up, so drift on a busy machine lands on all
//! of them alike.
//!
//! Run it with `cargo bench -p noot-shim --bench roundtrip`; set
//! `NOOT_BENCH_CALLS` to change `N` (default 1000) and `NOOT_BENCH_WARMUP`
//! the warm-up rounds (default 20). It needs `python3` on `PATH`, or
//! `NOOT_BENCH_PYTHON` naming a Python 3 interpreter. Python's start-up
//! depends a lot on its installation (`.pth` files in site-packages run at
//! every start), so the header names the interpreter used.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use noot_mox::protocol::{
    Invocation, Reply, ReplyEnvelope, Request, RequestEnvelope, receive, request, send,
};
use noot_mox::{Backend, Bytes, Double, Mox, ok};

/// The launcher cargo built for this package (in the bench profile).
const LAUNCHER: &str = env!("CARGO_BIN_EXE_noot-shim");
/// The doubled command.
const COMMAND: &str = "hello";
/// What its stub answers.
const ANSWER: &[u8] = b"ok\n";
const DEFAULT_CALLS: usize = 1000;
const DEFAULT_WARMUP_ROUNDS: usize = 20;

/// The Python shim, `{interpreter}` filled in. Only `json`, `os`, `socket`
/// and `sys`, as lean as a Python shim gets (cmd-mox's own also imports its
/// package); base64 output is decoded by hand to keep to those four.
const PYTHON_SHIM: &str = r#"#!{interpreter}
"""A command double's shim of cmd-mox's shape speaking noot-mox's protocol."""
import json
import os
import socket
import sys

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def data(value):
    """The bytes of a protocol string: plain text or {"base64": "..."}."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    bits = "".join(format(B64.index(c), "06b") for c in value["base64"].rstrip("="))
    return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits) - 7, 8))


def main():
    request = {
        "protocol": 1,
        "type": "invoke",
        "command": os.path.basename(sys.argv[0]),
        "args": sys.argv[1:],
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "pid": os.getpid(),
    }
    if not sys.stdin.isatty():
        request["stdin"] = sys.stdin.read()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(os.environ["NOOT_MOX_SOCKET"])
        sock.sendall(json.dumps(request).encode("utf-8"))
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    reply = json.loads(b"".join(chunks))
    if reply.get("type") == "respond":
        sys.stdout.buffer.write(data(reply.get("stdout", "")))
        sys.stdout.flush()
        sys.stderr.buffer.write(data(reply.get("stderr", "")))
        sys.stderr.flush()
        return reply.get("exit_code", 0)
    if reply.get("type") == "error":
        sys.stderr.write(reply.get("message", "") + "\n")
        return reply.get("exit_code", 1)
    sys.stderr.write("python shim: unsupported reply %r\n" % reply.get("type"))
    return 125


if __name__ == "__main__":
    sys.exit(main())
"#;

/// How one variant makes a call.
enum Probe {
    /// Spawn `program` and wait for it, reading its output.
    Spawn { program: PathBuf, env: Vec<(OsString, OsString)>, expected: &'static [u8] },
    /// Send `message` from this process straight to the socket at `socket`.
    Socket { socket: PathBuf, message: RequestEnvelope },
}

/// One line of the table: how to call, and the time each call took.
struct Variant {
    name: &'static str,
    probe: Probe,
    samples: Vec<Duration>,
}

impl Variant {
    fn new(name: &'static str, probe: Probe, calls: usize) -> Self {
        Self { name, probe, samples: Vec::with_capacity(calls) }
    }

    /// Makes one call, checks its answer, and returns how long it took.
    fn call(&self, index: usize) -> Duration {
        match &self.probe {
            Probe::Spawn { program, env, expected } => {
                let start = Instant::now();
                let output = Command::new(program)
                    .envs(env.iter().map(|(k, v)| (k, v)))
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .output()
                    .unwrap_or_else(|e| {
                        panic!("{}: cannot run {}: {e}", self.name, program.display())
                    });
                let elapsed = start.elapsed();
                assert!(
                    output.status.success() && output.stdout == *expected,
                    "{} call {index}: {}, stdout {:?} (expected {:?}), stderr {:?}",
                    self.name,
                    output.status,
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(expected),
                    String::from_utf8_lossy(&output.stderr),
                );
                elapsed
            }
            Probe::Socket { socket, message } => {
                let start = Instant::now();
                let mut stream = UnixStream::connect(socket).unwrap_or_else(|e| {
                    panic!("{}: cannot connect to {}: {e}", self.name, socket.display())
                });
                send(&mut stream, message)
                    .unwrap_or_else(|e| panic!("{}: cannot send the request: {e}", self.name));
                let reply: ReplyEnvelope =
                    receive(&mut stream).unwrap_or_else(|e| panic!("{}: no reply: {e}", self.name));
                let elapsed = start.elapsed();
                match reply.reply {
                    Reply::Respond(response)
                        if response.exit_code == 0 && response.stdout.as_slice() == ANSWER => {}
                    other => panic!("{} call {index}: unexpected reply {other:?}", self.name),
                }
                elapsed
            }
        }
    }
}

/// Median, 99th percentile (nearest rank), mean and minimum of some times.
struct Summary {
    median: Duration,
    p99: Duration,
    mean: Duration,
    min: Duration,
}

impl Summary {
    /// All zero when there are no samples.
    fn of(samples: &[Duration]) -> Self {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let rank = |p: f64| {
            let nearest = (p * sorted.len() as f64).ceil() as usize;
            sorted.get(nearest.max(1) - 1).copied().unwrap_or_default()
        };
        let total: Duration = sorted.iter().sum();
        Self {
            median: rank(0.5),
            p99: rank(0.99),
            mean: total / sorted.len().max(1) as u32,
            min: sorted.first().copied().unwrap_or_default(),
        }
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// A positive whole number from the environment variable `name`, else `default`.
fn count_from_env(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => panic!("{name}={text} is not a positive whole number"),
        },
        Err(_) => default,
    }
}

/// The first executable file called `name` on this process's `PATH`.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// The Python interpreter for the shim's shebang: `$NOOT_BENCH_PYTHON`,
/// else the real interpreter behind `python3` on `PATH`, named directly:
/// `#!/usr/bin/env python3` could land on a version manager's wrapper
/// (pyenv's is a bash script), which would time that wrapper, not Python.
fn python_interpreter() -> PathBuf {
    let program = std::env::var_os("NOOT_BENCH_PYTHON")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| OsString::from("python3"));
    let output = Command::new(&program)
        .args(["-c", "import sys; print(sys.executable)"])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "this benchmark needs python3 on PATH (or NOOT_BENCH_PYTHON) for the Python shim: cannot run {}: {e}",
                program.to_string_lossy()
            )
        });
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(
        output.status.success() && !text.is_empty(),
        "{} could not name its interpreter: {}",
        program.to_string_lossy(),
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(text)
}

/// Writes the Python shim as `dir/COMMAND`, executable.
fn write_python_shim(dir: &Path, interpreter: &Path) -> PathBuf {
    let interpreter = interpreter.to_str().expect("the python3 interpreter path is UTF-8");
    let path = dir.join(COMMAND);
    std::fs::write(&path, PYTHON_SHIM.replace("{interpreter}", interpreter))
        .expect("cannot write the Python shim");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .expect("cannot make the Python shim executable");
    path
}

/// A controller on `backend` with a stub `hello` answering `ok\n`.
fn controller(backend: Backend) -> (Mox, Double) {
    let mox = Mox::builder()
        .backend(backend)
        .launcher(LAUNCHER)
        .build()
        .expect("the mox controller starts");
    let stub = mox.stub(COMMAND).returns(ok(ANSWER));
    (mox, stub)
}

/// The invoke request a shim run by this process would send.
fn in_process_request(env: &[(OsString, OsString)]) -> RequestEnvelope {
    let mut vars: std::collections::BTreeMap<String, String> = std::env::vars_os()
        .map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned()))
        .collect();
    for (k, v) in env {
        vars.insert(k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned());
    }
    request(Request::Invoke(Invocation {
        command: COMMAND.to_string(),
        args: Vec::new(),
        stdin: Some(Bytes::default()),
        env: vars,
        cwd: std::env::current_dir().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default(),
        pid: std::process::id(),
    }))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}

fn main() {
    let calls = count_from_env("NOOT_BENCH_CALLS", DEFAULT_CALLS);
    let warmup = count_from_env("NOOT_BENCH_WARMUP", DEFAULT_WARMUP_ROUNDS);
    let true_path = ["/usr/bin/true", "/bin/true"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| find_on_path("true"))
        .expect("cannot find the `true` program");
    let interpreter = python_interpreter();

    let (native, native_stub) = controller(Backend::Native);
    let (script, script_stub) = controller(Backend::Script);
    let python_dir = tempfile::tempdir().expect("cannot make a folder for the Python shim");
    let python_shim = write_python_shim(python_dir.path(), &interpreter);
    let native_env = native.env();
    let script_env = script.env();

    let mut variants = vec![
        Variant::new(
            "native shim",
            Probe::Spawn {
                program: native.shim_dir().join(COMMAND),
                env: native_env.clone(),
                expected: ANSWER,
            },
            calls,
        ),
        Variant::new(
            "script shim",
            Probe::Spawn {
                program: script.shim_dir().join(COMMAND),
                env: script_env,
                expected: ANSWER,
            },
            calls,
        ),
        Variant::new(
            "true (floor)",
            Probe::Spawn { program: true_path.clone(), env: native_env.clone(), expected: b"" },
            calls,
        ),
        Variant::new(
            "python shim",
            Probe::Spawn { program: python_shim, env: native_env.clone(), expected: ANSWER },
            calls,
        ),
        Variant::new(
            "socket only",
            Probe::Socket {
                socket: native.socket_path().to_path_buf(),
                message: in_process_request(&native_env),
            },
            calls,
        ),
    ];

    println!("noot-shim round trip: {calls} calls per variant, {warmup} warm-up rounds");
    println!("  launcher    {LAUNCHER}");
    println!("  true        {}", true_path.display());
    println!("  python3     {}", interpreter.display());
    println!(
        "  cores {}, load average before: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );

    let count = variants.len();
    for round in 0..warmup {
        for turn in 0..count {
            variants[(round + turn) % count].call(round);
        }
    }
    let started = Instant::now();
    for round in 0..calls {
        for turn in 0..count {
            let variant = &mut variants[(round + turn) % count];
            let elapsed = variant.call(round);
            variant.samples.push(elapsed);
        }
    }
    let wall = started.elapsed();
    println!(
        "  load average after: {}, timed part took {:.1} s",
        load_average(),
        wall.as_secs_f64()
    );
    println!();

    println!(
        "{:<14} {:>10} {:>10} {:>10} {:>10} {:>13}",
        "variant", "median ms", "p99 ms", "mean ms", "min ms", "drift 1st/2nd"
    );
    let mut medians = std::collections::BTreeMap::new();
    for variant in &variants {
        let summary = Summary::of(&variant.samples);
        let (first, second) = variant.samples.split_at(variant.samples.len() / 2);
        // Above 1: the first half of the run was slower than the second.
        let drift = ms(Summary::of(first).median) / ms(Summary::of(second).median);
        println!(
            "{:<14} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>13.2}",
            variant.name,
            ms(summary.median),
            ms(summary.p99),
            ms(summary.mean),
            ms(summary.min),
            drift
        );
        medians.insert(variant.name, summary.median);
    }
    let median = |name: &str| ms(medians[name]);
    let (native_ms, script_ms, true_ms, python_ms, socket_ms) = (
        median("native shim"),
        median("script shim"),
        median("true (floor)"),
        median("python shim"),
        median("socket only"),
    );
    println!();
    println!("python shim / native shim (median): {:.2}x", python_ms / native_ms);
    println!("native shim / true (median):        {:.2}x", native_ms / true_ms);
    println!("script shim / native shim (median): {:.2}x", script_ms / native_ms);
    println!(
        "native {native_ms:.3} ms = spawn floor {true_ms:.3} + socket round trip and controller {socket_ms:.3} + shim start-up and the rest {:.3} (medians; the last by difference)",
        native_ms - true_ms - socket_ms
    );
    println!(
        "script adds {:.3} ms to native (sh start-up and exec); python adds {:.3} ms to native (interpreter start-up and imports)",
        script_ms - native_ms,
        python_ms - native_ms
    );

    // Native, Python and in-process calls all went to the native controller.
    let per_variant = (warmup + calls) as u64;
    assert_eq!(native_stub.call_count(), 3 * per_variant, "native controller's call count");
    assert_eq!(script_stub.call_count(), per_variant, "script controller's call count");
    native.verify().expect("the native controller verifies");
    script.verify().expect("the script controller verifies");
}
