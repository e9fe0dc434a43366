//! The socket server: accepts one request per connection, checks that the
//! peer runs as our user, and answers from the shared [`State`].
//!
//! One thread accepts and answers; a handler (user code) runs on a thread
//! of its own, so a slow one never holds up other calls (a test suite may
//! run doubled commands in parallel). Anything malformed gets an error
//! reply; nothing a peer sends can bring the server down.

use std::os::unix::net::{UnixListener, UnixStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::protocol::{
    EXIT_CONTROLLER_UNREACHABLE, PROTOCOL_VERSION, Reply, Request, RequestEnvelope, WireError,
    receive, reply, send,
};
use crate::state::{Decision, Shared, lock, run_handler};

/// Whether a peer with `peer_uid` may talk to a controller run by `own_uid`.
/// Only the same user: the socket answers with whatever the doubles say,
/// and a passthrough order runs commands.
pub fn authorized(peer_uid: u32, own_uid: u32) -> bool {
    peer_uid == own_uid
}

/// The uid of the process at the other end of `stream` (SO_PEERCRED).
pub fn peer_uid(stream: &UnixStream) -> std::io::Result<u32> {
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes of the sizes given, and
    // the descriptor is an open Unix socket owned by `stream`.
    let rc = unsafe {
        libc::getsockopt(
            std::os::fd::AsRawFd::as_raw_fd(stream),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc == 0 { Ok(cred.uid) } else { Err(std::io::Error::last_os_error()) }
}

fn own_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// A signal raised when a harness asks for verification over the socket.
#[derive(Debug, Default)]
pub struct VerifyRequested {
    asked: Mutex<bool>,
    wake: Condvar,
}

impl VerifyRequested {
    fn raise(&self) {
        *self.asked.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.wake.notify_all();
    }

    /// Waits until verification was asked for, or `timeout` passes
    /// (returns whether it was asked).
    pub fn wait(&self, timeout: std::time::Duration) -> bool {
        let guard = self.asked.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = self
            .wake
            .wait_timeout_while(guard, timeout, |asked| !*asked)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }
}

/// Renders the verification answer for [`Request::Verify`].
pub type VerifyAnswer = Arc<dyn Fn() -> Reply + Send + Sync>;

/// Answers [`Request::Configure`]: declares or changes a double.
pub type ConfigureAnswer = Arc<dyn Fn(Option<usize>, serde_json::Value) -> Reply + Send + Sync>;

/// A running server.
pub struct Server {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    /// Raised by [`Request::Verify`].
    pub verify_requested: Arc<VerifyRequested>,
}

impl Server {
    /// Binds `path` and starts serving `state`.
    pub fn start(
        path: &Path,
        state: Shared,
        verify: VerifyAnswer,
        configure: ConfigureAnswer,
    ) -> std::io::Result<Self> {
        let listener = UnixListener::bind(path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let verify_requested = Arc::new(VerifyRequested::default());
        let accept = {
            let stop = stop.clone();
            let requested = verify_requested.clone();
            std::thread::Builder::new().name("noot-mox-accept".into()).spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else {
                        // Out of descriptors (EMFILE) and the like: back off
                        // instead of spinning, and keep serving.
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        continue;
                    };
                    // A panic in user code (a comparator) is caught where it
                    // runs; this guard keeps the accepting thread alive
                    // whatever else goes wrong with one connection.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        serve(stream, &state, &verify, &configure, &requested)
                    }));
                }
            })?
        };
        Ok(Self { path: path.to_path_buf(), stop, accept: Some(accept), verify_requested })
    }

    /// Stops accepting and waits for the accept thread.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept with a connection of our own.
        let _ = UnixStream::connect(&self.path);
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn error(message: impl Into<String>) -> Reply {
    Reply::Error { message: message.into(), exit_code: EXIT_CONTROLLER_UNREACHABLE }
}

/// How long a peer may go silent mid-request before the server gives up on
/// it. Requests are read on the accepting thread (a shim has all its stdin
/// before it connects, so a request arrives at once); only a stopped peer
/// could stall it, and then only this long.
const READ_STALL: std::time::Duration = std::time::Duration::from_secs(5);

