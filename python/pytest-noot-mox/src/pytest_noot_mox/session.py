"""``Mox``: one controller, its doubles, and its verification.

The ``mox`` fixture makes one per test; it can also be used by hand
(``with Mox() as mox: ...``), then the code under test needs ``mox.env``
in its environment. ``verify()`` asks the controller once (it stops
answering afterwards) and remembers the outcome; ``close()`` stops the
controller and the callback server, whatever happened before.
"""

from .callbacks import CallbackServer
from .controller import Controller
from .doubles import CommandDouble
from .errors import MoxError, VerificationError


class VerifyOutcome:
    """What the controller said at verification."""

    def __init__(self, reply):
        self.ok = bool(reply["ok"])
        self.report = reply.get("report", "")
        self.document = reply.get("document")


class Mox:
    """A noot controller with cmd-mox's API: stub(), mock(), spy(), verify()."""

    def __init__(self, noot_bin=None, cwd=None, test_id=None):
        self._controller = Controller(noot_bin=noot_bin, cwd=cwd)
        # Named in the metadata of the fixtures this session records.
        self.test_id = test_id
        self._callback_server = None
        self._outcome = None
        self._closed = False
        self.doubles = []

    @property
    def env(self):
        """The variables the code under test needs: PATH and NOOT_MOX_SOCKET."""
        return dict(self._controller.env)

    @property
    def controller_pid(self):
        """The process id of the ``noot mox serve`` controller."""
        return self._controller.pid

    def stub(self, command):
        """A double that answers and is never verified."""
        return self._double("stub", command)

    def mock(self, command):
        """A double that must be called as declared (once unless told otherwise)."""
        return self._double("mock", command)

    def spy(self, command):
        """A double that records its calls; verified only on a count you give."""
        return self._double("spy", command)

    def _double(self, kind, command):
        double = CommandDouble(self, kind, command)
        self.doubles.append(double)
        return double

    @property
    def verified(self):
        return self._outcome is not None

    def check(self):
        """Verifies once and returns the VerifyOutcome, without raising."""
        if self._outcome is None:
            self._outcome = VerifyOutcome(self._request("verify"))
        return self._outcome

    def verify(self):
        """Verifies every double; raises VerificationError with noot's report
        on any failure. The controller stops answering calls afterwards;
        fixtures being recorded are saved (scrubbed) now."""
        outcome = self.check()
        if not outcome.ok:
            raise VerificationError(outcome.report, outcome.document)
        return outcome.document

    def _inspect(self, index):
        """Double ``index``'s calls: from the controller, or after verify()
        (when it no longer answers) from the verification's document."""
        if self._outcome is None or self._outcome.document is None:
            return self._request("inspect", index=index)
        double = self._outcome.document["doubles"][index]
        journal = self._outcome.document.get("journal", [])
        return {
            "call_count": double["calls"],
            "invocations": [call for call in journal if call.get("double") == double["label"]],
        }

    def _request(self, request_type, **fields):
        if self._closed:
            raise MoxError(f"this Mox is closed; cannot {request_type}")
        if self._outcome is not None:
            raise MoxError(
                f"cannot {request_type} after verify(): the controller has stopped answering"
            )
        return self._controller.request(request_type, **fields)

    def _callbacks(self):
        if self._callback_server is None:
            self._callback_server = CallbackServer()
        return self._callback_server

    def close(self):
        """Stops the controller and the callback server; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._controller.stop()
        finally:
            if self._callback_server is not None:
                self._callback_server.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False
