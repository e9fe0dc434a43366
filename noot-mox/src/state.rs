//! The controller's state and its one decision: which double answers a
//! call, and how.
//!
//! Selection, for a call of command C: among C's doubles that accept the
//! call, a mock that still wants calls (in registration order; ordered ones
//! first when several accept), else a spy, else a stub. A call that only
//! full mocks accept is an *additional* invocation; a call nothing accepts
//! is *unexpected*: both fail at once (the shim exits non-zero with the
//! report on stderr) and again at verify. Handlers run outside the lock, so
//! a slow handler never holds up other calls.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::time::Instant;

use crate::bytes::Bytes;
use crate::double::{Behaviour, DoubleKind, DoubleSpec, Handler, mask};
use crate::fixture::Recording;
use crate::journal::{Answer, Call, Journal};
use crate::protocol::{EXIT_UNEXPECTED, Invocation, PassthroughResult, Reply, Response};
use crate::replay::ReplaySet;
use crate::secrets::KnownSecrets;
use crate::verify::{Failure, VerifyError};

/// A double and what happened to it.
#[derive(Debug)]
pub struct DoubleState {
    /// What was declared.
    pub spec: DoubleSpec,
    /// Calls it answered (not bounded).
    pub calls: u64,
    /// Its calls (bounded like the journal), for spies' assertions.
    pub invocations: VecDeque<Call>,
}

#[derive(Debug)]
struct Pending {
    double: usize,
    started: Instant,
    /// The call, kept here (not only in the bounded journal) so its
    /// recording is never lost.
    call: Call,
}

/// Everything the controller knows, behind one lock.
pub struct State {
    /// Every double, in registration order.
    pub doubles: Vec<DoubleState>,
    /// Every call.
    pub journal: Journal,
    /// Ordered doubles, in the order `in_order` was called.
    pub ordered: Vec<usize>,
    ordered_calls: Vec<(u64, usize)>,
    failures: Vec<Failure>,
    pending: HashMap<u64, Pending>,
    seq: u64,
    limit: Option<usize>,
    /// `PATH` without the shim folder, for passthroughs.
    pub lookup_path: String,
    /// The controller's own environment when it started (to show what a
    /// caller changed).
    pub base_env: BTreeMap<String, String>,
    /// Secret values seen in any environment, hidden in every report.
    pub secrets: KnownSecrets,
    /// Fixtures being replayed.
    pub replays: Vec<ReplaySet>,
    /// Calls recorded so far, per fixture path.
    pub recorded: BTreeMap<std::path::PathBuf, Vec<Recording>>,
    /// What a recording keeps of the environment: allowlist and prefixes.
    pub record_env: crate::scrubbing::RecordEnv,
    /// Who records, when a harness said so (else the test thread or command line).
    pub recorded_by: Option<String>,
    /// Scrubs recordings before they are saved, and live calls before they
    /// are compared with a fixture.
    pub scrubber: Option<std::sync::Arc<dyn crate::scrubbing::FixtureScrubber>>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the environments: they hold the caller's secrets.
        f.debug_struct("State")
            .field("doubles", &self.doubles.len())
            .field("calls", &self.seq)
            .field("failures", &self.failures.len())
            .finish_non_exhaustive()
    }
}

/// What the server must do to answer a call.
pub enum Decision {
    /// Send this.
    Reply(Reply),
    /// Run this handler on the call, then [`State::finish_handler`] with
    /// the double's index.
    Handle(Handler, Box<Call>, usize),
}

impl State {
    /// An empty state.
    pub fn new(
        limit: Option<usize>,
        lookup_path: String,
        base_env: BTreeMap<String, String>,
    ) -> Self {
        Self {
            doubles: Vec::new(),
            journal: Journal::new(limit),
            ordered: Vec::new(),
            ordered_calls: Vec::new(),
            failures: Vec::new(),
            pending: HashMap::new(),
            seq: 0,
            limit,
            lookup_path,
            secrets: {
                let mut known = KnownSecrets::default();
                known.learn(&base_env);
                known
            },
            replays: Vec::new(),
            recorded: BTreeMap::new(),
            record_env: crate::scrubbing::RecordEnv::default(),
            recorded_by: None,
            scrubber: None,
            base_env,
        }
    }

    /// Registers a double and returns its index.
    pub fn add(&mut self, kind: DoubleKind, command: &str) -> usize {
        let index = self.doubles.len();
        self.doubles.push(DoubleState {
            spec: DoubleSpec::new(index, kind, command),
            calls: 0,
            invocations: VecDeque::new(),
        });
        index
    }

