"""Starting, asking and stopping a ``noot mox serve`` controller.

The controller runs in the foreground of a child process (``noot mox
serve --format json``), prints one JSON document with the environment the
code under test needs (``PATH`` with the shim folder first, and
``NOOT_MOX_SOCKET``), then answers over its socket until it is asked to
verify. It watches the test process (``--watch-pid``), so even a test
process killed with SIGKILL leaves no controller behind; normally the
plugin stops it at teardown with SIGTERM, then SIGKILL.
"""

import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time

from . import wire
from .errors import ControllerError, NootNotFoundError

NOOT_BIN_ENV = "NOOT_BIN"
INSTALL_HINT = (
    "pytest-noot-mox needs the noot binary: install it with "
    "`cargo install --path noot-host` or set NOOT_BIN"
)

# A debug build on a loaded two-core machine starts in well under a second;
# this only bounds a controller that never gets ready.
STARTUP_TIMEOUT_SECONDS = 30.0
# How long a controller gets to stop on SIGTERM before it is killed.
STOP_GRACE_SECONDS = 5.0


def find_noot(environ=None):
    """The path of the noot binary: $NOOT_BIN, else ``noot`` on PATH."""
    environ = os.environ if environ is None else environ
    configured = environ.get(NOOT_BIN_ENV)
    if configured:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            return configured
        raise NootNotFoundError(
            f"NOOT_BIN={configured} is not an executable file. {INSTALL_HINT}"
        )
    found = shutil.which("noot", path=environ.get("PATH", os.defpath))
    if found is None:
        raise NootNotFoundError(f"noot is not on PATH. {INSTALL_HINT}")
    return found


class Controller:
    """One running ``noot mox serve`` process and its socket."""

    def __init__(self, noot_bin=None, cwd=None):
        self.noot_bin = noot_bin or find_noot()
        # The controller's stderr goes to a file: nobody has to drain it,
        # and it is there to quote if the controller fails to start.
        self._stderr = tempfile.TemporaryFile()
        try:
            self._process = subprocess.Popen(
                [self.noot_bin, "mox", "serve", "--format", "json", "--watch-pid", str(os.getpid())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                cwd=cwd,
                # Its own session: a Ctrl-C at the terminal reaches pytest,
                # whose teardown then stops the controller in order.
                start_new_session=True,
            )
        except OSError as error:
            self._stderr.close()
            raise NootNotFoundError(f"cannot run {self.noot_bin}: {error}. {INSTALL_HINT}") from error
        try:
            announcement = self._read_announcement()
        except BaseException:
            self.stop()
            raise
        self.env = dict(announcement["env"])
        self.socket_path = self.env["NOOT_MOX_SOCKET"]
        self.pid = self._process.pid

    def _read_announcement(self):
        """Reads stdout until it holds one whole JSON document."""
        stdout = self._process.stdout
        buffer = b""
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ControllerError(
                        f"`{self.noot_bin} mox serve` was not ready after "
                        f"{STARTUP_TIMEOUT_SECONDS:.0f} s{self._stderr_excerpt()}"
                    )
                if not selector.select(remaining):
                    continue
                chunk = os.read(stdout.fileno(), 65536)
                if not chunk:
                    code = self._process.wait()
                    raise ControllerError(
                        f"`{self.noot_bin} mox serve` exited with {code} before it was "
                        f"ready{self._stderr_excerpt()}"
                    )
                buffer += chunk
                try:
                    document = json.loads(buffer)
                except ValueError:
                    continue  # the document is pretty-printed over several lines
                if not isinstance(document, dict) or "env" not in document:
                    raise ControllerError(
                        f"`{self.noot_bin} mox serve` printed {document!r}, not its environment"
                    )
                return document

    def _stderr_excerpt(self):
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip()
        return f":\n{text}" if text else ""

    def request(self, request_type, **fields):
        """One request over the socket; returns the reply (a dict)."""
        return wire.exchange(self.socket_path, request_type, **fields)

    @property
    def running(self):
        return self._process.poll() is None

    def stop(self):
        """Stops the controller whatever state it is in; safe to call twice."""
        process = self._process
        try:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        finally:
            if process.stdout is not None:
                process.stdout.close()
            self._stderr.close()
