//! Verification failures and their reports.
//!
//! Every report reads the same way: a title line, then sections (`Expected`,
//! `Actual`, `Reason`, …) each followed by its lines indented two spaces.
//! The titles are cmd-mox's, so its users recognise them. Values of
//! environment variables named like secrets are masked before they get here.

use std::fmt;

use serde::Serialize;

/// One thing verification found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// A call no double accepted (failed at once, reported again here).
    Unexpected {
        /// The call, `git('pull')`, plus stdin/env lines.
        actual: String,
        /// The closest expectation for that command, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        expected: Option<String>,
        /// Why the closest one refused it.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A call to a double that had already had all its calls.
    Additional {
        /// The double's expectation.
        expected: String,
        /// Calls allowed.
        times: String,
        /// The extra call.
        actual: String,
    },
    /// A double called too few (or too many) times.
    Unfulfilled {
        /// The double's expectation.
        expected: String,
        /// Calls it expected.
        times: String,
        /// Calls it got.
        observed: u64,
        /// The calls it got (the last few).
        recorded: Vec<String>,
    },
    /// Ordered doubles were called out of order.
    Order {
        /// The order declared.
        expected: Vec<String>,
        /// The order seen.
        observed: Vec<String>,
        /// The first call out of place.
        first_mismatch: String,
    },
    /// A handler panicked or failed.
    HandlerFailed {
        /// The double.
        double: String,
        /// The call.
        actual: String,
        /// What it said.
        message: String,
    },
    /// A comparator (user code) panicked while the call was matched.
    MatcherFailed {
        /// The call.
        actual: String,
        /// What the panic said.
        message: String,
    },
    /// No recording of a replayed fixture matches a call.
    ReplayMiss {
        /// The fixture.
        fixture: String,
        /// The call.
        actual: String,
        /// The closest recordings, each with what differs.
        closest: Vec<String>,
    },
    /// Recordings that no call replayed.
    Unconsumed {
        /// The fixture.
        fixture: String,
        /// The recordings left.
        recordings: Vec<String>,
    },
    /// A fixture could not be scrubbed or written.
    RecordFailed {
        /// The fixture.
        fixture: String,
        /// Why.
        message: String,
    },
    /// A passthrough never reported its result (the shim died or was killed).
    PassthroughLost {
        /// The call.
        actual: String,
    },
}

impl Failure {
    /// The same failure with `hide` applied to every text in it.
    pub fn hidden(mut self, hide: impl Fn(&str) -> String) -> Self {
        let mut each = |text: &mut String| *text = hide(text);
        match &mut self {
            Self::Unexpected { actual, expected, reason } => {
                each(actual);
                expected.iter_mut().for_each(&mut each);
                reason.iter_mut().for_each(&mut each);
            }
            Self::Additional { expected, times, actual } => {
                [expected, times, actual].into_iter().for_each(each);
            }
            Self::Unfulfilled { expected, recorded, .. } => {
                each(expected);
                recorded.iter_mut().for_each(each);
            }
            Self::Order { expected, observed, first_mismatch } => {
                expected.iter_mut().chain(observed.iter_mut()).for_each(&mut each);
                each(first_mismatch);
            }
            Self::HandlerFailed { double, actual, message } => {
                [double, actual, message].into_iter().for_each(each);
            }
            Self::MatcherFailed { actual, message } => [actual, message].into_iter().for_each(each),
            Self::PassthroughLost { actual } => each(actual),
            Self::ReplayMiss { fixture, actual, closest } => {
                each(fixture);
                each(actual);
                closest.iter_mut().for_each(each);
            }
            Self::Unconsumed { fixture, recordings } => {
                each(fixture);
                recordings.iter_mut().for_each(each);
            }
            Self::RecordFailed { fixture, message } => {
                [fixture, message].into_iter().for_each(each)
            }
        }
        self
    }

