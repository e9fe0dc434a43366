//! The one error type that crosses the plugin boundary, and [`guard`], which
//! keeps panics from crossing it.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

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

thread_local! {
    /// How many `guard`s this thread is inside.
    static GUARD_DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Where the last guarded panic on this thread happened.
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

static QUIET_HOOK: Once = Once::new();

/// Installs, once per copy of std, a panic hook that stays silent for
/// panics `guard` will catch (they become errors with their location in the
/// message) and hands every other panic to the hook that was there before.
fn install_quiet_hook() {
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARD_DEPTH.with(Cell::get) > 0 {
                let location =
                    info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                PANIC_LOCATION.with(|slot| *slot.borrow_mut() = location);
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `body`, turning a panic into [`PluginError::Panicked`].
///
/// Every function a plugin exports and every trait method it implements must
/// run inside `guard`: a panic unwinding out of an `extern "C"` function
/// aborts the whole host process. The boxing helpers ([`crate::scrubber_box`]
/// and friends) already do this for trait methods; constructors call it
/// themselves. A caught panic is not printed; its message and location go
/// into the error instead.
pub fn guard<T>(
    what: &str,
    body: impl FnOnce() -> Result<T, PluginError>,
) -> RResult<T, PluginError> {
    install_quiet_hook();
    GUARD_DEPTH.with(|depth| depth.set(depth.get() + 1));
    let outcome = catch_unwind(AssertUnwindSafe(body));
    GUARD_DEPTH.with(|depth| depth.set(depth.get() - 1));
    match outcome {
        Ok(result) => result.into(),
        Err(payload) => {
            let at = PANIC_LOCATION
                .with(|slot| slot.borrow_mut().take())
                .map(|location| format!(" at {location}"))
                .unwrap_or_default();
            RResult::RErr(PluginError::Panicked(
                format!("{what} panicked{at}: {}", panic_message(payload.as_ref())).into(),
            ))
        }
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
        assert!(err.message().starts_with("scrub panicked at plugin-api/src/error.rs:"), "{err}");
        assert!(err.message().ends_with(": boom 7"), "{err}");
    }

    #[test]
    fn guard_passes_results_through() {
        assert_eq!(guard("x", || Ok::<_, PluginError>(3)).into_result(), Ok(3));
        let err = guard::<()>("x", || Err(PluginError::failed("no"))).into_result();
        assert_eq!(err, Err(PluginError::Failed("no".into())));
    }
}
