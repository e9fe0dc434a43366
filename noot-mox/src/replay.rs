//! Replaying a fixture: which recording answers a call.
//!
//! Strict: command, arguments, stdin and the recording's environment subset
//! must all match. Fuzzy: command and arguments must match; among those,
//! the best fit wins (stdin equal first, then more equal environment
//! pairs), ties to the lowest sequence. A recording answers once unless it
//! is marked `repeatable`. Values are compared in their scrubbed form: a
//! recording whose token was redacted still matches the live call that
//! passes the real token, because the call is scrubbed the same way first.
//! A strict miss shows the closest recordings with what differs.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::bytes::{Bytes, quote};
use crate::fixture::Recording;
use crate::protocol::Invocation;
use crate::scrubbing::FixtureScrubber;
use crate::secrets::KnownSecrets;

/// How calls are matched to recordings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Everything recorded must match.
    Strict,
    /// Command and arguments must match; the best fit of the rest wins.
    Fuzzy,
}

/// A loaded fixture being replayed.
pub struct ReplaySet {
    /// The fixture's path, for reports.
    pub name: String,
    /// Strict or fuzzy.
    pub mode: Mode,
    /// Only this command's recordings, when a spy replays.
    pub only: Option<String>,
    /// The recordings and whether each has answered.
    pub recordings: Vec<(Recording, bool)>,
    /// Scrubs a live call before comparing (the fixture was scrubbed).
    pub scrubber: Option<Arc<dyn FixtureScrubber>>,
}

impl std::fmt::Debug for ReplaySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplaySet")
            .field("name", &self.name)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// A call in the form recordings are compared with.
struct Scrubbed {
    args: Vec<Bytes>,
    stdin: Bytes,
    env: BTreeMap<String, String>,
}

fn scrub(scrubber: Option<&Arc<dyn FixtureScrubber>>, bytes: &Bytes, field: &str) -> Bytes {
    match (scrubber, std::str::from_utf8(bytes.as_slice())) {
        (Some(s), Ok(text)) => {
            s.scrub(text, field).map_or_else(|_| bytes.clone(), |(clean, _)| Bytes::from(clean))
        }
        _ => bytes.clone(),
    }
}

impl ReplaySet {
    /// The recordings of `fixture` (those of `only`, when a spy replays),
    /// none used yet.
    pub fn new(
        name: String,
        fixture: crate::fixture::Fixture,
        mode: Mode,
        only: Option<String>,
        scrubber: Option<Arc<dyn FixtureScrubber>>,
    ) -> Self {
        let recordings = fixture
            .recordings
            .into_iter()
            .filter(|r| only.as_deref().is_none_or(|o| o == r.command))
            .map(|r| (r, false))
            .collect();
        Self { name, mode, only, recordings, scrubber }
    }

    /// Whether this set holds recordings of `command`.
    pub fn covers(&self, command: &str) -> bool {
        self.only.as_deref().is_none_or(|only| only == command)
            && self.recordings.iter().any(|(r, _)| r.command == command)
    }

    fn scrubbed(
        &self,
        call: &Invocation,
        known: &KnownSecrets,
        env_keys: impl Iterator<Item = String>,
    ) -> Scrubbed {
        let s = self.scrubber.as_ref();
        // Hidden as the recording hid them: the scrubbers, then known secrets.
        let scrub = |s: Option<&Arc<dyn FixtureScrubber>>, bytes: &Bytes, field: &str| {
            Bytes(known.hide_bytes(scrub(s, bytes, field).as_slice()))
        };
        let mut env = BTreeMap::new();
        for key in env_keys {
            if let Some(value) = call.env.get(&key) {
                env.insert(
                    key.clone(),
                    scrub(s, &Bytes::from(value.as_str()), &format!("env.{key}"))
                        .lossy()
                        .into_owned(),
                );
            }
        }
        Scrubbed {
            args: call
                .args
                .iter()
                .enumerate()
                .map(|(i, a)| scrub(s, a, &format!("args[{i}]")))
                .collect(),
            stdin: scrub(s, call.stdin.as_ref().unwrap_or(&Bytes::default()), "stdin"),
            env,
        }
    }

    /// The recording that answers `call`, marked used; or the closest
    /// recordings with what differs.
    pub fn answer(
        &mut self,
        call: &Invocation,
        known: &KnownSecrets,
    ) -> Result<Recording, Vec<String>> {
        let keys: std::collections::BTreeSet<String> = self
            .recordings
            .iter()
            .filter(|(r, _)| r.command == call.command)
            .flat_map(|(r, _)| r.env.keys().cloned())
            .collect();
        let live = self.scrubbed(call, known, keys.into_iter());
        let available =
            |(r, used): &(Recording, bool)| r.command == call.command && (!*used || r.repeatable);
        let stdin_of = |r: &Recording| r.stdin.clone().unwrap_or_default();
        let env_equal =
            |r: &Recording| r.env.iter().filter(|(k, v)| live.env.get(*k) == Some(*v)).count();
        // Unused recordings first (a repeatable one must not starve a later
        // identical one), then stdin, then environment pairs.
        let mut best: Option<(usize, (bool, bool, usize))> = None;
        for (i, entry) in self.recordings.iter().enumerate() {
            if !available(entry) || entry.0.args != live.args {
                continue;
            }
            let r = &entry.0;
            let stdin_equal = stdin_of(r) == live.stdin;
            let env_pairs = env_equal(r);
            if self.mode == Mode::Strict && !(stdin_equal && env_pairs == r.env.len()) {
                continue;
            }
            let score = (!entry.1, stdin_equal, env_pairs);
            // Strictly better only: ties keep the lower sequence found first.
            if best.is_none_or(|(_, b)| score > b) {
                best = Some((i, score));
            }
        }
        if let Some((i, _)) = best {
            self.recordings[i].1 = true;
            return Ok(self.recordings[i].0.clone());
        }
        Err(self.closest(call, &live))
    }

