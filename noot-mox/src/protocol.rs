//! The wire protocol between a shim and its controller.
//!
//! One request per connection over the controller's Unix socket: the
//! client writes one JSON document and half-closes its side; the server
//! answers with one JSON document and closes. Every message carries
//! `protocol` ([`PROTOCOL_VERSION`]); a controller refuses another version
//! with an [`Reply::Error`] that says which one it speaks.
//!
//! A call to a doubled command is an [`Request::Invoke`]. The reply either
//! answers it ([`Reply::Respond`]: stdout, stderr, exit code), refuses it
//! ([`Reply::Error`]: an unexpected call), or orders a passthrough
//! ([`Reply::Passthrough`]): the shim runs the real command itself, found
//! on the lookup path the controller gives, and reports what it did in a
//! second request ([`Request::PassthroughResult`]) so the journal holds it.
//! Record/replay builds on exactly that second message.
//!
//! [`Request::Verify`] and [`Request::Journal`] serve long-lived
//! controllers (`noot mox serve`): the harness asks over the same socket.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::bytes::Bytes;

/// The version of the messages below.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest message either side reads (stdin or output of a call
/// included); bigger ones are refused, so memory stays bounded.
pub const MAX_MESSAGE_BYTES: u64 = 256 * 1024 * 1024;

/// The environment variable naming the controller's socket.
pub const SOCKET_ENV: &str = "NOOT_MOX_SOCKET";
/// How long (seconds, fractional) a shim keeps trying to reach the controller.
pub const TIMEOUT_ENV: &str = "NOOT_MOX_TIMEOUT";
/// `ignore` makes shims leave stdin unread (and unsent).
pub const STDIN_ENV: &str = "NOOT_MOX_STDIN";
/// The default of [`TIMEOUT_ENV`].
pub const DEFAULT_TIMEOUT_SECS: f64 = 5.0;

/// Exit code of a shim that could not reach its controller or understand
/// its reply. Distinct from anything a doubled command is likely to return.
pub const EXIT_CONTROLLER_UNREACHABLE: i32 = 125;
/// Exit code of a shim whose call no double expected (or whose handler
/// failed): a plain failure, as the real command's would be; the report is
/// on stderr and again at verify.
pub const EXIT_UNEXPECTED: i32 = 1;
/// Exit code of a passthrough whose real command does not exist (as a shell's).
pub const EXIT_NOT_FOUND: i32 = 127;

/// A message from a shim (or a harness) to the controller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestEnvelope {
    /// [`PROTOCOL_VERSION`] of the sender.
    pub protocol: u32,
    /// The request.
    #[serde(flatten)]
    pub request: Request,
}

/// What a shim (or a harness) asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// A doubled command was called.
    Invoke(Invocation),
    /// A passthrough ordered by [`Reply::Passthrough`] finished.
    PassthroughResult(PassthroughResult),
    /// Verify every double now and report (a long-lived controller then stops).
    Verify,
    /// Send the journal so far.
    Journal,
    /// Declare a double (`index: null`) or change double `index`.
    Configure {
        /// The double to change; none to declare a new one.
        #[serde(default)]
        index: Option<usize>,
        /// What it is.
        double: serde_json::Value,
    },
    /// How often double `index` was called, and its calls.
    Inspect {
        /// The double.
        index: usize,
    },
}

/// One call of a doubled command, as the shim saw it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Invocation {
    /// The command name (the shim's `argv[0]` file name, or `--as NAME`).
    pub command: String,
    /// The arguments after the command name.
    pub args: Vec<Bytes>,
    /// Everything on stdin, when stdin was not a terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<Bytes>,
    /// The caller's environment (names and values made UTF-8, lossily).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The caller's working directory.
    #[serde(default)]
    pub cwd: String,
    /// The shim's process id.
    #[serde(default)]
    pub pid: u32,
}

/// What a passthrough did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PassthroughResult {
    /// The id from [`Reply::Passthrough`].
    pub id: u64,
    /// What the real command wrote to stdout.
    pub stdout: Bytes,
    /// What it wrote to stderr.
    pub stderr: Bytes,
    /// Its exit code (128 + N when signal N ended it).
    pub exit_code: i32,
    /// How long it ran.
    #[serde(default)]
    pub duration_ms: u64,
    /// Whether stdout or stderr went past the shim's capture cap (the
    /// caller still got all of it; the journal keeps the head).
    #[serde(default)]
    pub truncated: bool,
}

/// The controller's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    /// Write these, exit with this code.
    Respond(Response),
    /// Run the real command and report back with [`Request::PassthroughResult`].
    Passthrough {
        /// Which journal entry the result belongs to.
        id: u64,
        /// `PATH` to find the real command on (the original one, without
        /// the shim folder).
        lookup_path: String,
        /// Variables to set for the real command.
        #[serde(default)]
        env: BTreeMap<String, String>,
    },
    /// Print `message` on stderr and exit with `exit_code`.
    Error {
        /// One line, or a report.
        message: String,
        /// The shim's exit code.
        exit_code: i32,
    },
    /// A passthrough result was recorded.
    Ack,
    /// The outcome of [`Request::Verify`].
    Verified {
        /// Whether every expectation was met.
        ok: bool,
        /// The report as people read it.
        report: String,
        /// The journal and verdict as one JSON document.
        document: serde_json::Value,
    },
    /// The journal, for [`Request::Journal`].
    Journal {
        /// The entries.
        entries: serde_json::Value,
    },
    /// A double was declared or changed.
    Configured {
        /// Its index, for later [`Request::Configure`] and [`Request::Inspect`].
        index: usize,
    },
    /// The answer to [`Request::Inspect`].
    Inspected {
        /// Calls it answered.
        call_count: u64,
        /// Its calls (bounded like the journal).
        invocations: serde_json::Value,
    },
}

