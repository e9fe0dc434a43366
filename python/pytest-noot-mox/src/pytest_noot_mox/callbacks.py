"""The test process's side of ``runs(callable)``: a small callback server.

noot's controller cannot run Python, so a double that ``runs`` a callable
names a Unix socket instead; for each call the controller connects, sends
the call (command, args, stdin, env, cwd) and reads back
``{"stdout", "stderr", "exit_code"}`` or ``{"error": "..."}``. One server
per ``Mox`` listens on one socket per such double, in a private folder
(mode 0700), on a background thread; each call is answered on a thread of
its own, so a callable that itself runs a doubled command does not block
the others. ``close()`` stops the thread and removes the folder.
"""

import json
import os
import selectors
import shutil
import socket
import tempfile
import threading
import traceback

from . import wire
from .calls import Invocation, Response

# sockaddr_un holds 108 bytes; keep room for the folder's and socket's names.
_MAX_BASE_DIR_LENGTH = 60


def _private_dir():
    base = tempfile.gettempdir()
    if len(base) > _MAX_BASE_DIR_LENGTH:
        base = "/tmp"
    return tempfile.mkdtemp(prefix="noot-mox-py-", dir=base)  # mkdtemp makes it 0700


def _describe_failure(handler, error):
    """One line for noot's report: what raised, and where."""
    name = getattr(handler, "__name__", repr(handler))
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return f"runs({name}) raised {text}{where}"


class CallbackServer:
    """Answers the controller's callbacks with Python callables."""

    def __init__(self):
        self._dir = _private_dir()
        self._selector = selectors.DefaultSelector()
        self._handlers = {}  # socket path -> callable
        self._lock = threading.Lock()
        # Writing to this pair wakes the serving thread so it can stop.
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._selector.register(self._wake_reader, selectors.EVENT_READ, None)
        self._stopping = False
        self._thread = threading.Thread(
            target=self._serve, name="pytest-noot-mox callbacks", daemon=True
        )
        self._thread.start()

    def listen(self, key, handler):
        """The socket path that calls ``handler``; ``key`` names the double.

        Listening again under the same key swaps the handler and keeps the path.
        """
        path = os.path.join(self._dir, f"double-{key}.sock")
        with self._lock:
            if path not in self._handlers:
                listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                listener.bind(path)
                listener.listen(16)
                listener.setblocking(False)
                self._selector.register(listener, selectors.EVENT_READ, path)
            self._handlers[path] = handler
        return path

    def _serve(self):
        while not self._stopping:
            for key, _ in self._selector.select():
                path = key.data
                if path is None:  # the wake-up pair: close() was called
                    continue
                try:
                    connection, _ = key.fileobj.accept()
                except BlockingIOError:
                    continue  # another accept raced us to it
                with self._lock:
                    handler = self._handlers[path]
                threading.Thread(
                    target=self._answer,
                    args=(connection, handler),
                    name="pytest-noot-mox callback",
                    daemon=True,
                ).start()

    @staticmethod
    def _answer(connection, handler):
        with connection:
            connection.setblocking(True)
            try:
                call = Invocation.from_wire(json.loads(wire.read_to_end(connection)))
                response = Response.coerce(handler(call))
                reply = {
                    "stdout": wire.encode_bytes(response.stdout),
                    "stderr": wire.encode_bytes(response.stderr),
                    "exit_code": int(response.exit_code),
                }
            except Exception as error:  # the callable failed: the call and verify say why
                reply = {"error": _describe_failure(handler, error)}
            try:
                wire.send_message(connection, reply)
            except OSError:
                pass  # the shim that asked is gone (killed); nobody is left to tell

    def close(self):
        """Stops serving and removes the sockets; safe to call twice."""
        if self._stopping:
            return
        self._stopping = True
        self._wake_writer.send(b"x")
        self._thread.join(timeout=5)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()
        self._selector.close()
        self._wake_writer.close()
        shutil.rmtree(self._dir, ignore_errors=True)