    /// Up to three recordings of the command, each with its first difference.
    fn closest(&self, call: &Invocation, live: &Scrubbed) -> Vec<String> {
        let mut scored: Vec<(usize, &Recording, String)> = self
            .recordings
            .iter()
            .filter(|(r, used)| r.command == call.command && (!used || r.repeatable))
            .map(|(r, _)| {
                let same_prefix = r.args.iter().zip(&live.args).take_while(|(a, b)| a == b).count();
                (same_prefix, r, difference(r, live))
            })
            .collect();
        scored.sort_by_key(|(prefix, r, _)| (std::cmp::Reverse(*prefix), r.sequence));
        scored
            .into_iter()
            .take(3)
            .map(|(_, r, why)| {
                format!("#{} {}: {why}", r.sequence, crate::journal::signature(&r.command, &r.args))
            })
            .collect()
    }

    /// [`ReplaySet::answer`] with no known secrets.
    #[cfg(test)]
    fn answer_plain(&mut self, call: &Invocation) -> Result<Recording, Vec<String>> {
        self.answer(call, &KnownSecrets::default())
    }

    /// Recordings that never answered (repeatable ones do not count).
    pub fn unconsumed(&self) -> Vec<String> {
        self.recordings
            .iter()
            .filter(|(r, used)| {
                !used && !r.repeatable && self.only.as_deref().is_none_or(|o| o == r.command)
            })
            .map(|(r, _)| {
                format!("#{} {}", r.sequence, crate::journal::signature(&r.command, &r.args))
            })
            .collect()
    }
}

/// The first field in which `live` differs from `recording`.
fn difference(recording: &Recording, live: &Scrubbed) -> String {
    for (i, (want, got)) in recording.args.iter().zip(&live.args).enumerate() {
        if want != got {
            return format!("arg[{i}] {} != {}", quote(got.as_slice()), quote(want.as_slice()));
        }
    }
    if recording.args.len() != live.args.len() {
        return format!("{} args recorded, {} given", recording.args.len(), live.args.len());
    }
    let stdin = recording.stdin.clone().unwrap_or_default();
    if stdin != live.stdin {
        return format!("stdin {} != {}", quote(live.stdin.as_slice()), quote(stdin.as_slice()));
    }
    for (key, want) in &recording.env {
        let got = live.env.get(key);
        if got != Some(want) {
            let got = got.map_or_else(|| "unset".to_string(), |v| crate::secrets::mask(key, v));
            return format!(
                "env[{}] {got} != {}",
                quote(key.as_bytes()),
                crate::secrets::mask(key, want)
            );
        }
    }
    "already replayed (a recording answers once unless marked repeatable)".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recording(sequence: u64, args: &[&str], stdout: &str) -> Recording {
        Recording {
            sequence,
            command: "git".into(),
            args: args.iter().map(|a| (*a).into()).collect(),
            stdin: None,
            env: BTreeMap::from([("GIT_DIR".to_string(), ".git".to_string())]),
            stdout: stdout.into(),
            stderr: Bytes::default(),
            exit_code: 0,
            timestamp: String::new(),
            duration_ms: 0,
            repeatable: false,
            extra: Default::default(),
        }
    }

    fn set(mode: Mode) -> ReplaySet {
        ReplaySet {
            name: "f.json".into(),
            mode,
            only: None,
            recordings: vec![
                (recording(1, &["status"], "one"), false),
                (recording(2, &["status"], "two"), false),
                (recording(3, &["log"], "log"), false),
            ],
            scrubber: None,
        }
    }

    fn call(args: &[&str], git_dir: Option<&str>) -> Invocation {
        Invocation {
            command: "git".into(),
            args: args.iter().map(|a| (*a).into()).collect(),
            env: git_dir.map(|d| ("GIT_DIR".to_string(), d.to_string())).into_iter().collect(),
            ..Invocation::default()
        }
    }

    #[test]
    fn strict_replay_consumes_in_sequence_and_reports_the_rest() {
        let mut set = set(Mode::Strict);
        let first = set.answer_plain(&call(&["status"], Some(".git"))).expect("one");
        let second = set.answer_plain(&call(&["status"], Some(".git"))).expect("two");
        assert_eq!((first.stdout.lossy().as_ref(), second.stdout.lossy().as_ref()), ("one", "two"));
        let miss = set.answer_plain(&call(&["status"], Some(".git"))).expect_err("used up");
        assert_eq!(
            miss,
            vec!["#3 git('log'): arg[0] 'status' != 'log'"],
            "only what is left is offered"
        );
        assert_eq!(set.unconsumed(), vec!["#3 git('log')"]);
    }

    #[test]
    fn a_strict_miss_names_what_differs_in_the_closest_recordings() {
        let mut set = set(Mode::Strict);
        let miss = set.answer_plain(&call(&["status"], Some("other"))).expect_err("env differs");
        assert_eq!(miss[0], "#1 git('status'): env['GIT_DIR'] 'other' != '.git'");
        let miss = set.answer_plain(&call(&["stash"], Some(".git"))).expect_err("args differ");
        assert_eq!(miss[0], "#1 git('status'): arg[0] 'stash' != 'status'");
    }

    #[test]
    fn fuzzy_replay_takes_the_best_fit_and_ignores_the_environment() {
        let mut set = set(Mode::Fuzzy);
        let hit = set.answer_plain(&call(&["status"], None)).expect("args are enough");
        assert_eq!(hit.sequence, 1);
    }
}
