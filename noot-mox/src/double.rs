//! What a double is: its kind, what calls it accepts, how it answers, and
//! how often it must be called.
//!
//! `stub` answers and is never verified; `mock` is strict (every call must
//! match one, each must be called its count, default exactly once); `spy`
//! answers (canned or by passing through to the real command) and records,
//! and is count-verified only when a count was set. This mirrors cmd-mox,
//! with `at_least` and `never` added and unexpected calls failed at once.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::bytes::quote;
use crate::journal::Call;
use crate::matchers::{Comparator, args_mismatch};
use crate::protocol::{Invocation, Response};

/// The three kinds of double.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DoubleKind {
    /// Answers; never verified.
    Stub,
    /// Strict: every call must match, counts are verified.
    Mock,
    /// Answers or passes through, and records.
    Spy,
}

impl DoubleKind {
    /// `stub`, `mock` or `spy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stub => "stub",
            Self::Mock => "mock",
            Self::Spy => "spy",
        }
    }
}

/// How many calls a double expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Times {
    /// Exactly this many (`never` is `Exactly(0)`).
    Exactly(u64),
    /// This many or more.
    AtLeast(u64),
}

impl Times {
    /// Whether `n` calls satisfy it.
    pub fn satisfied_by(self, n: u64) -> bool {
        match self {
            Self::Exactly(want) => n == want,
            Self::AtLeast(want) => n >= want,
        }
    }

    /// Whether one more call than `n` would be too many.
    pub fn full_at(self, n: u64) -> bool {
        matches!(self, Self::Exactly(want) if n >= want)
    }
}

impl fmt::Display for Times {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exactly(n) => write!(f, "{n}"),
            Self::AtLeast(n) => write!(f, "at least {n}"),
        }
    }
}

/// A handler: computes the answer to a call. Runs on the controller's
/// thread for that call; an `Err` or a panic fails the call and the
/// verification.
pub type Handler = Arc<dyn Fn(&Call) -> Result<Response, String> + Send + Sync>;

/// How a double answers.
#[derive(Clone)]
pub enum Behaviour {
    /// This response.
    Respond(Response),
    /// The handler's response.
    Run(Handler),
    /// The real command (found on the original `PATH`).
    Passthrough,
}

impl fmt::Debug for Behaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Respond(r) => f.debug_tuple("Respond").field(r).finish(),
            Self::Run(_) => f.write_str("Run(handler)"),
            Self::Passthrough => f.write_str("Passthrough"),
        }
    }
}

/// One registered double.
#[derive(Clone)]
pub struct DoubleSpec {
    /// Its index in registration order.
    pub index: usize,
    /// Its kind.
    pub kind: DoubleKind,
    /// The command it stands in for.
    pub command: String,
    /// Expected arguments (`None`: any).
    pub args: Option<Vec<Comparator>>,
    /// Expected stdin (`None`: any).
    pub stdin: Option<Comparator>,
    /// Variables the caller must not contradict and that are injected into
    /// handlers and passthroughs.
    pub env: BTreeMap<String, String>,
    /// How it answers.
    pub behaviour: Behaviour,
    /// How often it must be called (`None`: the kind's default).
    pub times: Option<Times>,
    /// Whether it takes part in the order check.
    pub ordered: bool,
    /// The fixture its calls are recorded to.
    pub record_to: Option<std::path::PathBuf>,
}

impl fmt::Debug for DoubleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoubleSpec")
            .field("label", &self.label())
            .field("expected", &self.describe())
            .field("behaviour", &self.behaviour)
            .field("times", &self.times)
            .field("ordered", &self.ordered)
            .finish()
    }
}

impl DoubleSpec {
    /// A double of `kind` for `command` answering exit 0 with no output.
    pub fn new(index: usize, kind: DoubleKind, command: &str) -> Self {
        Self {
            index,
            kind,
            command: command.to_string(),
            args: None,
            stdin: None,
            env: BTreeMap::new(),
            behaviour: Behaviour::Respond(Response::default()),
            times: None,
            ordered: false,
            record_to: None,
        }
    }

