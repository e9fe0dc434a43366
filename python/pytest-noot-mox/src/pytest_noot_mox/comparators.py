"""Argument and stdin comparators, as cmd-mox names them.

Each comparator is data that noot's controller evaluates itself: it turns
into the JSON object of the configure protocol (``{"regex": "^v\\d"}``).
A plain string compares exactly. ``Predicate`` (an arbitrary Python
callable) cannot be sent to the controller, so it is refused with a
pointer to ``runs()``, where Python code does get every call.
"""

import os
import pathlib

from .errors import MoxError


class Comparator:
    """The base of every comparator: something that knows its wire form."""

    def to_wire(self):
        raise NotImplementedError

    def __eq__(self, other):
        return type(self) is type(other) and self.to_wire() == other.to_wire()

    def __hash__(self):
        return hash(repr(self.to_wire()))

    def __repr__(self):
        value = next(iter(self.to_wire().values()))
        shown = "" if value is True else repr(value)
        return f"{type(self).__name__}({shown})"


class Any(Comparator):
    """Matches any value."""

    def to_wire(self):
        return {"any": True}


# The kinds noot's controller checks, by the Python type or name a test gives.
_KIND_BY_TYPE = {int: "int", float: "float", bool: "bool"}
_KIND_NAMES = ("int", "float", "bool", "path")


class IsA(Comparator):
    """Matches a value that parses as an int, float, bool or path."""

    def __init__(self, kind):
        self.kind = _kind_name(kind)

    def to_wire(self):
        return {"is_a": self.kind}


def _kind_name(kind):
    if isinstance(kind, str) and kind in _KIND_NAMES:
        return kind
    if isinstance(kind, type):
        if kind in _KIND_BY_TYPE:
            return _KIND_BY_TYPE[kind]
        if issubclass(kind, pathlib.PurePath):
            return "path"
    raise MoxError(
        f"IsA({kind!r}): noot's controller checks int, float, bool and path; "
        "give one of those types (pathlib.Path for paths) or its name"
    )


class Regex(Comparator):
    """Matches a value the pattern is found in (a search: anchor with ``^…$``).

    The controller compiles it with Rust's regex syntax, which agrees with
    Python's for everyday patterns (no look-around, no backreferences).
    """

    def __init__(self, pattern):
        self.pattern = pattern

    def to_wire(self):
        return {"regex": self.pattern}


class Contains(Comparator):
    """Matches a value that contains the text."""

    def __init__(self, text):
        self.text = text

    def to_wire(self):
        return {"contains": self.text}


class StartsWith(Comparator):
    """Matches a value that starts with the text."""

    def __init__(self, prefix):
        self.prefix = prefix

    def to_wire(self):
        return {"starts_with": self.prefix}


PREDICATE_UNSUPPORTED = (
    "Predicate is not supported by pytest-noot-mox: noot's controller matches "
    "arguments itself and cannot call Python code. Match with Any(), IsA(), "
    "Regex(), Contains() or StartsWith(), and decide in Python with "
    ".runs(callable), which receives every call."
)


class Predicate(Comparator):
    """cmd-mox's callable comparator: refused, with the way out."""

    def __init__(self, function=None):
        raise MoxError(PREDICATE_UNSUPPORTED)


def to_wire(value, what="an argument"):
    """The wire form of an expected value: a string, or a comparator object."""
    if isinstance(value, Comparator):
        return value.to_wire()
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if callable(value):
        raise MoxError(PREDICATE_UNSUPPORTED)
    raise MoxError(
        f"{value!r} is not {what}: give a string, a path or a comparator "
        "(Any, IsA, Regex, Contains, StartsWith)"
    )
