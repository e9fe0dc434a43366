//! The one error type that crosses the plugin boundary, and [`guard`], which
//! keeps panics from crossing it.

use std::any::Any;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use abi_stable::StableAbi;
use abi_stable::std_types::{RResult, RString};

use crate::PluginKind;

/// An error returned by a plugin (or by a host port to a plugin).
///
/// Every variant carries a one-line, human-readable message. Messages should
/// say what went wrong and, where the plugin knows it, what to do.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub enum PluginError {
    /// The plugin's configuration table is invalid (unknown key, bad value).
    InvalidConfig(RString),
    /// The library does not provide a plugin of that kind and name.
    NotProvided(RString),
    /// Reading or writing a file, or spawning a process, failed.
    Io(RString),
    /// The operation failed for a reason of the plugin's own.
    Failed(RString),
    /// The plugin panicked; the message is the panic payload.
    Panicked(RString),
}

impl PluginError {
    /// An [`PluginError::InvalidConfig`] with this message.
    pub fn invalid_config(message: impl fmt::Display) -> Self {
        Self::InvalidConfig(message.to_string().into())
    }

    /// A [`PluginError::Failed`] with this message.
    pub fn failed(message: impl fmt::Display) -> Self {
        Self::Failed(message.to_string().into())
    }

    /// A [`PluginError::Io`] with this message.
    pub fn io(message: impl fmt::Display) -> Self {
        Self::Io(message.to_string().into())
    }

    /// A [`PluginError::NotProvided`] naming the kind and name that was asked for.
    pub fn not_provided(kind: PluginKind, name: &str) -> Self {
        Self::NotProvided(
            format!("this library provides no {} plugin named `{name}`", kind.as_str()).into(),
        )
    }

    /// The message, without the variant.
    pub fn message(&self) -> &str {
        match self {
            Self::InvalidConfig(m)
            | Self::NotProvided(m)
            | Self::Io(m)
            | Self::Failed(m)
            | Self::Panicked(m) => m.as_str(),
        }
    }

    /// True for [`PluginError::Panicked`].
    pub fn is_panic(&self) -> bool {
        matches!(self, Self::Panicked(_))
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Self::InvalidConfig(_) => "invalid configuration",
            Self::NotProvided(_) => "not provided",
            Self::Io(_) => "i/o error",
            Self::Failed(_) => "failed",
            Self::Panicked(_) => "panicked",
        };
        write!(f, "{what}: {}", self.message())
    }
}

impl std::error::Error for PluginError {}

/// Runs `body`, turning a panic into [`PluginError::Panicked`].
///
/// Every function a plugin exports and every trait method it implements must
/// run inside `guard`: a panic unwinding out of an `extern "C"` function
/// aborts the whole host process. The boxing helpers ([`crate::scrubber_box`]
/// and friends) already do this for trait methods; constructors call it
/// themselves.
pub fn guard<T>(
    what: &str,
    body: impl FnOnce() -> Result<T, PluginError>,
) -> RResult<T, PluginError> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result.into(),
        Err(payload) => RResult::RErr(PluginError::Panicked(
            format!("{what} panicked: {}", panic_message(payload.as_ref())).into(),
        )),
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a non-string panic payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_turns_a_panic_into_an_error() {
        let result: RResult<(), PluginError> = guard("scrub", || panic!("boom {}", 7));
        let err = result.into_result().expect_err("a panic must become an error");
        assert!(err.is_panic());
        assert_eq!(err.message(), "scrub panicked: boom 7");
    }

    #[test]
    fn guard_passes_results_through() {
        assert_eq!(guard("x", || Ok::<_, PluginError>(3)).into_result(), Ok(3));
        let err = guard::<()>("x", || Err(PluginError::failed("no"))).into_result();
        assert_eq!(err, Err(PluginError::Failed("no".into())));
    }
}
