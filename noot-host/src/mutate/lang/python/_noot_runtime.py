"""Written by noot: the switch every trampoline in this tree reads.

MUTANT_UNDER_TEST names the active mutant (``module.Qualname__noot_N``),
``stats`` to record which functions each test reaches, or nothing.
A forked worker calls ``activate`` instead of changing the environment.

``escaped_modules`` finds test processes that imported a mutated module
from the user's project instead of the mutated tree (a ``sys.path.insert``
of the original ``src/``): there no mutant is ever active, so every verdict
would be a silent "survived".
"""

import os
import sys

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

# In the stats run, until the first test starts: per function key, the
# modules whose import called it ("" when no module was being imported,
# e.g. a pytest hook). The stats plugin sets it to None when tests start.
IMPORTERS = {} if STATS else None


def hit(key):
    """Called by every trampoline in the stats run."""
    HITS.add(key)
    importers = IMPORTERS
    if importers is not None:
        importers.setdefault(key, set()).add(_importing_module())


def _importing_module():
    # The innermost module body on the stack is the module being imported.
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            return frame.f_globals.get("__name__", "")
        frame = frame.f_back
    return ""


# What every mutated module imports; how a file in the mutated tree is
# recognised as mutated (noot writes this line into each one it rewrites).
_MUTATED_MARK = b"import _noot_runtime as _noot_rt\n"


def _under(path, folder):
    return bool(folder) and path.startswith(folder.rstrip(os.sep) + os.sep)


def _mutated_file(path):
    try:
        with open(path, "rb") as f:
            return _MUTATED_MARK in f.read()
    except OSError:
        return False


def _spellings(folder):
    """A folder as given and with symlinks resolved (a path on sys.path may
    use either); none for an unset one."""
    if not folder:
        return []
    real = os.path.realpath(folder)
    return [folder] if real == folder else [folder, real]


def escaped_modules(project_dir, mutants_dir, mutated_names=None, skip=(), only=None):
    """Modules this process imported from outside the mutated tree that
    noot mutated, as ``{module name: file}``.

    A module counts if its file lies outside ``mutants_dir`` and either its
    name is in ``mutated_names`` (any collection of dotted names, or None),
    or the file lies inside ``project_dir`` and its counterpart in
    ``mutants_dir`` (same relative path) is a mutated module. The second
    rule needs no list of names and also catches a module imported under
    another name (``src.pkg.mod``). Cheap: one pass over ``sys.modules``,
    and a file read only for a module that already looks escaped. Names in
    ``skip`` were checked before (a forked child skips its parent's);
    ``only``, if given, names the modules to look at (those a forked child
    loaded), so the others are never touched.
    """
    names = set(mutated_names or ())
    mutants = _spellings(mutants_dir)
    projects = _spellings(project_dir)
    if not mutants:
        return {}
    escaped = {}
    if only is None:
        candidates = [(n, m) for n, m in list(sys.modules.items()) if n not in skip]
    else:
        # Loaded in this process, even under a name its parent had (a
        # module removed from sys.modules and imported again).
        candidates = [(name, sys.modules.get(name)) for name in sorted(only)]
    for name, module in candidates:
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or any(_under(path, d) for d in mutants):
            continue
        if name in names:
            escaped[name] = path
            continue
        for project in projects:
            if _under(path, project):
                counterpart = os.path.join(mutants[0], os.path.relpath(path, project))
                if _mutated_file(counterpart):
                    escaped[name] = path
                break
    return escaped


def pytest_sessionstart(session):
    """Loaded as a pytest plugin by the subprocess runner: with
    NOOT_CPU_BUDGET_MS set, a watchdog thread ends this test process with
    SIGXCPU once its own CPU time (all its threads, none of its children)
    passes the budget. An rlimit would do it without a thread, but it would
    also reach every command the tests start, which may rightly burn more
    CPU than the tests' own baseline; an infinite loop in the mutant is
    stopped after about its budget instead of the wall-clock deadline."""
    budget = os.environ.get("NOOT_CPU_BUDGET_MS", "")
    if budget.isdigit():
        _watch_cpu(int(budget) / 1000.0)


def _watch_cpu(budget_s):
    import signal
    import threading
    import time

    def watch():
        while True:
            time.sleep(0.05)
            if time.process_time() > budget_s:
                os.kill(os.getpid(), signal.SIGXCPU)
                time.sleep(1)
                os._exit(158)  # SIGXCPU handled or ignored: end anyway

    threading.Thread(target=watch, name="noot-cpu-budget", daemon=True).start()


def pytest_runtest_logstart(nodeid, location):
    """Loaded as a pytest plugin by the subprocess runner: with
    NOOT_PROGRESS_FILE set, each test is appended to that file as it starts
    (its node id, a tab, and its path from where pytest was started, as
    the runner names tests), so that when the runner stops this process at
    its limit it knows which test was running and can run the ones after
    it."""
    path = os.environ.get("NOOT_PROGRESS_FILE")
    if not path:
        return
    file_part, sep, rest = nodeid.partition("::")
    config = _CONFIG[0] if _CONFIG else None
    root = getattr(config, "rootpath", None) or getattr(config, "rootdir", None)
    try:
        arg = os.path.relpath(os.path.join(str(root or os.getcwd()), file_part)) + sep + rest
    except ValueError:  # another drive: the node id alone then
        arg = nodeid
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, ("%s\t%s\n" % (nodeid, arg)).encode("utf-8", "surrogateescape"))
    finally:
        os.close(fd)


# The session's configuration, for the progress file's paths.
_CONFIG = []


def pytest_configure(config):
    _CONFIG[:] = [config]


def pytest_sessionfinish(session, exitstatus):
    """Loaded as a pytest plugin by the subprocess runner: leave a mark that
    the session ended normally, so a test process that exits early with
    status 0 (os._exit) is not mistaken for a pass, and name the mutated
    modules the tests imported from outside the mutated tree (whose mutants
    were then never active). The mark is JSON: ``{"exit_status": int,
    "escaped_modules": {name: file}}``; NOOT_PROJECT_DIR and
    NOOT_MUTANTS_DIR say where the project and the mutated tree are."""
    mark = os.environ.get("NOOT_SESSION_MARK")
    if not mark:
        return
    import json  # here: every mutated module imports this runtime

    escaped = escaped_modules(
        os.environ.get("NOOT_PROJECT_DIR", ""), os.environ.get("NOOT_MUTANTS_DIR", "")
    )
    with open(mark, "w", encoding="utf-8") as f:
        json.dump({"exit_status": int(exitstatus), "escaped_modules": escaped}, f)