    /// Marks double `index` ordered (or not).
    pub fn set_ordered(&mut self, index: usize, ordered: bool) {
        if let Some(double) = self.doubles.get_mut(index) {
            double.spec.ordered = ordered;
        }
        // Declared order is the order of the first `in_order`; saying it
        // again keeps the place.
        if !ordered {
            self.ordered.retain(|&i| i != index);
        } else if !self.ordered.contains(&index) {
            self.ordered.push(index);
        }
    }

    fn choose(&self, call: &Invocation) -> Result<usize, Failure> {
        let accepting: Vec<&DoubleState> = self
            .doubles
            .iter()
            .filter(|d| d.spec.command == call.command && d.spec.mismatch(call).is_none())
            .collect();
        let wanting_mock = |ordered: bool| {
            accepting.iter().find(|d| {
                d.spec.kind == DoubleKind::Mock
                    && d.spec.ordered == ordered
                    && !d.spec.verified_times().is_some_and(|t| t.full_at(d.calls))
            })
        };
        let has_room =
            |d: &&&DoubleState| !d.spec.verified_times().is_some_and(|t| t.full_at(d.calls));
        if let Some(d) = wanting_mock(true).or_else(|| wanting_mock(false)) {
            return Ok(d.spec.index);
        }
        // A mock that had all its calls accepts this one: that is an
        // additional invocation, even if a broader spy or stub would answer.
        let full_mock = accepting.iter().find(|d| d.spec.kind == DoubleKind::Mock);
        if full_mock.is_none() {
            let spy = accepting.iter().filter(|d| d.spec.kind == DoubleKind::Spy).find(has_room);
            let stub = || accepting.iter().find(|d| d.spec.kind == DoubleKind::Stub);
            if let Some(d) = spy.or_else(stub) {
                return Ok(d.spec.index);
            }
        }
        if let Some(full) = full_mock.or_else(|| accepting.first()) {
            let times = full.spec.verified_times().map_or_else(String::new, |t| t.to_string());
            return Err(Failure::Additional {
                expected: full.spec.describe(),
                times,
                actual: self.describe_call(call, Some(&full.spec)),
            });
        }
        // The closest: the double of this command whose arguments match
        // longest, so the reason names the argument that differs.
        let closest =
            self.doubles.iter().filter(|d| d.spec.command == call.command).max_by_key(|d| {
                let prefix = d.spec.args.as_ref().map_or(call.args.len(), |want| {
                    want.iter().zip(&call.args).take_while(|(w, a)| w.matches(a.as_slice())).count()
                });
                (prefix, std::cmp::Reverse(d.spec.index))
            });
        Err(Failure::Unexpected {
            actual: self.describe_call(call, closest.map(|d| &d.spec)),
            expected: closest.map(|d| d.spec.describe()),
            reason: closest.and_then(|d| d.spec.mismatch(call)),
        })
    }

    /// A call as reports show it: the signature, plus the stdin and the
    /// variables the expectation cares about.
    fn describe_call(&self, call: &Invocation, against: Option<&DoubleSpec>) -> String {
        let mut text = crate::journal::signature(&call.command, &call.args);
        if let Some(spec) = against {
            if spec.stdin.is_some() {
                let stdin = call.stdin.as_ref().map_or(&[][..], |s| s.as_slice());
                text.push_str(&format!("\nstdin={}", crate::bytes::quote(stdin)));
            }
            if !spec.env.is_empty() {
                let pairs: Vec<String> = spec
                    .env
                    .keys()
                    .map(|k| match call.env.get(k) {
                        Some(v) => format!("{k}={}", mask(k, v)),
                        None => format!("{k} unset"),
                    })
                    .collect();
                text.push_str(&format!("\nenv: {}", pairs.join(", ")));
            }
        }
        text
    }

