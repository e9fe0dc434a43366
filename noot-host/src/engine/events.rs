//! Structured events: what a session tells the outside while it works.
//!
//! Sessions emit events through the [`crate::engine::ports::EventSink`]
//! port; the renderers in [`crate::engine::render`] turn them into human
//! lines or JSON lines on stderr. Events are never the result of a command:
//! results are returned as reports and printed on stdout by the CLI.

use serde::Serialize;
use serde_json::Value;

/// One event. Serialised with its name under `event`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A command started.
    SessionStarted {
        /// The command (`scrub`, `run`, …).
        command: String,
    },
    /// A file was scrubbed.
    FileScrubbed {
        /// Its path.
        path: String,
        /// How many secrets were redacted.
        findings: usize,
    },
    /// A file was passed over.
    FileSkipped {
        /// Its path.
        path: String,
        /// Why.
        reason: String,
    },
    /// A plugin emitted an event through its port.
    Plugin {
        /// The event's kind, as the plugin named it.
        kind: String,
        /// Its fields.
        payload: Value,
    },
    /// Information the user asked for (`--debug`).
    Note {
        /// What.
        message: String,
    },
    /// Something the user should know that does not stop the command.
    Warning {
        /// What.
        message: String,
    },
    /// A mutant's verdict arrived.
    MutantFinished {
        /// Its id.
        id: String,
        /// Its status.
        status: String,
        /// How long its tests ran.
        duration_ms: u64,
    },
    /// A command finished.
    SessionFinished {
        /// The command.
        command: String,
        /// How long it took.
        elapsed_ms: u64,
    },
}

impl Event {
    /// The event's name, as in its `event` field.
    pub fn name(&self) -> &'static str {
        match self {
            Self::SessionStarted { .. } => "session_started",
            Self::FileScrubbed { .. } => "file_scrubbed",
            Self::FileSkipped { .. } => "file_skipped",
            Self::Plugin { .. } => "plugin",
            Self::Warning { .. } => "warning",
            Self::MutantFinished { .. } => "mutant_finished",
            Self::Note { .. } => "note",
            Self::SessionFinished { .. } => "session_finished",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_with_their_name() {
        let e = Event::FileScrubbed { path: "a.txt".into(), findings: 2 };
        let json = serde_json::to_value(&e).expect("serialises");
        assert_eq!(json["event"], e.name());
        assert_eq!(json["findings"], 2);
    }
}
