//! [`Double`]: the fluent handle a test configures a double through, and
//! asks a spy about afterwards.
//!
//! Every builder method changes the registered double at once and returns
//! the handle, so `mox.mock("git").with_args(["push"]).times(2);` needs no
//! final `build()`, and `let spy = mox.spy("ls").passthrough();` keeps a
//! handle for the assertions.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::bytes::{Bytes, quote};
use crate::double::{Behaviour, DoubleKind, DoubleSpec, Times};
use crate::journal::Call;
use crate::matchers::Comparator;
use crate::protocol::Response;
use crate::state::{Shared, lock};

/// A registered double.
#[derive(Clone)]
pub struct Double {
    shared: Shared,
    index: usize,
}

impl std::fmt::Debug for Double {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.spec().label())
    }
}

impl Double {
    pub(crate) fn new(shared: Shared, index: usize) -> Self {
        Self { shared, index }
    }

    fn edit(self, change: impl FnOnce(&mut DoubleSpec)) -> Self {
        {
            let mut state = lock(&self.shared);
            if let Some(double) = state.doubles.get_mut(self.index) {
                change(&mut double.spec);
            }
        }
        self
    }

    /// A copy of what was declared.
    pub fn spec(&self) -> DoubleSpec {
        lock(&self.shared).doubles[self.index].spec.clone()
    }