    fn new_call(&mut self, call: &Invocation, double: Option<usize>, answer: Answer) -> Call {
        self.seq += 1;
        let mut env = call.env.clone();
        if let Some(d) = double.and_then(|i| self.doubles.get(i)) {
            for (k, v) in &d.spec.env {
                env.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        Call {
            seq: self.seq,
            command: call.command.clone(),
            args: call.args.clone(),
            stdin: call.stdin.clone(),
            env,
            cwd: call.cwd.clone(),
            pid: call.pid,
            stdout: Bytes::default(),
            stderr: Bytes::default(),
            exit_code: 0,
            duration_ms: 0,
            double: double.and_then(|i| self.doubles.get(i)).map(|d| d.spec.label()),
            answer,
        }
    }

    /// Decides how to answer `call`.
    pub fn decide(&mut self, call: &Invocation, arrived: Instant) -> Decision {
        self.secrets.learn(&call.env);
        // A spy that replays answers from its fixture; a fixture replayed
        // by the controller answers what no double accepts.
        if let Some(set) =
            self.replays.iter().position(|r| r.only.is_some() && r.covers(&call.command))
        {
            return Decision::Reply(self.replay(set, call, arrived));
        }
        let chosen = self.choose(call);
        if chosen.is_err() {
            if let Some(set) = self.replays.iter().position(|r| r.covers(&call.command)) {
                return Decision::Reply(self.replay(set, call, arrived));
            }
        }
        let index = match chosen {
            Ok(index) => index,
            Err(failure) => {
                let failure = self.hide(failure);
                let message = format!("noot-mox: {failure}");
                let mut entry = self.new_call(call, None, Answer::Unexpected);
                entry.stderr = Bytes::from(format!("{message}\n"));
                entry.exit_code = EXIT_UNEXPECTED;
                self.failures.push(failure);
                self.journal.push(entry);
                return Decision::Reply(Reply::Error { message, exit_code: EXIT_UNEXPECTED });
            }
        };
        let behaviour = self.doubles[index].spec.behaviour.clone();
        match behaviour {
            Behaviour::Respond(response) => {
                let mut entry = self.new_call(call, Some(index), Answer::Canned);
                entry.duration_ms = arrived.elapsed().as_millis() as u64;
                self.settle(index, entry, &response);
                Decision::Reply(Reply::Respond(response))
            }
            Behaviour::Run(handler) => {
                let entry = self.new_call(call, Some(index), Answer::Handler);
                self.count(index, entry.seq);
                Decision::Handle(handler, Box::new(entry), index)
            }
            Behaviour::Passthrough => {
                let entry = self.new_call(call, Some(index), Answer::PassthroughPending);
                let id = entry.seq;
                self.count(index, id);
                self.pending
                    .insert(id, Pending { double: index, started: arrived, call: entry.clone() });
                let env = self.doubles[index].spec.env.clone();
                self.journal.push(entry);
                Decision::Reply(Reply::Passthrough {
                    id,
                    lookup_path: self.lookup_path.clone(),
                    env,
                })
            }
        }
    }

    /// Answers `call` from replay set `set`, or fails it with the closest
    /// recordings.
    fn replay(&mut self, set: usize, call: &Invocation, arrived: Instant) -> Reply {
        let known = self.secrets.clone();
        // A spy that replays injects its `with_env` into the call, as it did
        // when the call was recorded, so the recording's environment matches.
        let mut call = call.clone();
        if let Some(command) = self.replays[set].only.clone() {
            for double in self.doubles.iter().filter(|d| d.spec.command == command) {
                for (k, v) in &double.spec.env {
                    call.env.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        let call = &call;
        let outcome = self.replays[set].answer(call, &known);
        let name = self.replays[set].name.clone();
        match outcome {
            Ok(recording) => {
                let mut entry = self.new_call(call, None, Answer::Replayed);
                entry.double = Some(format!("replay {name} #{}", recording.sequence));
                entry.stdout = recording.stdout.clone();
                entry.stderr = recording.stderr.clone();
                entry.exit_code = recording.exit_code;
                entry.duration_ms = arrived.elapsed().as_millis() as u64;
                self.journal.push(entry);
                Reply::Respond(Response::new(
                    recording.stdout,
                    recording.stderr,
                    recording.exit_code,
                ))
            }
            Err(closest) => {
                let failure = self.hide(Failure::ReplayMiss {
                    fixture: name,
                    actual: crate::journal::signature(&call.command, &call.args),
                    closest,
                });
                let message = format!("noot-mox: {failure}");
                let mut entry = self.new_call(call, None, Answer::Unexpected);
                entry.stderr = Bytes::from(format!("{message}\n"));
                entry.exit_code = EXIT_UNEXPECTED;
                self.failures.push(failure);
                self.journal.push(entry);
                Reply::Error { message, exit_code: EXIT_UNEXPECTED }
            }
        }
    }

    /// Adds `entry` (answered by double `index`) to that double's fixture,
    /// if it records.
    fn record(&mut self, index: usize, entry: &Call) {
        let Some(path) = self.doubles[index].spec.record_to.clone() else { return };
        let explicit: Vec<String> = self.doubles[index].spec.env.keys().cloned().collect();
        let env = crate::scrubbing::env_subset(
            &entry.env,
            &self.base_env,
            &entry.command,
            &explicit,
            &self.record_env.allowlist,
            &self.record_env.prefixes,
        );
        let list = self.recorded.entry(path).or_default();
        list.push(Recording {
            sequence: list.len() as u64 + 1,
            command: entry.command.clone(),
            args: entry.args.clone(),
            stdin: entry.stdin.clone().filter(|s| !s.is_empty()),
            env,
            stdout: entry.stdout.clone(),
            stderr: entry.stderr.clone(),
            exit_code: entry.exit_code,
            timestamp: crate::fixture::rfc3339_now(),
            duration_ms: entry.duration_ms,
            repeatable: false,
            extra: Default::default(),
        });
    }

    /// Fails a call whose matching panicked (a comparator is user code):
    /// journalled, reported at verify, and the shim exits 1.
    pub fn refuse_after_panic(&mut self, call: &Invocation, message: &str) -> Reply {
        self.secrets.learn(&call.env);
        let failure = self.hide(Failure::MatcherFailed {
            actual: crate::journal::signature(&call.command, &call.args),
            message: message.to_string(),
        });
        let text = format!("noot-mox: {failure}");
        let mut entry = self.new_call(call, None, Answer::Unexpected);
        entry.stderr = Bytes::from(format!("{text}\n"));
        entry.exit_code = EXIT_UNEXPECTED;
        self.failures.push(failure);
        self.journal.push(entry);
        Reply::Error { message: text, exit_code: EXIT_UNEXPECTED }
    }

    fn count(&mut self, index: usize, seq: u64) {
        let double = &mut self.doubles[index];
        double.calls += 1;
        if double.spec.ordered {
            self.ordered_calls.push((seq, index));
        }
    }

    /// Keeps `entry` among double `index`'s invocations, bounded like the journal.
    fn keep_invocation(&mut self, index: usize, entry: Call) {
        let limit = self.limit;
        let invocations = &mut self.doubles[index].invocations;
        if let Some(limit) = limit {
            while invocations.len() >= limit.max(1) {
                invocations.pop_front();
            }
        }
        invocations.push_back(entry);
    }

    fn remember(&mut self, index: usize, entry: Call) {
        self.keep_invocation(index, entry.clone());
        self.journal.push(entry);
    }

    fn settle(&mut self, index: usize, mut entry: Call, response: &Response) {
        entry.stdout = response.stdout.clone();
        entry.stderr = response.stderr.clone();
        entry.exit_code = response.exit_code;
        self.count(index, entry.seq);
        self.record(index, &entry);
        self.remember(index, entry);
    }

    /// Records what a handler returned (or that it panicked) and gives the reply.
    pub fn finish_handler(
        &mut self,
        index: usize,
        mut entry: Call,
        outcome: Result<Response, String>,
        arrived: Instant,
    ) -> Reply {
        entry.duration_ms = arrived.elapsed().as_millis() as u64;
        match outcome {
            Ok(response) => {
                entry.stdout = response.stdout.clone();
                entry.stderr = response.stderr.clone();
                entry.exit_code = response.exit_code;
                self.record(index, &entry);
                self.remember(index, entry);
                Reply::Respond(response)
            }
            Err(message) => {
                let failure = self.hide(Failure::HandlerFailed {
                    double: entry.double.clone().unwrap_or_default(),
                    actual: entry.signature(),
                    message: message.clone(),
                });
                let text = format!("noot-mox: {failure}");
                entry.answer = Answer::HandlerFailed;
                entry.stderr = Bytes::from(format!("{text}\n"));
                entry.exit_code = EXIT_UNEXPECTED;
                self.failures.push(failure);
                self.remember(index, entry);
                Reply::Error { message: text, exit_code: EXIT_UNEXPECTED }
            }
        }
    }

    /// Records a passthrough's result.
    pub fn finish_passthrough(&mut self, result: PassthroughResult) -> Reply {
        let Some(pending) = self.pending.remove(&result.id) else {
            return Reply::Error {
                message: format!("noot-mox: no passthrough with id {} is pending", result.id),
                exit_code: EXIT_UNEXPECTED,
            };
        };
        let mut entry = pending.call;
        entry.stdout = result.stdout;
        entry.stderr = result.stderr;
        entry.exit_code = result.exit_code;
        entry.duration_ms = pending.started.elapsed().as_millis() as u64;
        entry.answer = Answer::Passthrough;
        if let Some(kept) = self.journal.get_mut(result.id) {
            *kept = entry.clone();
        }
        self.record(pending.double, &entry);
        self.keep_invocation(pending.double, entry);
        Reply::Ack
    }

    /// Every failure: those seen at call time, lost passthroughs, counts, order.
    pub fn verify(&self) -> Result<(), VerifyError> {
        let mut failures = self.failures.clone();
        let mut lost: Vec<&u64> = self.pending.keys().collect();
        lost.sort();
        for seq in lost {
            let actual = self
                .journal
                .entries()
                .find(|c| c.seq == *seq)
                .map_or_else(|| format!("call #{seq}"), Call::signature);
            failures.push(Failure::PassthroughLost { actual });
        }
        for double in &self.doubles {
            let Some(times) = double.spec.verified_times() else { continue };
            if times.satisfied_by(double.calls) {
                continue;
            }
            // Too many calls of an exact count were already reported as
            // additional invocations; report only too few here.
            if double.calls > 0 && times.full_at(double.calls) {
                continue;
            }
            failures.push(Failure::Unfulfilled {
                expected: double.spec.describe(),
                times: times.to_string(),
                observed: double.calls,
                recorded: double
                    .invocations
                    .iter()
                    .rev()
                    .take(5)
                    .rev()
                    .map(Call::signature)
                    .collect(),
            });
        }
        for set in &self.replays {
            let recordings = set.unconsumed();
            if !recordings.is_empty() {
                failures.push(Failure::Unconsumed { fixture: set.name.clone(), recordings });
            }
        }
        let ordered: Vec<&DoubleSpec> =
            self.ordered.iter().map(|&i| &self.doubles[i].spec).collect();
        if let Some(failure) = crate::order::check(&ordered, &self.ordered_calls, &self.journal) {
            failures.push(failure);
        }
        if failures.is_empty() {
            Ok(())
        } else {
            let failures = failures.into_iter().map(|f| self.hide(f)).collect();
            Err(VerifyError { failures })
        }
    }

    /// `failure` with known secrets hidden.
    fn hide(&self, failure: Failure) -> Failure {
        failure.hidden(|text| self.secrets.hide(text).into_owned())
    }
}

/// Runs `handler` on `call`, turning a panic into a message.
pub fn run_handler(handler: &Handler, call: &Call) -> Result<Response, String> {
    catch_unwind(AssertUnwindSafe(|| handler(call))).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_else(|| "a panic".to_string());
        Err(format!("the handler panicked: {what}"))
    })
}

/// The state, shared between the controller, its doubles and the server.
pub type Shared = std::sync::Arc<Mutex<State>>;

/// Locks `shared`, surviving a poisoned lock (a panicking handler runs
/// outside it, but a test thread holding a double may have panicked).
pub fn lock(shared: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::double::Times;

    fn state() -> State {
        State::new(None, "/usr/bin".into(), BTreeMap::new())
    }

    fn invoke(command: &str, args: &[&str]) -> Invocation {
        Invocation {
            command: command.into(),
            args: args.iter().map(|a| (*a).into()).collect(),
            ..Invocation::default()
        }
    }

    fn reply(state: &mut State, call: &Invocation) -> Reply {
        match state.decide(call, Instant::now()) {
            Decision::Reply(reply) => reply,
            Decision::Handle(handler, entry, index) => {
                let outcome = run_handler(&handler, &entry);
                state.finish_handler(index, *entry, outcome, Instant::now())
            }
        }
    }

    fn mock(state: &mut State, args: &[&str], response: Response) -> usize {
        let index = state.add(DoubleKind::Mock, "git");
        let spec = &mut state.doubles[index].spec;
        spec.args = Some(args.iter().map(|a| (*a).into()).collect());
        spec.behaviour = Behaviour::Respond(response);
        index
    }

    #[test]
    fn a_matching_mock_answers_and_verify_passes() {
        let mut state = state();
        mock(&mut state, &["push"], Response::ok("pushed\n"));
        assert_eq!(
            reply(&mut state, &invoke("git", &["push"])),
            Reply::Respond(Response::ok("pushed\n"))
        );
        assert_eq!(state.verify(), Ok(()));
    }

    #[test]
    fn an_unexpected_call_fails_at_once_and_again_at_verify() {
        let mut state = state();
        mock(&mut state, &["push", "origin"], Response::ok(""));
        let Reply::Error { message, exit_code } =
            reply(&mut state, &invoke("git", &["pull", "origin"]))
        else {
            panic!("not an error")
        };
        assert_eq!(exit_code, EXIT_UNEXPECTED);
        assert!(message.contains("Reason:\n  arg[0] 'pull' != 'push'"), "{message}");
        let failures = state.verify().expect_err("fails").failures;
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert_eq!(failures[0].title(), "Unexpected command invocation");
        assert_eq!(failures[1].title(), "Unfulfilled expectation");
    }

    #[test]
    fn a_call_past_an_exact_count_is_additional_not_unfulfilled() {
        let mut state = state();
        mock(&mut state, &["push"], Response::ok(""));
        reply(&mut state, &invoke("git", &["push"]));
        assert!(matches!(reply(&mut state, &invoke("git", &["push"])), Reply::Error { .. }));
        let failures = state.verify().expect_err("fails").failures;
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].title(), "Unexpected additional invocation");
    }

    #[test]
    fn mocks_with_counts_take_calls_in_turn_and_then_a_stub_cannot_hide_an_extra_call() {
        let mut state = state();
        let first = mock(&mut state, &["fetch"], Response::ok("1"));
        state.doubles[first].spec.times = Some(Times::Exactly(2));
        mock(&mut state, &["fetch"], Response::ok("2"));
        let stub = state.add(DoubleKind::Stub, "git");
        state.doubles[stub].spec.behaviour = Behaviour::Respond(Response::ok("stub"));
        let outs: Vec<Reply> =
            (0..3).map(|_| reply(&mut state, &invoke("git", &["fetch"]))).collect();
        assert_eq!(
            outs,
            vec![
                Reply::Respond(Response::ok("1")),
                Reply::Respond(Response::ok("1")),
                Reply::Respond(Response::ok("2")),
            ]
        );
        assert_eq!(
            reply(&mut state, &invoke("git", &["status"])),
            Reply::Respond(Response::ok("stub"))
        );
        assert!(matches!(reply(&mut state, &invoke("git", &["fetch"])), Reply::Error { .. }));
        let failures = state.verify().expect_err("one extra fetch").failures;
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].title(), "Unexpected additional invocation");
    }

    #[test]
    fn ordered_mocks_called_out_of_order_are_reported() {
        let mut state = state();
        let a = mock(&mut state, &["add"], Response::ok(""));
        let b = mock(&mut state, &["commit"], Response::ok(""));
        state.set_ordered(a, true);
        state.set_ordered(b, true);
        reply(&mut state, &invoke("git", &["commit"]));
        reply(&mut state, &invoke("git", &["add"]));
        let failures = state.verify().expect_err("fails").failures;
        assert_eq!(failures.len(), 1);
        let text = failures[0].to_string();
        assert!(text.starts_with("Ordered expectations not satisfied"), "{text}");
        assert!(text.contains("Expected:\n  1. git('add')\n  2. git('commit')"), "{text}");
        assert!(
            text.contains("Actual:\n  1. git('commit') (step 2)\n  2. git('add') (step 1)"),
            "{text}"
        );
    }

    #[test]
    fn a_panicking_handler_fails_the_call_and_the_verification() {
        let mut state = state();
        let index = state.add(DoubleKind::Stub, "make");
        state.doubles[index].spec.behaviour =
            Behaviour::Run(std::sync::Arc::new(|_: &Call| panic!("boom")));
        let Reply::Error { message, .. } = reply(&mut state, &invoke("make", &[])) else {
            panic!("no error")
        };
        assert!(message.contains("the handler panicked: boom"), "{message}");
        assert!(state.verify().is_err());
    }

    #[test]
    fn a_passthrough_is_pending_until_its_result_arrives() {
        let mut state = state();
        let index = state.add(DoubleKind::Spy, "ls");
        state.doubles[index].spec.behaviour = Behaviour::Passthrough;
        let Reply::Passthrough { id, lookup_path, .. } = reply(&mut state, &invoke("ls", &["-1"]))
        else {
            panic!("no passthrough")
        };
        assert_eq!(lookup_path, "/usr/bin");
        assert_eq!(
            state.verify().expect_err("lost").failures[0].title(),
            "Passthrough result lost"
        );
        let result =
            PassthroughResult { id, stdout: "a\n".into(), exit_code: 0, ..Default::default() };
        assert_eq!(state.finish_passthrough(result), Reply::Ack);
        assert_eq!(state.verify(), Ok(()));
        assert_eq!(state.doubles[index].invocations[0].stdout, Bytes::from("a\n"));
    }
}
