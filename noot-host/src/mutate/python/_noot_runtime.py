"""Written by noot: the switch every trampoline in this tree reads.

MUTANT_UNDER_TEST names the active mutant (``module.Qualname__noot_N``),
``stats`` to record which functions each test reaches, or nothing.
A forked worker calls ``activate`` instead of changing the environment.
"""

import os

FUNC = None  # key of the function whose variant is active
NAME = None  # name of that variant in the function's namespace
STATS = False
HITS = set()


def activate(mutant_id):
    global FUNC, NAME, STATS
    FUNC = NAME = None
    STATS = mutant_id == "stats"
    if not mutant_id or STATS:
        return
    key, sep, number = mutant_id.rpartition("__noot_")
    if not sep or not number.isdigit():
        return
    name, _, dup = key.rpartition(".")[2].partition("~")
    NAME = "_noot_" + name + ("__d" + dup if dup else "") + "__" + number
    FUNC = key


activate(os.environ.get("MUTANT_UNDER_TEST", ""))


def pytest_sessionfinish(session, exitstatus):
    """Loaded as a pytest plugin by the subprocess runner: leave a mark that
    the session ended normally, so a test process that exits early with
    status 0 (os._exit) is not mistaken for a pass."""
    mark = os.environ.get("NOOT_SESSION_MARK")
    if mark:
        with open(mark, "w", encoding="utf-8") as f:
            f.write(str(int(exitstatus)))
