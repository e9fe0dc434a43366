"""noot's socket protocol from Python: one JSON message each way.

A request is one JSON document written to the controller's Unix socket,
then the writing side is shut down; the reply is read to end of stream.
The callback server speaks the same framing the other way round. Bytes
that are not UTF-8 travel as ``{"base64": "..."}``; text travels as text.
"""

import base64
import json
import socket

from .errors import ControllerError

PROTOCOL_VERSION = 1

# Long enough for a verify that saves fixtures on a loaded machine; a
# controller that stays silent longer than this is stuck.
REQUEST_TIMEOUT_SECONDS = 60.0


def encode_bytes(value):
    """A str as is; bytes as text when they are UTF-8, else as base64."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"{value!r} is neither str nor bytes")


def decode_bytes(value):
    """The reverse of encode_bytes: text stays str, base64 becomes bytes."""
    if isinstance(value, dict) and "base64" in value:
        return base64.b64decode(value["base64"])
    return value


def read_to_end(connection):
    """Everything the peer sends until it shuts down its side."""
    chunks = []
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def send_message(connection, message):
    """Writes one JSON message and half-closes, as the protocol frames it."""
    connection.sendall(json.dumps(message).encode("utf-8"))
    connection.shutdown(socket.SHUT_WR)


def exchange(socket_path, request_type, **fields):
    """Sends one request to the controller and returns its reply (a dict).

    An ``error`` reply raises ControllerError with the controller's message.
    """
    request = {"protocol": PROTOCOL_VERSION, "type": request_type, **fields}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(REQUEST_TIMEOUT_SECONDS)
            connection.connect(socket_path)
            send_message(connection, request)
            raw = read_to_end(connection)
    except OSError as error:
        raise ControllerError(
            f"cannot reach noot's controller at {socket_path} ({request_type}): {error}"
        ) from error
    if not raw:
        raise ControllerError(
            f"noot's controller at {socket_path} closed without answering {request_type}"
        )
    try:
        reply = json.loads(raw)
    except ValueError as error:
        raise ControllerError(
            f"noot's controller at {socket_path} answered {request_type} with something "
            f"that is not JSON ({error}): is NOOT_BIN the same noot version?"
        ) from error
    if reply.get("type") == "error":
        raise ControllerError(reply.get("message", "noot's controller refused the request"))
    return reply