    /// The report's title line.
    pub fn title(&self) -> &'static str {
        match self {
            Self::Unexpected { .. } => "Unexpected command invocation",
            Self::Additional { .. } => "Unexpected additional invocation",
            Self::Unfulfilled { .. } => "Unfulfilled expectation",
            Self::Order { .. } => "Ordered expectations not satisfied",
            Self::HandlerFailed { .. } => "Handler failed",
            Self::MatcherFailed { .. } => "Comparator failed",
            Self::PassthroughLost { .. } => "Passthrough result lost",
            Self::ReplayMiss { .. } => "No recording matches",
            Self::Unconsumed { .. } => "Recordings never replayed",
            Self::RecordFailed { .. } => "Recording not saved",
        }
    }

    fn sections(&self) -> Vec<(&'static str, Vec<String>)> {
        let lines = |text: &str| text.lines().map(str::to_string).collect::<Vec<_>>();
        match self {
            Self::Unexpected { actual, expected, reason } => {
                let mut out = Vec::new();
                match expected {
                    Some(e) => out.push(("Expected", lines(e))),
                    None => out.push(("Expected", vec!["(no double for this command)".into()])),
                }
                out.push(("Actual", lines(actual)));
                if let Some(r) = reason {
                    out.push(("Reason", vec![r.clone()]));
                }
                out
            }
            Self::Additional { expected, times, actual } => vec![
                ("Expected", lines(&format!("{expected}\ncalls: {times}"))),
                ("Actual", lines(actual)),
                ("Reason", vec![format!("one call more than the {times} expected")]),
            ],
            Self::Unfulfilled { expected, times, observed, recorded } => {
                let recorded = if recorded.is_empty() {
                    vec!["(none)".to_string()]
                } else {
                    recorded.iter().enumerate().map(|(i, c)| format!("{}. {c}", i + 1)).collect()
                };
                vec![
                    ("Expected", lines(&format!("{expected}\ncalls: {times}"))),
                    ("Actual", vec![format!("calls: {observed}")]),
                    ("Reason", vec![format!("called {observed} time(s), expected {times}")]),
                    ("Recorded invocations", recorded),
                ]
            }
            Self::Order { expected, observed, first_mismatch } => {
                let numbered = |list: &[String]| -> Vec<String> {
                    list.iter().enumerate().map(|(i, c)| format!("{}. {c}", i + 1)).collect()
                };
                vec![
                    ("Expected", numbered(expected)),
                    ("Actual", numbered(observed)),
                    ("Reason", vec![first_mismatch.clone()]),
                ]
            }
            Self::HandlerFailed { double, actual, message } => vec![
                ("Double", vec![double.clone()]),
                ("Actual", lines(actual)),
                ("Reason", vec![message.clone()]),
            ],
            Self::MatcherFailed { actual, message } => vec![
                ("Actual", lines(actual)),
                ("Reason", vec![format!("a comparator panicked: {message}")]),
            ],
            Self::ReplayMiss { fixture, actual, closest } => {
                let closest = if closest.is_empty() {
                    vec!["(none left for this command)".to_string()]
                } else {
                    closest.clone()
                };
                vec![("Fixture", vec![fixture.clone()]), ("Actual", lines(actual)), ("Closest recordings", closest)]
            }
            Self::RecordFailed { fixture, message } => {
                vec![("Fixture", vec![fixture.clone()]), ("Reason", vec![message.clone()])]
            }
            Self::Unconsumed { fixture, recordings } => vec![
                ("Fixture", vec![fixture.clone()]),
                ("Reason", vec![format!("{} recordings were never replayed", recordings.len())]),
                ("Recordings", recordings.clone()),
            ],
            Self::PassthroughLost { actual } => vec![
                ("Actual", lines(actual)),
                (
                    "Reason",
                    vec!["no result came back: the real command was still running when verification ran, or its shim was killed".into()],
                ),
            ],
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.title())?;
        for (label, lines) in self.sections() {
            write!(f, "\n{label}:")?;
            for line in lines {
                write!(f, "\n  {line}")?;
            }
        }
        Ok(())
    }
}

/// Why [`crate::Mox::verify`] failed: every failure, in the order found
/// (unexpected calls first, then counts, then order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct VerifyError {
    /// What was wrong.
    pub failures: Vec<Failure>,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.failures.len();
        write!(f, "command doubles: {n} verification failure{}", if n == 1 { "" } else { "s" })?;
        for failure in &self.failures {
            write!(f, "\n\n{failure}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_has_a_title_then_indented_sections() {
        let failure = Failure::Unexpected {
            actual: "git('pull')".into(),
            expected: Some("git('push')".into()),
            reason: Some("arg[0] 'pull' != 'push'".into()),
        };
        assert_eq!(
            failure.to_string(),
            "Unexpected command invocation\nExpected:\n  git('push')\nActual:\n  git('pull')\nReason:\n  arg[0] 'pull' != 'push'"
        );
    }

    #[test]
    fn unfulfilled_lists_what_was_recorded_or_none() {
        let failure = Failure::Unfulfilled {
            expected: "git('push')".into(),
            times: "2".into(),
            observed: 0,
            recorded: vec![],
        };
        let text = failure.to_string();
        assert!(text.starts_with("Unfulfilled expectation\n"), "{text}");
        assert!(text.contains("Reason:\n  called 0 time(s), expected 2"), "{text}");
        assert!(text.ends_with("Recorded invocations:\n  (none)"), "{text}");
    }
}