    /// Expects exactly these arguments; each is a value (compared byte for
    /// byte) or a [`Comparator`].
    pub fn with_args<I, A>(self, args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<Comparator>,
    {
        let args: Vec<Comparator> = args.into_iter().map(Into::into).collect();
        self.edit(|spec| spec.args = Some(args))
    }

    /// The same as [`Double::with_args`] (cmd-mox's name for comparators).
    pub fn with_matching_args<I, A>(self, args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<Comparator>,
    {
        self.with_args(args)
    }

    /// Expects this stdin (exact bytes or a comparator).
    pub fn with_stdin(self, stdin: impl Into<Comparator>) -> Self {
        let stdin = stdin.into();
        self.edit(|spec| spec.stdin = Some(stdin))
    }

    /// The caller must not set these variables to other values; they are
    /// injected into handlers and passthroughs.
    pub fn with_env<I, K, V>(self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: BTreeMap<String, String> =
            vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        self.edit(|spec| spec.env.extend(vars))
    }

    /// Answers with `response`.
    pub fn returns(self, response: Response) -> Self {
        self.edit(|spec| spec.behaviour = Behaviour::Respond(response))
    }

    /// Answers with whatever `handler` returns for the call.
    pub fn runs(self, handler: impl Fn(&Call) -> Response + Send + Sync + 'static) -> Self {
        self.runs_fallible(move |call| Ok(handler(call)))
    }

    /// Answers with `handler`'s response; an `Err` fails the call (the shim
    /// exits 1 with the message) and the verification.
    pub fn runs_fallible(
        self,
        handler: impl Fn(&Call) -> Result<Response, String> + Send + Sync + 'static,
    ) -> Self {
        let handler: crate::double::Handler = Arc::new(handler);
        self.edit(|spec| spec.behaviour = Behaviour::Run(handler))
    }

    /// Runs the real command (found on the original `PATH`) and records it.
    pub fn passthrough(self) -> Self {
        self.edit(|spec| spec.behaviour = Behaviour::Passthrough)
    }

    /// Records every call it answers to fixture `path`, scrubbed, when the
    /// controller verifies (use with `passthrough()` to capture the real
    /// command).
    pub fn record(self, path: impl Into<std::path::PathBuf>) -> Self {
        let path = path.into();
        // Registered now, so a test that makes no call still writes its
        // (empty) fixture instead of leaving an older one in place.
        lock(&self.shared).recorded.entry(path.clone()).or_default();
        self.edit(|spec| spec.record_to = Some(path))
    }

    /// Answers its command's calls from fixture `path` (strictly) when no
    /// double accepts them; verify reports recordings never replayed.
    pub fn replay(self, path: impl AsRef<std::path::Path>) -> Result<Self, crate::MoxError> {
        self.replay_with(path, crate::replay::Mode::Strict)
    }

    /// [`Double::replay`] with a matching mode.
    pub fn replay_with(
        self,
        path: impl AsRef<std::path::Path>,
        mode: crate::replay::Mode,
    ) -> Result<Self, crate::MoxError> {
        let (fixture, _) = crate::fixture::Fixture::load(path.as_ref())?;
        let command = self.spec().command;
        let mut state = lock(&self.shared);
        let scrubber = state.scrubber.clone();
        let name = path.as_ref().display().to_string();
        state.replays.push(crate::replay::ReplaySet::new(
            name,
            fixture,
            mode,
            Some(command),
            scrubber,
        ));
        drop(state);
        Ok(self)
    }

    /// Expects exactly `n` calls.
    pub fn times(self, n: u64) -> Self {
        self.edit(|spec| spec.times = Some(Times::Exactly(n)))
    }

    /// The same as [`Double::times`] (cmd-mox's other name).
    pub fn times_called(self, n: u64) -> Self {
        self.times(n)
    }

    /// Expects `n` calls or more.
    pub fn at_least(self, n: u64) -> Self {
        self.edit(|spec| spec.times = Some(Times::AtLeast(n)))
    }

    /// Expects no call at all.
    pub fn never(self) -> Self {
        self.times(0)
    }

    /// Takes part in the order check: ordered doubles must be called in the
    /// order `in_order` was called on them.
    pub fn in_order(self) -> Self {
        lock(&self.shared).set_ordered(self.index, true);
        self
    }

    /// Leaves the order check (the default).
    pub fn any_order(self) -> Self {
        lock(&self.shared).set_ordered(self.index, false);
        self
    }

    /// The calls it answered (bounded like the journal).
    pub fn invocations(&self) -> Vec<Call> {
        lock(&self.shared).doubles[self.index].invocations.iter().cloned().collect()
    }

    /// Its last call, to assert on anything (stdin, env, cwd, output).
    pub fn last_call(&self) -> Option<Call> {
        lock(&self.shared).doubles[self.index].invocations.back().cloned()
    }

    /// How many calls it answered.
    pub fn call_count(&self) -> u64 {
        lock(&self.shared).doubles[self.index].calls
    }

    fn name(&self) -> String {
        self.spec().label()
    }

    /// Panics unless it was called at least once.
    #[track_caller]
    pub fn assert_called(&self) {
        if self.call_count() == 0 {
            panic!("expected {} to be called at least once, but it was never called", self.name());
        }
    }

    /// Panics if it was called.
    #[track_caller]
    pub fn assert_not_called(&self) {
        let n = self.call_count();
        if n > 0 {
            let last = self
                .invocations()
                .last()
                .map_or_else(String::new, |c| format!("; last: {}", c.signature()));
            panic!(
                "expected {} not to be called, but it was called {n} time(s){last}",
                self.name()
            );
        }
    }

    /// Panics unless it was called exactly `n` times.
    #[track_caller]
    pub fn assert_called_times(&self, n: u64) {
        let got = self.call_count();
        if got != n {
            panic!(
                "expected {} to be called {n} time(s), but it was called {got} time(s)",
                self.name()
            );
        }
    }

    /// Panics unless its last call had exactly these arguments.
    #[track_caller]
    pub fn assert_called_with<I, A>(&self, args: I)
    where
        I: IntoIterator<Item = A>,
        A: Into<Bytes>,
    {
        let want: Vec<Bytes> = args.into_iter().map(Into::into).collect();
        let Some(last) = self.invocations().pop() else {
            panic!(
                "expected {} to be called with {}, but it was never called",
                self.name(),
                show(&want)
            );
        };
        if last.args != want {
            let reason = crate::matchers::args_mismatch(
                &want.iter().cloned().map(Comparator::Equals).collect::<Vec<_>>(),
                &last.args,
            )
            .unwrap_or_default();
            panic!(
                "{} was last called with {}, expected {}: {reason}",
                self.name(),
                show(&last.args),
                show(&want)
            );
        }
    }

    /// Which kind it is.
    pub fn kind(&self) -> DoubleKind {
        self.spec().kind
    }
}

fn show(args: &[Bytes]) -> String {
    let parts: Vec<String> = args.iter().map(|a| quote(a.as_slice())).collect();
    format!("[{}]", parts.join(", "))
}