/// A canned answer to a call.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Response {
    /// Written to stdout.
    #[serde(default)]
    pub stdout: Bytes,
    /// Written to stderr.
    #[serde(default)]
    pub stderr: Bytes,
    /// The exit code.
    #[serde(default)]
    pub exit_code: i32,
}

impl Response {
    /// Exit 0 with `stdout`.
    pub fn ok(stdout: impl Into<Bytes>) -> Self {
        Self { stdout: stdout.into(), stderr: Bytes::default(), exit_code: 0 }
    }

    /// Exit `code` with `stderr`.
    pub fn fail(code: i32, stderr: impl Into<Bytes>) -> Self {
        Self { stdout: Bytes::default(), stderr: stderr.into(), exit_code: code }
    }

    /// Everything given.
    pub fn new(stdout: impl Into<Bytes>, stderr: impl Into<Bytes>, exit_code: i32) -> Self {
        Self { stdout: stdout.into(), stderr: stderr.into(), exit_code }
    }
}

/// A message from the controller, with its version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyEnvelope {
    /// [`PROTOCOL_VERSION`] of the controller.
    pub protocol: u32,
    /// The reply.
    #[serde(flatten)]
    pub reply: Reply,
}

/// Why a message could not be exchanged.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The socket failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The peer sent more than [`MAX_MESSAGE_BYTES`].
    #[error("message longer than {MAX_MESSAGE_BYTES} bytes")]
    TooLong,
    /// The peer sent something that is not a message of this protocol.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The peer closed without a message.
    #[error("the peer closed the connection without a message")]
    Empty,
}

/// Writes `message` and half-closes the writing side.
pub fn send<T: Serialize>(stream: &mut UnixStream, message: &T) -> Result<(), WireError> {
    let bytes = serde_json::to_vec(message).map_err(|e| WireError::Malformed(e.to_string()))?;
    stream.write_all(&bytes)?;
    stream.flush()?;
    stream.shutdown(Shutdown::Write)?;
    Ok(())
}

/// Reads one message up to end of stream.
pub fn receive<T: DeserializeOwned>(stream: &mut UnixStream) -> Result<T, WireError> {
    // Most messages fit in one read of this size.
    let mut buffer = Vec::with_capacity(16 * 1024);
    stream.take(MAX_MESSAGE_BYTES + 1).read_to_end(&mut buffer)?;
    if buffer.len() as u64 > MAX_MESSAGE_BYTES {
        return Err(WireError::TooLong);
    }
    if buffer.is_empty() {
        return Err(WireError::Empty);
    }
    serde_json::from_slice(&buffer).map_err(|e| WireError::Malformed(e.to_string()))
}

/// Wraps `request` in an envelope of this protocol version.
pub fn request(request: Request) -> RequestEnvelope {
    RequestEnvelope { protocol: PROTOCOL_VERSION, request }
}

/// Wraps `reply` in an envelope of this protocol version.
pub fn reply(reply: Reply) -> ReplyEnvelope {
    ReplyEnvelope { protocol: PROTOCOL_VERSION, reply }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invocation_reads_as_json_a_person_can_follow() {
        let message = request(Request::Invoke(Invocation {
            command: "git".into(),
            args: vec!["push".into(), Bytes(vec![0xff])],
            stdin: None,
            env: BTreeMap::from([("K".to_string(), "v".to_string())]),
            cwd: "/w".into(),
            pid: 7,
        }));
        let json = serde_json::to_string(&message).expect("json");
        assert_eq!(
            json,
            r#"{"protocol":1,"type":"invoke","command":"git","args":["push",{"base64":"/w=="}],"env":{"K":"v"},"cwd":"/w","pid":7}"#
        );
        let back: RequestEnvelope = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, message);
    }

    #[test]
    fn messages_cross_a_socket_pair_with_half_close_framing() {
        let (mut a, mut b) = UnixStream::pair().expect("pair");
        send(&mut a, &reply(Reply::Respond(Response::ok("hi\n")))).expect("send");
        let got: ReplyEnvelope = receive(&mut b).expect("receive");
        assert_eq!(got.reply, Reply::Respond(Response::ok("hi\n")));
    }

    #[test]
    fn an_empty_or_broken_message_is_an_error_not_a_panic() {
        let (a, mut b) = UnixStream::pair().expect("pair");
        drop(a);
        assert!(matches!(receive::<RequestEnvelope>(&mut b), Err(WireError::Empty)));
        let (mut a, mut b) = UnixStream::pair().expect("pair");
        a.write_all(b"{\"protocol\":1,\"type\":\"nope\"}").expect("write");
        drop(a);
        assert!(matches!(receive::<RequestEnvelope>(&mut b), Err(WireError::Malformed(_))));
    }
}
