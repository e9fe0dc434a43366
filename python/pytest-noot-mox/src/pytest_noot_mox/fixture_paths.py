"""Where the ``mox_record`` / ``mox_replay`` markers keep a test's fixture.

One JSON file per test, named after its node id, in one folder:
``tests/test_release.py::TestTag::test_push[v1]`` becomes
``tests.test_release__TestTag.test_push[v1].json``. Folders and the
module become dot-separated, ``__`` separates them from the test's
names, and a parametrized id is kept in brackets. That mapping can be
read back unambiguously unless a part contains a dot, ``__``, a leading
or trailing ``_`` next to the separator, or a character unsafe in file
names (replaced with ``_``); then, and for very long names, a short hash
of the whole node id is appended, so no two tests ever share a file.

Every pytest-xdist worker computes the same name for the same test, and
runs each test once, so workers never write the same file; noot writes
fixtures atomically.
"""

import hashlib
import re

DEFAULT_FIXTURE_DIR = "tests/fixtures/mox"

_UNSAFE = re.compile(r"[^A-Za-z0-9_.,=+\-]")
_MAX_NAME_LENGTH = 150
_HASH_LENGTH = 8


def fixture_file_name(nodeid):
    """The file name (``….json``) of the fixture of test ``nodeid``."""
    file_part, _, test_part = nodeid.partition("::")
    if file_part.endswith(".py"):
        file_part = file_part[: -len(".py")]
    names, bracket, parameters = test_part.partition("[")
    if bracket and parameters.endswith("]"):
        parameters = parameters[:-1]
    path_parts = [part for part in file_part.split("/") if part]
    name_parts = names.split("::") if names else []

    ambiguous = any("." in part or "__" in part or not part for part in path_parts + name_parts)
    ambiguous = ambiguous or (path_parts and path_parts[-1].endswith("_"))
    ambiguous = ambiguous or (name_parts and name_parts[0].startswith("_"))

    readable = ".".join(path_parts) + "__" + ".".join(name_parts)
    safe = _UNSAFE.sub("_", readable)
    if bracket:
        safe_parameters = _UNSAFE.sub("_", parameters)
        ambiguous = ambiguous or safe_parameters != parameters
        safe += f"[{safe_parameters}]"
    ambiguous = ambiguous or safe != readable + (f"[{parameters}]" if bracket else "")

    if len(safe) > _MAX_NAME_LENGTH:
        safe = safe[:_MAX_NAME_LENGTH]
        ambiguous = True
    if ambiguous:
        digest = hashlib.sha256(nodeid.encode("utf-8")).hexdigest()[:_HASH_LENGTH]
        safe += f"-{digest}"
    return safe + ".json"
