//! Command doubles for tests: stubs, mocks and spies of the programs your
//! code runs (`git`, `docker`, `kubectl`, `aws`, `make` …).
//!
//! A [`Mox`] controller makes a private folder (mode 0700) with one shim
//! per doubled command and a Unix socket, and serves each call a shim sends
//! it: it picks the double that accepts the call, answers with canned
//! output, a handler's output or a passthrough to the real command, and
//! journals it. [`Mox::verify`] then reports unexpected calls, unmet counts
//! and order violations together, diff-style. The shims are the native
//! `noot-shim` launcher (about a millisecond a call), linked or wrapped per
//! command.
//!
//! ```no_run
//! use noot_mox::{Mox, ok, regex};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mox = Mox::new()?;
//! mox.mock("git").with_args(["push", "origin", "main"]).returns(ok("pushed\n")).times(1);
//! mox.mock("git").with_matching_args(["tag".into(), regex(r"^v\d")]).returns(ok(""));
//! mox.stub("date").returns(ok("2026-01-01\n"));
//! let spy = mox.spy("printf").passthrough();
//!
//! let status = mox.command("sh").arg("release.sh").status()?;
//! assert!(status.success());
//! spy.assert_called();
//! mox.verify()?;
//! # Ok(()) }
//! ```
//!
//! The controller never changes this process's environment: give the code
//! under test [`Mox::env`] (or a [`Mox::command`]). This crate has no
//! dependency on noot's command line; the `noot mox` commands and the
//! pytest plugin are built on it.

pub mod bytes;
pub mod client;
pub mod cmdmox;
pub mod double;
pub mod fixture;
pub mod handle;
pub mod journal;
pub mod matchers;
pub mod mox;
pub mod order;
pub mod passthrough;
pub mod protocol;
pub mod recording;
pub mod replay;
pub mod report;
pub mod scrubbing;
pub mod secrets;
pub mod server;
pub mod shims;
pub mod spec;
pub mod state;
pub mod verify;

pub use bytes::Bytes;
pub use double::{DoubleKind, Times};
pub use handle::Double;
pub use journal::{Answer, Call};
pub use matchers::{Comparator, Kind, any, contains, is_a, predicate, regex, starts_with};
pub use mox::{Mox, MoxBuilder, MoxError};
pub use protocol::Response;
pub use replay::Mode;
pub use shims::Backend;
pub use verify::{Failure, VerifyError};

/// Exit 0 with `stdout`.
pub fn ok(stdout: impl Into<Bytes>) -> Response {
    Response::ok(stdout)
}

/// Exit `code` with `stderr`.
pub fn fail(code: i32, stderr: impl Into<Bytes>) -> Response {
    Response::fail(code, stderr)
}