/// Answers one connection. Canned answers, passthrough orders and verify
/// requests are given right here, on the accepting thread: a thread per
/// call would cost more than the rest of the call. A handler (user code,
/// maybe slow) runs on a thread of its own, so it never holds up others.
fn serve(
    mut stream: UnixStream,
    state: &Shared,
    verify: &VerifyAnswer,
    configure: &ConfigureAnswer,
    requested: &VerifyRequested,
) {
    let arrived = Instant::now();
    let _ = stream.set_read_timeout(Some(READ_STALL));
    let refusal = match peer_uid(&stream) {
        Ok(uid) if authorized(uid, own_uid()) => None,
        Ok(uid) => Some(format!("noot-mox: refused: uid {uid} does not own this controller")),
        Err(e) => Some(format!("noot-mox: refused: cannot check the peer: {e}")),
    };
    if let Some(message) = refusal {
        // Read (and drop) the request first: closing with unread data
        // would reset the connection and the peer would never see why.
        let _ = receive::<serde_json::Value>(&mut stream);
        let _ = send(&mut stream, &reply(error(message)));
        return;
    }
    let _ = stream.set_write_timeout(Some(READ_STALL));
    let request = match read_request(&mut stream) {
        Ok(request) => request,
        // Our own wake-up connection from `stop`, or a peer that gave up.
        Err(None) => return,
        Err(Some(message)) => {
            let _ = send(&mut stream, &reply(error(message)));
            return;
        }
    };
    let answer = match request {
        Request::Invoke(call) => {
            // Comparators are user code and run inside `decide`: a panic
            // there fails this call, not the controller.
            let decided = catch_unwind(AssertUnwindSafe(|| lock(state).decide(&call, arrived)));
            match decided {
                Ok(Decision::Reply(reply)) => reply,
                Ok(Decision::Handle(handler, entry, index)) => {
                    run_elsewhere(stream, state.clone(), handler, entry, index, arrived);
                    return;
                }
                Err(panic) => lock(state).refuse_after_panic(&call, &panic_message(&*panic)),
            }
        }
        Request::PassthroughResult(result) => lock(state).finish_passthrough(result),
        Request::Verify => {
            // Answer first, then raise: a long-lived controller exits
            // when raised, and the harness must get its report.
            let _ = send(&mut stream, &reply(verify()));
            requested.raise();
            return;
        }
        Request::Configure { index, double } => configure(index, double),
        Request::Inspect { index } => {
            let state = lock(state);
            match state.doubles.get(index) {
                Some(double) => Reply::Inspected {
                    call_count: double.calls,
                    invocations: serde_json::to_value(&double.invocations)
                        .unwrap_or(serde_json::Value::Null),
                },
                None => error(format!("noot-mox: no double {index}")),
            }
        }
        Request::Journal => {
            match serde_json::to_value(lock(state).journal.entries().collect::<Vec<_>>()) {
                Ok(entries) => Reply::Journal { entries },
                Err(e) => error(format!("noot-mox: cannot encode the journal: {e}")),
            }
        }
    };
    let _ = send(&mut stream, &reply(answer));
}

/// Reads one request: the version first, so a peer of another version is
/// told so even when the shape of its messages changed. `Err(None)`: the
/// peer sent nothing.
fn read_request(stream: &mut UnixStream) -> Result<Request, Option<String>> {
    let value = match receive::<serde_json::Value>(stream) {
        Ok(value) => value,
        Err(WireError::Empty) => return Err(None),
        Err(e) => return Err(Some(format!("noot-mox: bad request: {e}"))),
    };
    match value.get("protocol").and_then(serde_json::Value::as_u64) {
        Some(version) if version == u64::from(PROTOCOL_VERSION) => {}
        Some(version) => {
            return Err(Some(format!(
                "noot-mox: protocol {version} is not this controller's ({PROTOCOL_VERSION}); use a noot-shim of the same noot version"
            )));
        }
        None => return Err(Some("noot-mox: bad request: no protocol version".to_string())),
    }
    serde_json::from_value::<RequestEnvelope>(value)
        .map(|envelope| envelope.request)
        .map_err(|e| Some(format!("noot-mox: bad request: {e}")))
}

/// Runs a handler on a thread of its own and answers from there. Without a
/// thread to be had, the call fails (counted, journalled and reported).
fn run_elsewhere(
    mut stream: UnixStream,
    state: Shared,
    handler: crate::double::Handler,
    entry: Box<crate::journal::Call>,
    index: usize,
    arrived: Instant,
) {
    let fail = |stream: &mut UnixStream, entry: crate::journal::Call, why: String| {
        let answer = lock(&state).finish_handler(index, entry, Err(why), arrived);
        let _ = send(stream, &reply(answer));
    };
    let theirs = match stream.try_clone() {
        Ok(theirs) => theirs,
        Err(e) => {
            return fail(&mut stream, *entry, format!("cannot hand the call to a thread: {e}"));
        }
    };
    // The job sits where this thread can take it back if no thread starts.
    let job = Arc::new(Mutex::new(Some((theirs, handler, entry))));
    let taken = job.clone();
    let thread_state = state.clone();
    let spawned = std::thread::Builder::new().name("noot-mox-handler".into()).spawn(move || {
        let Some((mut stream, handler, entry)) =
            taken.lock().unwrap_or_else(|e| e.into_inner()).take()
        else {
            return;
        };
        let outcome = run_handler(&handler, &entry);
        let answer = lock(&thread_state).finish_handler(index, *entry, outcome, arrived);
        let _ = send(&mut stream, &reply(answer));
    });
    if let Err(e) = spawned {
        if let Some((_, _, entry)) = job.lock().unwrap_or_else(|e| e.into_inner()).take() {
            fail(&mut stream, *entry, format!("no thread to run the handler on: {e}"));
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_else(|| "a panic".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_uid_is_authorized() {
        assert!(authorized(1000, 1000));
        assert!(!authorized(1001, 1000));
        assert!(!authorized(0, 1000), "not even root gets another user's doubles");
    }

    #[test]
    fn peer_uid_reads_our_own_uid_across_a_pair() {
        let (a, _b) = UnixStream::pair().expect("pair");
        assert_eq!(peer_uid(&a).expect("peercred"), own_uid());
    }
}
