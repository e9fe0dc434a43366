"""``CommandDouble``: cmd-mox's fluent API over noot's configure protocol.

A double keeps its whole description (the JSON of noot-mox's
``DoubleJson``) and sends all of it again after every builder call, which
the controller applies to the same double (``"index": N``). Mistakes the
controller catches (a passthrough mock, a bad regex, a missing replay
fixture) are raised at the builder call that made them. Queries
(``invocations``, ``call_count``, ``assert_called*``) ask the controller.
"""

import os

from . import comparators, wire
from .calls import Invocation
from .errors import MoxError

# The answers a double can give; setting one clears the others.
_CANNED_KEYS = ("stdout", "stderr", "exit_code")
_ANSWER_KEYS = _CANNED_KEYS + ("passthrough", "callback")
_COUNT_KEYS = ("times", "at_least", "never")


class CommandDouble:
    """A stub, mock or spy of one command. Every builder method returns self."""

    def __init__(self, mox, kind, command):
        self._mox = mox
        self.kind = kind
        self.command = command
        self._description = {"kind": kind, "command": command}
        self._index = None
        self._send()

    def __repr__(self):
        return f"<{self.kind} {self.command} #{self._index}>"

    @property
    def description(self):
        """The description last sent to the controller (a copy)."""
        return dict(self._description)

    def _send(self):
        reply = self._mox._request("configure", index=self._index, double=self._description)
        self._index = reply["index"]

    def _update(self, **fields):
        for key, value in fields.items():
            if value is None:
                self._description.pop(key, None)
            else:
                self._description[key] = value
        self._send()
        return self

    def _answer_with(self, **fields):
        cleared = {key: None for key in _ANSWER_KEYS}
        cleared.update(fields)
        return self._update(**cleared)

    def _count(self, **fields):
        cleared = {key: None for key in _COUNT_KEYS}
        cleared.update(fields)
        return self._update(**cleared)

    # Matching -----------------------------------------------------------

    def with_args(self, *args):
        """Expects exactly these arguments (strings, paths or comparators)."""
        return self._update(args=[comparators.to_wire(arg) for arg in args])

    def with_matching_args(self, *matchers):
        """Expects arguments matching these comparators (or exact strings)."""
        return self.with_args(*matchers)

    def with_stdin(self, expected):
        """Expects this stdin: a string or a comparator."""
        return self._update(stdin=comparators.to_wire(expected, what="a stdin expectation"))

    def with_env(self, env):
        """Expects these variables not to be contradicted; injects them into
        handlers and passthroughs. Adds to what earlier calls gave."""
        merged = dict(self._description.get("env", {}))
        for name, value in env.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise MoxError(f"with_env takes str names and values, not {name!r}: {value!r}")
            merged[name] = value
        return self._update(env=merged)

    # Answers ------------------------------------------------------------

    def returns(self, stdout="", stderr="", exit_code=0):
        """Answers every call with this output and exit code (str or bytes)."""
        return self._answer_with(
            stdout=wire.encode_bytes(stdout),
            stderr=wire.encode_bytes(stderr),
            exit_code=int(exit_code),
        )

    def runs(self, handler):
        """Answers each call with ``handler(invocation)``, which returns
        ``(stdout, stderr, exit_code)`` or a Response. It runs in this test
        process, on a thread of the callback server."""
        if not callable(handler):
            raise MoxError(f"runs() takes a callable, not {handler!r}")
        path = self._mox._callbacks().listen(self._index, handler)
        return self._answer_with(callback=path)

    def passthrough(self):
        """Runs the real command (spies only) and journals what it did."""
        if self.kind != "spy":
            raise MoxError(f"passthrough() is for spies; {self.command} is a {self.kind}")
        return self._answer_with(passthrough=True)

    # Counts and order ---------------------------------------------------

    def times(self, count):
        """Expects exactly ``count`` calls."""
        return self._count(times=int(count))

    def times_called(self, count):
        """The same as times() (cmd-mox's other name)."""
        return self.times(count)

    def at_least(self, count):
        """Expects ``count`` calls or more."""
        return self._count(at_least=int(count))

    def never(self):
        """Expects no call at all."""
        return self._count(never=True)

    def in_order(self):
        """Takes part in the order check, in the order in_order() was called."""
        return self._update(ordered=True)

    def any_order(self):
        """Leaves the order check."""
        return self._update(ordered=None)

    # Fixtures -----------------------------------------------------------

    def record(self, path):
        """Records the calls it answers to fixture ``path``, scrubbed, at
        verify (with passthrough(), the real command's answers)."""
        return self._update(
            record=os.path.abspath(os.fspath(path)),
            recorded_by=getattr(self._mox, "test_id", None),
        )

    def replay(self, path, strict=True):
        """Answers its command's calls from fixture ``path``: strictly
        (command, args, stdin and env must match) or, with strict=False,
        by best fit. Verify reports recordings never replayed."""
        return self._update(
            replay=os.path.abspath(os.fspath(path)),
            replay_mode="strict" if strict else "fuzzy",
        )

    # Queries ------------------------------------------------------------

    def _inspect(self):
        return self._mox._inspect(self._index)

    @property
    def invocations(self):
        """Its calls so far, oldest first, as Invocation objects."""
        return [Invocation.from_wire(call) for call in self._inspect()["invocations"] or []]

    @property
    def call_count(self):
        """How many calls it answered."""
        return self._inspect()["call_count"]

    def assert_called(self):
        """At least one call."""
        if self.call_count == 0:
            raise AssertionError(f"expected {self.command} to be called, but it was not")

    def assert_not_called(self):
        """No call at all."""
        calls = self.invocations
        if calls:
            raise AssertionError(
                f"expected {self.command} not to be called, but it was called "
                f"{len(calls)} time(s): {[call.args for call in calls]}"
            )

    def assert_called_times(self, count):
        """Exactly ``count`` calls."""
        actual = self.call_count
        if actual != count:
            raise AssertionError(
                f"expected {self.command} to be called {count} time(s), but it was called {actual}"
            )

    def assert_called_with(self, *args, stdin=None):
        """Its last call had exactly these arguments (and this stdin, when given)."""
        calls = self.invocations
        if not calls:
            raise AssertionError(f"expected {self.command}{_signature(args)}, but it was not called")
        last = calls[-1]
        if list(last.args) != list(args):
            raise AssertionError(
                f"expected {self.command}{_signature(args)}, "
                f"but the last call was {self.command}{_signature(last.args)}"
            )
        if stdin is not None and last.stdin != stdin:
            raise AssertionError(f"expected stdin {stdin!r}, but the last call had {last.stdin!r}")


def _signature(args):
    return "(" + ", ".join(repr(arg) for arg in args) + ")"
