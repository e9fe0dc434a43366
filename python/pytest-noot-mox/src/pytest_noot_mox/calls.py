"""What a doubled command was called with, and what a handler answers.

``Invocation`` is what ``runs()`` callables receive and what a double's
``invocations`` lists; ``Response`` is what a callable may return.
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Union

from .wire import decode_bytes

Text = Union[str, bytes]


@dataclass
class Invocation:
    """One call of a doubled command.

    Arguments, stdin and outputs are str when they were UTF-8, else bytes.
    ``env`` is the caller's environment for ``runs()`` callables; the
    controller does not report it for ``invocations``, where it is empty.
    """

    command: str
    args: List[Text]
    stdin: Optional[Text] = None
    env: Dict[str, str] = field(default_factory=dict)
    cwd: str = ""
    stdout: Text = ""
    stderr: Text = ""
    exit_code: int = 0

    @classmethod
    def from_wire(cls, message):
        """Reads a call from a callback request or an inspect reply."""
        return cls(
            command=message.get("command", ""),
            args=[decode_bytes(arg) for arg in message.get("args", [])],
            stdin=decode_bytes(message.get("stdin")),
            env=dict(message.get("env") or {}),
            cwd=message.get("cwd", ""),
            stdout=decode_bytes(message.get("stdout", "")),
            stderr=decode_bytes(message.get("stderr", "")),
            exit_code=message.get("exit_code", 0),
        )


@dataclass
class Response:
    """What a doubled command answers: its stdout, stderr and exit code."""

    stdout: Text = ""
    stderr: Text = ""
    exit_code: int = 0

    @classmethod
    def coerce(cls, value):
        """A Response from a Response or a (stdout, stderr, exit_code) tuple."""
        if isinstance(value, Response):
            return value
        if isinstance(value, tuple) and len(value) == 3:
            return cls(*value)
        raise TypeError(
            f"a runs() callable returned {value!r}: return (stdout, stderr, exit_code) "
            "or a pytest_noot_mox.Response"
        )