    /// The count verified at the end: mocks default to exactly one call;
    /// spies are checked only with an explicit count; stubs never.
    pub fn verified_times(&self) -> Option<Times> {
        match self.kind {
            DoubleKind::Mock => Some(self.times.unwrap_or(Times::Exactly(1))),
            DoubleKind::Spy => self.times,
            DoubleKind::Stub => None,
        }
    }

    /// `mock git #2`, as the journal names it.
    pub fn label(&self) -> String {
        format!("{} {} #{}", self.kind.as_str(), self.command, self.index + 1)
    }

    /// The expectation as reports show it: `git('push', Any())` plus
    /// stdin/env lines.
    pub fn describe(&self) -> String {
        let args = match &self.args {
            Some(args) => args.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
            None => "*".to_string(),
        };
        let mut text = format!("{}({args})", self.command);
        if let Some(stdin) = &self.stdin {
            text.push_str(&format!("\nstdin={stdin}"));
        }
        if !self.env.is_empty() {
            let pairs: Vec<String> =
                self.env.iter().map(|(k, v)| format!("{k}={}", mask(k, v))).collect();
            text.push_str(&format!("\nenv: {}", pairs.join(", ")));
        }
        text
    }

    /// Why `call` does not match, or `None` when it does.
    pub fn mismatch(&self, call: &Invocation) -> Option<String> {
        if call.command != self.command {
            return Some(format!("command '{}' != '{}'", call.command, self.command));
        }
        if let Some(expected) = &self.args {
            if let Some(reason) = args_mismatch(expected, &call.args) {
                return Some(reason);
            }
        }
        if let Some(expected) = &self.stdin {
            let got = call.stdin.as_ref().map_or(&[][..], |s| s.as_slice());
            if !expected.matches(got) {
                return Some(format!("stdin {}", expected.mismatch(got)));
            }
        }
        for (key, want) in &self.env {
            if let Some(got) = call.env.get(key) {
                if got != want {
                    let hidden = if is_secret_name(key) {
                        " (values hidden: the name looks like a secret's)"
                    } else {
                        ""
                    };
                    return Some(format!(
                        "env[{}] {} != {}{hidden}",
                        quote(key.as_bytes()),
                        mask(key, got),
                        mask(key, want)
                    ));
                }
            }
        }
        None
    }
}

pub use crate::secrets::{is_secret_name, mask, masked};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matchers::regex;

    fn call(args: &[&str]) -> Invocation {
        Invocation {
            command: "git".into(),
            args: args.iter().map(|a| (*a).into()).collect(),
            ..Invocation::default()
        }
    }

    #[test]
    fn mismatch_reports_the_first_difference() {
        let mut double = DoubleSpec::new(0, DoubleKind::Mock, "git");
        double.args = Some(vec!["push".into(), regex(r"^v\d")]);
        assert_eq!(double.mismatch(&call(&["push", "v1"])), None);
        assert_eq!(
            double.mismatch(&call(&["pull", "v1"])).as_deref(),
            Some("arg[0] 'pull' != 'push'")
        );
        double.env.insert("GIT_DIR".into(), "b".into());
        let mut with_env = call(&["push", "v1"]);
        with_env.env.insert("GIT_DIR".into(), "a".into());
        assert_eq!(double.mismatch(&with_env).as_deref(), Some("env['GIT_DIR'] 'a' != 'b'"));
        with_env.env.clear();
        assert_eq!(
            double.mismatch(&with_env),
            None,
            "an absent variable is injected, not a mismatch"
        );
    }

    #[test]
    fn default_counts_follow_the_kind() {
        assert_eq!(
            DoubleSpec::new(0, DoubleKind::Mock, "a").verified_times(),
            Some(Times::Exactly(1))
        );
        assert_eq!(DoubleSpec::new(0, DoubleKind::Spy, "a").verified_times(), None);
        let mut stub = DoubleSpec::new(0, DoubleKind::Stub, "a");
        stub.times = Some(Times::Exactly(3));
        assert_eq!(stub.verified_times(), None);
        assert!(Times::AtLeast(2).satisfied_by(5) && !Times::Exactly(2).satisfied_by(3));
        assert!(Times::Exactly(1).full_at(1) && !Times::AtLeast(1).full_at(9));
    }
}
