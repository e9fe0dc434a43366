//! The journal: every call of a doubled command, in arrival order.
//!
//! It is bounded by `max_journal_entries` (oldest dropped first, counted in
//! [`Journal::dropped`]); verification never depends on it, because each
//! double counts its own calls and the controller keeps the order of
//! ordered doubles and every unexpected call separately. Each entry keeps
//! the caller's whole environment in memory (handlers and predicates may
//! look at it); reports and JSON show only what the caller changed.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use crate::bytes::Bytes;

/// How a call was answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// A canned response.
    Canned,
    /// A handler computed the response.
    Handler,
    /// The real command ran (its result is in the entry).
    Passthrough,
    /// The real command is running; its result has not come back yet.
    PassthroughPending,
    /// No double expected it; the shim failed the call.
    Unexpected,
    /// A handler failed; the shim failed the call.
    HandlerFailed,
    /// A fixture's recording answered.
    Replayed,
}

/// One call, as the journal keeps it. Its `Debug` output masks secrets in
/// the environment, so `assert_eq!` on calls never prints a CI token.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Call {
    /// 1-based arrival number across the controller.
    pub seq: u64,
    /// The command.
    pub command: String,
    /// Its arguments.
    pub args: Vec<Bytes>,
    /// Its stdin, when it had one that was not a terminal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin: Option<Bytes>,
    /// The caller's environment.
    #[serde(skip)]
    pub env: BTreeMap<String, String>,
    /// The caller's working directory.
    pub cwd: String,
    /// The shim's pid.
    pub pid: u32,
    /// What the caller got on stdout.
    pub stdout: Bytes,
    /// What the caller got on stderr.
    pub stderr: Bytes,
    /// The caller's exit code.
    pub exit_code: i32,
    /// From the call's arrival to its answer (passthrough: to the real command's end).
    pub duration_ms: u64,
    /// Which double answered (`mock git #1`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub double: Option<String>,
    /// How.
    pub answer: Answer,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut known = crate::secrets::KnownSecrets::default();
        known.learn(&self.env);
        let hide = |b: &Bytes| Bytes(known.hide_bytes(b.as_slice()));
        f.debug_struct("Call")
            .field("seq", &self.seq)
            .field("command", &self.command)
            .field("args", &self.args.iter().map(hide).collect::<Vec<_>>())
            .field("stdin", &self.stdin.as_ref().map(hide))
            .field("env", &crate::secrets::MaskedEnv(&self.env))
            .field("cwd", &self.cwd)
            .field("pid", &self.pid)
            .field("stdout", &hide(&self.stdout))
            .field("stderr", &hide(&self.stderr))
            .field("exit_code", &self.exit_code)
            .field("duration_ms", &self.duration_ms)
            .field("double", &self.double)
            .field("answer", &self.answer)
            .finish()
    }
}

impl Call {
    /// `git('push', 'origin')`, as reports show a call.
    pub fn signature(&self) -> String {
        signature(&self.command, &self.args)
    }
}

/// Arguments a signature shows before it says how many more there are.
const SHOWN_ARGS: usize = 16;
/// Bytes of one argument a signature shows before it elides the rest.
const SHOWN_ARG_BYTES: usize = 200;

/// `name('a', 'b')`, kept short for reports: at most [`SHOWN_ARGS`]
/// arguments of at most [`SHOWN_ARG_BYTES`] bytes each (the journal and
/// the JSON keep them whole).
pub fn signature(command: &str, args: &[Bytes]) -> String {
    let mut shown: Vec<String> = args
        .iter()
        .take(SHOWN_ARGS)
        .map(|a| {
            let bytes = a.as_slice();
            if bytes.len() > SHOWN_ARG_BYTES {
                let head = crate::bytes::quote(&bytes[..SHOWN_ARG_BYTES]);
                format!("{head}… ({} bytes)", bytes.len())
            } else {
                crate::bytes::quote(bytes)
            }
        })
        .collect();
    if args.len() > SHOWN_ARGS {
        shown.push(format!("… {} more", args.len() - SHOWN_ARGS));
    }
    format!("{command}({})", shown.join(", "))
}

/// The bounded list of calls.
#[derive(Debug, Default)]
pub struct Journal {
    entries: VecDeque<Call>,
    limit: Option<usize>,
    dropped: u64,
}

impl Journal {
    /// A journal keeping at most `limit` entries (`None`: all).
    pub fn new(limit: Option<usize>) -> Self {
        Self { entries: VecDeque::new(), limit, dropped: 0 }
    }

    /// Adds `call`, dropping the oldest entry when full.
    pub fn push(&mut self, call: Call) {
        if let Some(limit) = self.limit {
            while self.entries.len() >= limit.max(1) {
                self.entries.pop_front();
                self.dropped += 1;
            }
        }
        self.entries.push_back(call);
    }

    /// The entry with `seq`, if it is still kept.
    pub fn get_mut(&mut self, seq: u64) -> Option<&mut Call> {
        self.entries.iter_mut().rev().find(|c| c.seq == seq)
    }

    /// Every kept entry, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &Call> {
        self.entries.iter()
    }

    /// How many entries were dropped to stay within the limit.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(seq: u64) -> Call {
        Call {
            seq,
            command: "git".into(),
            args: vec!["status".into()],
            stdin: None,
            env: BTreeMap::new(),
            cwd: "/".into(),
            pid: 1,
            stdout: Bytes::default(),
            stderr: Bytes::default(),
            exit_code: 0,
            duration_ms: 0,
            double: None,
            answer: Answer::Canned,
        }
    }

    #[test]
    fn a_bounded_journal_drops_the_oldest_and_counts_them() {
        let mut journal = Journal::new(Some(2));
        for seq in 1..=5 {
            journal.push(call(seq));
        }
        let kept: Vec<u64> = journal.entries().map(|c| c.seq).collect();
        assert_eq!(kept, vec![4, 5]);
        assert_eq!(journal.dropped(), 3);
        assert!(journal.get_mut(2).is_none() && journal.get_mut(5).is_some());
    }

    #[test]
    fn signature_quotes_each_argument() {
        assert_eq!(call(1).signature(), "git('status')");
        assert_eq!(signature("ls", &[]), "ls()");
        let many: Vec<Bytes> = (0..20).map(|i| Bytes::from(i.to_string())).collect();
        assert!(signature("x", &many).ends_with("'15', … 4 more)"));
        let long = [Bytes::from("a".repeat(300))];
        assert!(signature("x", &long).ends_with("… (300 bytes))"));
    }
}
