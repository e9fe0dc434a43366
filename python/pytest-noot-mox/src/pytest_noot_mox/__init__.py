"""pytest-noot-mox: cmd-mox's command-double API, backed by noot.

The ``mox`` fixture and the ``mox_record`` / ``mox_replay`` markers come
from :mod:`pytest_noot_mox.plugin`, which pytest loads through the
``pytest11`` entry point. This module exports what tests import:
comparators, the Invocation and Response types, and the errors.
"""

from .calls import Invocation, Response
from .comparators import Any, Comparator, Contains, IsA, Predicate, Regex, StartsWith
from .doubles import CommandDouble
from .errors import ControllerError, MoxError, NootNotFoundError, VerificationError
from .session import Mox

__all__ = [
    "Any",
    "CommandDouble",
    "Comparator",
    "Contains",
    "ControllerError",
    "Invocation",
    "IsA",
    "Mox",
    "MoxError",
    "NootNotFoundError",
    "Predicate",
    "Regex",
    "Response",
    "StartsWith",
    "VerificationError",
]
