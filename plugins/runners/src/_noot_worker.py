"""Written by noot's `inprocess` runner: a warm pytest worker.

Imports pytest and the project and collects the suite once, then serves
mutants one at a time: for each, it forks a child in its own process group
that activates the mutant and runs only the selected tests inside the live
session, stopping at the first failure. The worker itself never runs a test.

With `--zygote` it imports pytest but not the project and collects nothing:
each child it forks runs a whole pytest session of its own, for mutants that
act while the project is imported. That spares the interpreter and pytest
start-up, about half of a fresh process on a real project.

Protocol: JSON lines. Requests on stdin: {"id", "tests" or "argv", "cpu",
"out"}. Replies on the original stdout: {"ready": n} once, then per request
{"started": pid} and {"done": {...}}. pytest's own output goes to stderr.
"""

import functools
import gc
import hashlib
import json
import marshal
import mmap
import os
import resource
import select
import signal
import sys
import types

# Private copies of the protocol pipes: pytest captures fds 0-2 itself.
PROTOCOL = os.fdopen(os.dup(1), "w", buffering=1)
REQUESTS = os.fdopen(os.dup(0), "r")
os.dup2(2, 1)

import pytest  # noqa: E402

import _noot_runtime as rt  # noqa: E402


# Modules the warm worker imported, and which of them escaped the mutated
# tree: checked once, not again in every child.
CHECKED_MODULES = frozenset()
CHECKED_ESCAPES = {}

# Modules looked for since the worker was ready, by name: a finder first
# on `sys.meta_path` notes every name the import system searches (an
# `import` statement, `importlib.import_module`, a package's parents) and
# lets the real finders answer. A child checks only these for escapes:
# walking all of `sys.modules` touches every module object, and in a forked
# child each touch copies a page of the worker (about 0.8 ms per mutant on
# toolz, a tenth of a killed mutant's whole cost).
LOADED = []


class _NoteLoads:
    @staticmethod
    def find_spec(name, path=None, target=None):
        LOADED.append(name)
        return None


sys.meta_path.insert(0, _NoteLoads)

# The process a child's report comes from: a test that forks and lets its
# fork run on into pytest must not send a second report on the same pipe.
CHILD_PID = [0]

# The worker's own stdout and stderr as pytest's global capture saved
# them, to put back when a test's capture ends: a child points them at its
# output pipe too, or what its tests print after their first capture (and
# its summary) would go to the worker's log.
SAVED_STD_FDS = []


def saved_std_fds(config):
    capture = config.pluginmanager.getplugin("capturemanager")
    multi = getattr(capture, "_global_capturing", None)
    saved = []
    for stream in (getattr(multi, "out", None), getattr(multi, "err", None)):
        fd = getattr(stream, "targetfd_save", None)
        if isinstance(fd, int) and getattr(stream, "targetfd", None) in (1, 2):
            saved.append(fd)
    return saved


# Which of its selected tests a child is running (-1: none yet), in memory
# it shares with this process: when the host stops a child at its limit,
# the tests after that one can still be run (see `fork_and_wait`).
RUNNING = mmap.mmap(-1, 8)


def set_running(index):
    RUNNING[:8] = index.to_bytes(8, "little", signed=True)


def running():
    return int.from_bytes(RUNNING[:8], "little", signed=True)


def send(message):
    PROTOCOL.write(json.dumps(message) + "\n")
    PROTOCOL.flush()


def item_arg(item, invocation_dir):
    file_part, sep, rest = item.nodeid.partition("::")
    try:
        path = os.path.relpath(str(item.path), invocation_dir)
    except ValueError:
        path = file_part
    return path + sep + rest


def enter_child(request):
    """In a forked child: own group, limits, and the mutant switched on
    (its output already goes to the pipe `fork_and_wait` reads)."""
    del LOADED[:]
    CHILD_PID[0] = os.getpid()
    if sys.meta_path[:1] != [_NoteLoads]:
        sys.meta_path.insert(0, _NoteLoads)
    os.setpgid(0, 0)
    cpu = int(request.get("cpu") or 0)
    if cpu > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.environ["MUTANT_UNDER_TEST"] = request["id"]
    rt.activate(request["id"])


def leave_child(report, status, result_fd):
    if os.getpid() != CHILD_PID[0]:
        os._exit(status)
    # Mutated modules the tests imported from the project instead of the
    # mutated tree: the mutant was never active there.
    # The modules this process's parent had were checked there, once.
    escaped = dict(CHECKED_ESCAPES)
    escaped.update(
        rt.escaped_modules(
            os.environ.get("NOOT_PROJECT_DIR", ""),
            os.environ.get("NOOT_MUTANTS_DIR", ""),
            **escape_scope(),
        )
    )
    if escaped:
        # A handful names the problem; the report must stay small enough
        # for the pipe its parent reads only once this process is gone.
        report["escaped_modules"] = dict(sorted(escaped.items())[:20])
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        # Small enough for the pipe's buffer: the parent reads it only once
        # this process is gone.
        if len(report.get("error") or "") > 2000:
            report["error"] = report["error"][:2000] + "…"
        # The status goes with the report: the parent answers as soon as
        # the report arrives, while the kernel still tears this process
        # down (a large forked process takes about a millisecond to exit).
        report["status"] = status
        os.write(result_fd, json.dumps(report).encode())
    finally:
        os._exit(status)


def escape_scope():
    """What `escaped_modules` looks at in a child: the modules it loaded,
    or, when that cannot be told, every module (a module of the parent's
    may have been replaced under its own name)."""
    loaded = loaded_since_fork()
    if loaded is None:
        return {}
    return {"skip": CHECKED_MODULES, "only": loaded}


def loaded_since_fork():
    """The names this child looked for, or None (check every module, its
    parent's too) when `sys.modules` changed in a way the import system did
    not announce: a module put there by hand, or one removed. (A removal
    and an unannounced addition together would balance; both at once is
    what only a test that hides from the check does.)"""
    loaded = set(LOADED)
    new = sum(1 for name in loaded if name in sys.modules and name not in CHECKED_MODULES)
    if len(sys.modules) != len(CHECKED_MODULES) + new:
        return None
    return loaded


def run_session_child(request, result_fd, baseline=None):
    """In a child of the zygote: a whole pytest session; report its exit
    code only once it returned (a test that ends the process reports none).

    With an import check in the request, the session first imports the
    project's modules once pytest is configured (conftest loaded) and
    compares what the import built with `baseline`; if nothing differs it
    reports `same_import` and ends there. The baseline itself is recorded
    by a child with no mutant (`record` set): it writes the fingerprint to
    that file and ends."""
    status = 3
    plugins = []
    try:
        enter_child(request)
        check = request.get("check")
        if check is not None:
            plugins.append(ImportCheck(check, baseline, result_fd))
        code = int(pytest.main(request["argv"], plugins=plugins))
        report = {"pytest_exit": code}
        if plugins and plugins[0].differs:
            report["import_differs"] = plugins[0].differs
        status = min(code, 100)
    except BaseException as error:
        report = {"error": "%s: %s" % (type(error).__name__, error)}
    leave_child(report, status, result_fd)


class ImportCheck:
    """A pytest plugin for one zygote child: see `run_session_child`.

    It looks once collection is over, so that everything the session
    imports, in the order and environment pytest gives it (conftest files,
    their hooks, test modules), has run: every module of the mutated tree
    then in `sys.modules` (the package and the test modules) and the
    collected items with their parameters are compared."""

    def __init__(self, check, baseline, result_fd):
        self.check = check
        self.baseline = baseline
        self.result_fd = result_fd
        self.differs = []

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session):
        record = self.check.get("record")
        if not record and self.baseline is None:
            self.differs = ["(no baseline)"]
            return
        try:
            # Against the baseline, the walk ends at the first difference:
            # the tests run then anyway, and what differs first names it.
            state = fingerprint(session.items, None if record else self.baseline)
        except Differs as first:
            self.differs = [first.key]
            return
        except Exception as error:  # noqa: BLE001 - any doubt runs the tests
            self.differs = ["(the import check could not decide: %s)" % type(error).__name__]
            return
        if record:
            with open(record + ".tmp", "w", encoding="utf-8") as f:
                json.dump({"schema_version": 1, "state": state}, f)
            os.replace(record + ".tmp", record)
            leave_child({"recorded": len(state)}, 0, self.result_fd)
        leave_child({"same_import": len(state)}, 0, self.result_fd)


# Globals every import sets afresh or that say where, not what.
SKIPPED_GLOBALS = frozenset(
    ["__builtins__", "__loader__", "__spec__", "__cached__", "__file__"]
)


class Undecidable(Exception):
    """The state is too big or too strange to compare."""


class Differs(Exception):
    """The state differs from the baseline, first at `key`."""

    def __init__(self, key):
        super().__init__(key)
        self.key = key


def tree_modules():
    """The modules of the mutated tree this process imported, by name
    (noot's own support modules aside)."""
    tree = os.environ.get("NOOT_MUTANTS_DIR", "").rstrip(os.sep) + os.sep
    own = tree + ".noot" + os.sep  # this script, the runtime, the stats plugin
    found = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and path.startswith(tree) and not path.startswith(own):
            found.append(name)
    return sorted(found)


def fingerprint(items, baseline=None):
    """What the session built while it imported and collected, as
    {name: digest}: every global of every module of the mutated tree
    (function code, defaults, closure cells and attributes, classes and
    their attributes, values, recursively, with shared objects marked as
    such), the collected items and their parameters, and process-wide
    state an import may change. Raises `Undecidable` when unsure.

    With a `baseline` (a fingerprint recorded the same way), raises
    `Differs` at the first entry that differs from it. The walk visits
    entries in the same order in both, so while they agree, the shared
    objects met so far are numbered alike and each entry compares as a
    whole."""
    import atexit
    import logging
    import warnings

    modules = tree_modules()
    digester = Digester(frozenset(modules))
    state = Compared(baseline) if baseline is not None else {}
    for name in modules:
        for key, value in sorted(vars(sys.modules[name]).items()):
            if key not in SKIPPED_GLOBALS:
                state[name + ":" + key] = digester.digest(value)
    # By id: the order follows the command line, which puts each mutant's
    # callers first.
    state["<items>"] = digester.digest(
        sorted(
            (item.nodeid, getattr(getattr(item, "callspec", None), "params", None))
            for item in items
        )
    )
    state["<modules>"] = digester.digest(sorted(sys.modules))
    state["<sys.path>"] = digester.digest(list(sys.path))
    # The environment, but for the switch itself, which names the mutant.
    state["<environ>"] = digester.digest(
        sorted((k, v) for k, v in os.environ.items() if k != "MUTANT_UNDER_TEST")
    )
    state["<warnings>"] = digester.digest(repr(warnings.filters))
    state["<atexit>"] = digester.digest(atexit._ncallbacks())
    state["<logging>"] = digester.digest(
        sorted((n, getattr(l, "level", None)) for n, l in logging.root.manager.loggerDict.items())
        + [("", logging.root.level)]
    )
    if baseline is not None and len(state) != len(baseline):
        raise Differs(min(set(baseline) - set(state)))
    return dict(state)


class Compared(dict):
    """A fingerprint being built against a baseline: each entry is
    compared as it is set."""

    def __init__(self, baseline):
        super().__init__()
        self.baseline = baseline

    def __setitem__(self, key, digest):
        if self.baseline.get(key) != digest:
            raise Differs(key)
        super().__setitem__(key, digest)


# Compared by value, never by identity.
VALUES = (type(None), bool, int, float, complex, str, bytes)
BUILTIN_CALLABLES = (
    types.BuiltinFunctionType,
    types.MethodWrapperType,
    types.WrapperDescriptorType,
    types.MethodDescriptorType,
    types.ClassMethodDescriptorType,
)
LRU_WRAPPER = type(functools.lru_cache()(lambda: None))


class Digester:
    """Digests objects recursively. Each object is described once; a later
    meeting with it (a shared object, or a cycle) is `ref#N`, N its order of
    first meeting, so the same values shared differently differ."""

    def __init__(self, ours):
        self.ours_modules = ours
        self.order = {}
        self.memo = {}
        self.alive = []  # keeps ids unique while the walk lasts
        self.budget = 300_000

    def ours(self, value):
        return getattr(value, "__module__", None) in self.ours_modules

    def digest(self, value):
        kind = type(value)
        if kind in VALUES:
            text = kind.__name__ + ":" + repr(value)
            if len(text) > 64:
                text = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
            return text
        key = id(value)
        seen = self.order.get(key)
        if seen is not None:
            return "ref#%d" % seen
        self.budget -= 1
        if self.budget < 0:
            raise Undecidable("more than 300000 objects")
        self.order[key] = len(self.order)
        self.alive.append(value)
        text = self.describe(value, kind)
        if len(text) > 64:
            text = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        return text

    def describe(self, value, kind):
        d = self.digest
        if kind is bytearray:
            return "bytearray:" + value.hex()
        if kind is types.ModuleType:
            return "module:" + value.__name__
        if kind is types.CodeType:
            return self.code(value)
        if kind is types.FunctionType:
            cells = []
            for cell in value.__closure__ or ():
                try:
                    cells.append(d(cell.cell_contents))
                except ValueError:  # an empty cell
                    cells.append("empty")
            # Code from elsewhere is not mutated: its name stands for it.
            code = (
                self.code(value.__code__)
                if self.ours(value)
                else "%s.%s" % (value.__module__, value.__qualname__)
            )
            # Most functions have no defaults and no attributes: no walk.
            defaults = value.__defaults__
            kwdefaults = value.__kwdefaults__
            return "function:%s(%s|%s|%s|%s|%s)" % (
                value.__qualname__,
                code,
                "-" if defaults is None else d(defaults),
                "-" if kwdefaults is None else d(kwdefaults),
                ",".join(cells),
                self.attributes(value.__dict__),
            )
        if isinstance(value, type):
            if not self.ours(value):
                return "type:%s.%s" % (value.__module__, value.__qualname__)
            attrs = [
                k + "=" + d(v)
                for k, v in sorted(vars(value).items())
                if k not in ("__dict__", "__weakref__")
            ]
            return "class:%s(%s|%s|%s)" % (
                value.__qualname__,
                ",".join(d(b) for b in value.__bases__),
                d(type(value)),
                ",".join(attrs),
            )
        if kind is LRU_WRAPPER:
            if value.cache_info().currsize:
                # What it answers from its cache is not visible here.
                raise Undecidable("a filled lru_cache")
            return "lru_cache:" + d(value.__wrapped__) + d(value.cache_parameters())
        if isinstance(value, (tuple, list)):
            return self.instance(value, kind, kind.__qualname__ + "[" + ",".join(d(v) for v in value) + "]")
        if isinstance(value, (set, frozenset)):
            return self.instance(value, kind, kind.__qualname__ + "{" + ",".join(sorted(d(v) for v in value)) + "}")
        if isinstance(value, (dict, types.MappingProxyType)):
            items = ",".join(d(k) + "=" + d(v) for k, v in value.items())
            factory = d(getattr(value, "default_factory", None))
            return self.instance(value, kind, kind.__qualname__ + "{" + items + "}" + factory)
        if kind is types.MethodType:
            return "method:" + d(value.__func__) + "@" + d(value.__self__)
        if kind in (staticmethod, classmethod):
            return kind.__name__ + ":" + d(value.__func__)
        if kind is property:
            return "property:" + d(value.fget) + d(value.fset) + d(value.fdel)
        if kind is functools.partial:
            return "partial:" + d(value.func) + d(value.args) + d(value.keywords)
        if isinstance(value, BUILTIN_CALLABLES):
            owner = getattr(value, "__self__", None)
            owner = "" if owner is None or type(owner) is types.ModuleType else d(owner)
            return "builtin:%s.%s@%s" % (
                getattr(value, "__module__", ""),
                getattr(value, "__qualname__", ""),
                owner,
            )
        return self.instance(value, kind, "")

    def attributes(self, attributes):
        """A function's `__dict__`: an empty plain dict, the usual case,
        without a walk, but numbered like any object met, so that another
        name for it (`g = f.__dict__`) still shows."""
        if type(attributes) is not dict or attributes:
            return self.digest(attributes)
        key = id(attributes)
        seen = self.order.get(key)
        if seen is not None:
            return "ref#%d" % seen
        self.order[key] = len(self.order)
        self.alive.append(attributes)
        return "-"

    def instance(self, value, kind, content):
        """An object: its type, the content given, its attributes and slots,
        and its repr unless that shows only an address."""
        parts = [self.digest(kind) if kind.__module__ in self.ours_modules else kind.__module__ + "." + kind.__qualname__, content]
        state = getattr(value, "__dict__", None)
        if isinstance(state, dict):
            parts.append(self.digest(state))
        for klass in kind.__mro__:
            slots = klass.__dict__.get("__slots__", ())
            for slot in (slots,) if isinstance(slots, str) else slots:
                if slot in ("__dict__", "__weakref__"):
                    continue
                try:
                    parts.append(slot + "=" + self.digest(getattr(value, slot)))
                except AttributeError:
                    parts.append(slot + " unset")
        if not content:
            text = repr(value)
            if " at 0x" not in text:
                parts.append(text)
        return "object:" + "|".join(parts)

    def code(self, code):
        # Its marshalled form holds all of it (instructions, names,
        # constants, nested code, positions), in C. Version 0 writes
        # neither back-references, which depend on reference counts, nor
        # which strings happen to be interned.
        try:
            return "code:" + hashlib.blake2b(marshal.dumps(code, 0), digest_size=16).hexdigest()
        except ValueError:  # a constant marshal cannot write
            pass
        consts = ",".join(
            self.code(c) if type(c) is types.CodeType else self.digest(c) for c in code.co_consts
        )
        return "code:%s(%s|%s|%s|%s|%s|%d/%d/%d/%d)" % (
            code.co_name,
            code.co_code.hex(),
            ",".join(code.co_names),
            ",".join(code.co_varnames),
            ",".join(code.co_freevars + code.co_cellvars),
            consts,
            code.co_argcount,
            code.co_posonlyargcount,
            code.co_kwonlyargcount,
            code.co_flags,
        )


def run_child(session, selected, request, result_fd):
    """In the forked child: run the tests, report, never return."""
    status = 3
    try:
        enter_child(request)
        # A killed mutant's output is dropped, and pytest's long tracebacks
        # re-parse every source file in the stack: measured on toolz, 40-300 ms
        # per failure against 8 ms for the one-line form. Even that form
        # builds a report object per failure: one line from the exception
        # is all a dropped output needs.
        session.config.option.tbstyle = "line"
        for item in selected:
            item.repr_failure = short_failure
        failed = None
        for index, item in enumerate(selected):
            set_running(index)
            following = selected[index + 1] if index + 1 < len(selected) else None
            before = session.testsfailed
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=following)
            if session.testsfailed > before or session.shouldfail or session.shouldstop:
                failed = item.nodeid
                break
        report = {"failed": failed}
        status = 1 if failed else 0
        if not failed:
            try:
                write_outcomes(session, selected)
            except Exception:  # noqa: BLE001 - only a description: the verdict stands
                pass
    except BaseException as error:  # the harness failed, not the tests
        report = {"error": "%s: %s" % (type(error).__name__, error)}
        status = 3
    leave_child(report, status, result_fd)


def write_outcomes(session, selected):
    """For a survivor's kept output: what each selected test came to, as
    pytest's `-rA` summary says it, and the total. (A child's session never
    ends, so pytest itself prints no summary.)"""
    reporter = session.config.pluginmanager.getplugin("terminalreporter")
    outcomes = {}
    for category, reports in (getattr(reporter, "stats", None) or {}).items():
        # Passed phases are filed under "passed" or "" (setup, teardown);
        # "warnings" and others are not outcomes.
        if category not in ("skipped", "xfailed", "xpassed"):
            continue
        for report in reports:
            nodeid = getattr(report, "nodeid", None)
            if nodeid:
                outcomes[nodeid] = category
    lines = []
    counts = {}
    for item in selected:
        outcome = outcomes.get(item.nodeid, "passed")
        lines.append("%s %s" % (outcome.upper(), item.nodeid))
        counts[outcome] = counts.get(outcome, 0) + 1
    lines.append(
        "noot: %s of the selected tests, none failed"
        % ", ".join("%d %s" % (n, outcome) for outcome, n in sorted(counts.items()))
    )
    sys.stdout.flush()
    # After pytest's progress characters, on a line of its own.
    os.write(1, ("\n" + "\n".join(lines) + "\n").encode("utf-8", "replace"))


def short_failure(excinfo, style=None):
    return "%s: %s" % (excinfo.typename, str(excinfo.value)[:300])


def serve_one(session, items, request):
    missing = [t for t in request["tests"] if t not in items]
    if missing:
        return {"error": "tests not collected by the worker: " + ", ".join(missing[:5])}
    selected = [items[t] for t in request["tests"]]
    if selected and LEAN.eligible(selected[0]):
        done = fork_and_wait(lambda fd: run_lean_child(selected[0], request, fd), request)
        if done.get("lean") != "passed":
            return done
        # The first test passed: the mutant is judged again, by pytest's
        # whole protocol over every selected test, in a fresh child, which
        # the host times from here.
        send({"again": True})
    return fork_and_wait(lambda fd: run_child(session, selected, request, fd), request)


class Lean:
    """Which tests a child may run without pytest's per-test protocol.

    The protocol (setup, call and teardown through every plugin's hooks,
    a report per phase, the terminal's progress) is most of what a killed
    mutant costs: in a forked child each object it touches copies a page
    of the worker, and it touches several hundred pages (on toolz, 3.7 ms
    of a 6.6 ms mutant, against 1.8 ms for the call phase alone).

    So the first selected test may run alone, through pytest's call
    phase only (its hooks, inside the project's warning filters), when
    nothing of the setup and teardown phases could change its outcome: a
    plain test function with no fixtures (autouse and xunit setups are
    fixtures too), no marks, no package-level setup, and only pytest's
    own plugins implementing the per-test hooks. If it fails, pytest
    would fail it too: the mutant is killed. If it passes (or skips, or
    xfails), nothing is concluded from it: the mutant runs again with the
    whole protocol, as it always did: a lean run can end a mutant early
    but never decide that it survived. A lean run stopped at its limit, or
    a process that dies in it, ends the mutant as the whole run would have
    on that same test."""

    HOOKS = (
        "pytest_runtest_protocol",
        "pytest_runtest_logstart",
        "pytest_runtest_logfinish",
        "pytest_runtest_setup",
        "pytest_runtest_call",
        "pytest_runtest_teardown",
        "pytest_runtest_makereport",
        "pytest_runtest_logreport",
        "pytest_pyfunc_call",
        "pytest_fixture_setup",
        "pytest_exception_interact",
    )
    XUNIT = ("setUpModule", "setup_module", "tearDownModule", "teardown_module")

    def __init__(self):
        self.ready = False
        self.known = {}

    def prepare(self, session):
        """In the worker, once collected: whether this pytest and its
        plugins allow lean runs at all."""
        try:
            from _pytest import main, nodes, python
            from _pytest.logging import caplog_records_key
            from _pytest.outcomes import Exit
            from _pytest.runner import CallInfo
            from _pytest.warnings import catch_warnings_for_item

            config = session.config
            manager = config.pluginmanager
            option = config.option
            if (
                manager.get_plugin("warnings") is None
                or getattr(option, "setuponly", False)
                or getattr(option, "setupplan", False)
            ):
                # Per-test warning filters off (`-p no:warnings`), or no
                # call phase at all.
                return
            for name in self.HOOKS:
                for impl in getattr(config.hook, name).get_hookimpls():
                    plugin = impl.plugin
                    module = getattr(plugin, "__name__", None) if isinstance(
                        plugin, types.ModuleType
                    ) else type(plugin).__module__
                    if not (module or "").startswith("_pytest."):
                        return
            self.catch_warnings = catch_warnings_for_item
            self.log_records = caplog_records_key
            self.call_info = CallInfo
            self.reraise = (Exit, KeyboardInterrupt)
            # pytest 7's nose support calls a test function's own `setup`
            # and `teardown` attributes in those phases.
            self.nose = manager.has_plugin("nose")
            self.not_failures = self.judged_by_exception(config)
            self.node_types = {main.Session, python.Module, python.Class, python.Function}
            self.node_types.update(
                getattr(mod, name)
                for mod, name in ((main, "Dir"), (python, "Package"), (nodes, "Directory"))
                if hasattr(mod, name)
            )
            self.package = getattr(python, "Package", None)
            self.function = python.Function
            self.init_modules = {
                getattr(m, "__file__", None): m for m in list(sys.modules.values())
            }
            self.ready = True
        except Exception:  # noqa: BLE001 - another pytest: the whole protocol
            self.ready = False

    # The plugins that make a call phase's report in pytest 7 to 9, and
    # what they make of an exception: `runner` calls a skip a skip, and
    # any other exception a failure; `unittest` a `unittest.SkipTest` a
    # skip; `skipping` an imperative xfail an xfail (unless `--runxfail`:
    # a failure, which counting as not failed only sends to the whole
    # run); `tmpdir` keeps the outcome.
    REPORTERS = frozenset(["runner", "unittest", "skipping", "tmpdir"])

    def judged_by_exception(self, config):
        """The exceptions that are no failure, when only `REPORTERS` make
        reports: then the report's outcome follows from the exception, and
        making it (a few hundred pages of the worker to copy) is spared.
        None: let pytest make it."""
        from _pytest.outcomes import Skipped, XFailed

        manager = config.pluginmanager
        makers = config.hook.pytest_runtest_makereport.get_hookimpls()
        if not {manager.get_name(impl.plugin) for impl in makers} <= self.REPORTERS:
            return None
        import unittest

        return (Skipped, XFailed, unittest.SkipTest)

    def eligible(self, item):
        """Computed in the worker, once per test."""
        if not self.ready:
            return False
        known = self.known.get(item.nodeid)
        if known is None:
            try:
                known = self.decide(item)
            except Exception:  # noqa: BLE001 - any doubt: the whole protocol
                known = False
            self.known[item.nodeid] = known
        return known

    def decide(self, item):
        if type(item) is not self.function or item.fixturenames:
            return False
        if not hasattr(item, "stash"):
            return False
        if next(iter(item.iter_markers()), None) is not None:
            return False
        if self.nose and any(hasattr(item.obj, name) for name in ("setup", "teardown")):
            return False
        for node in item.listchain():
            if type(node) not in self.node_types:
                return False
            if self.package is not None and type(node) is self.package:
                # pytest 7 gives a package the path of its `__init__.py`.
                path = node.path if node.path.name == "__init__.py" else node.path / "__init__.py"
                init = self.init_modules.get(str(path))
                if init is None or any(hasattr(init, name) for name in self.XUNIT):
                    return False
        return True

    def failed(self, item):
        """In the child: runs `item`'s call phase through pytest's own hooks
        (capture, logging, `PYTEST_CURRENT_TEST`, unraisable exceptions),
        inside the warning filters its protocol applies; whether pytest
        would report it failed: judged from its exception when only
        pytest's own report makers are registered (see `REPORTERS`), else
        from the report pytest makes. Errors of this harness itself
        propagate."""
        ihook = item.ihook
        # A failure's description is dropped with a killed mutant's output.
        item.repr_failure = short_failure
        with self.catch_warnings(item.config, ihook=ihook, when="runtest", item=item):
            # What the logging plugin's setup phase leaves for its call phase.
            item.stash[self.log_records] = {}
            call = self.call_info.from_call(
                lambda: ihook.pytest_runtest_call(item=item),
                when="call",
                reraise=self.reraise,
            )
            if self.not_failures is not None:
                return call.excinfo is not None and not isinstance(
                    call.excinfo.value, self.not_failures
                )
            report = ihook.pytest_runtest_makereport(item=item, call=call)
        return bool(report.failed)


LEAN = Lean()


def run_lean_child(item, request, result_fd):
    """In the forked child: the first selected test alone (see `Lean`)."""
    status = 3
    try:
        enter_child(request)
        set_running(0)
        if LEAN.failed(item):
            report = {"failed": item.nodeid}
            status = 1
        else:
            report = {"lean": "passed"}
            status = 0
    except BaseException as error:  # noqa: BLE001 - undecided: the whole protocol
        report = {"lean": "passed", "harness": "%s: %s" % (type(error).__name__, error)}
        status = 0
    leave_child(report, status, result_fd)


def fork_and_wait(child, request):
    """Forks `child(result_fd)` with its output on a pipe, keeps the last
    `cap` bytes of that output while it runs (a test that prints without
    end costs neither memory nor disk), waits for it, kills what it left
    behind in its group, writes the kept output to the request's `out`
    file, and returns the child's exit and report."""
    read_fd, write_fd = os.pipe()
    out_read, out_write = os.pipe()
    set_running(-1)
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        os.close(out_read)
        # The protocol belongs to this process's parent: a test's own
        # children must not hold it open.
        os.close(PROTOCOL.fileno())
        os.close(REQUESTS.fileno())
        os.dup2(out_write, 1)
        os.dup2(out_write, 2)
        for saved in SAVED_STD_FDS:
            os.dup2(out_write, saved)
        os.close(out_write)
        child(write_fd)
    os.close(write_fd)
    os.close(out_write)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass  # the child already did, or is gone
    send({"started": pid})
    cap = int(request.get("cap") or 65536)
    kept, dropped, report, wait_status = collect_until_exit(pid, out_read, read_fd, cap)
    # Whatever the tests started in the child's group goes with it (and the
    # child itself, if it is still exiting after its report).
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    # The child is dead, so all it wrote is in the pipes already: read that
    # and never wait for an end of file, which a grandchild that left the
    # group (setsid) and kept a pipe open would hold back.
    for chunk in read_available(out_read):
        kept += chunk
        if len(kept) > cap:
            dropped += len(kept) - cap
            del kept[:-cap]
    os.close(out_read)
    report += b"".join(read_available(read_fd))
    os.close(read_fd)
    with open(request["out"], "wb") as out:
        if dropped:
            out.write(b"[... %d bytes of output dropped ...]\n" % dropped)
        out.write(bytes(kept))
    try:
        done = json.loads(report.decode() or "{}")
    except ValueError:
        done = {}
    reported = bool(done)
    if wait_status is None and "status" in done:
        # Answered from the report; the exit is the status it carries.
        done["exit"] = done.pop("status")
    elif wait_status is None:
        done["error"] = "the test process's report could not be read"
    else:
        done.pop("status", None)
        if os.WIFEXITED(wait_status):
            done["exit"] = os.WEXITSTATUS(wait_status)
        else:
            done["signal"] = os.WTERMSIG(wait_status)
    if not reported and running() >= 0:
        # Ended without a report (the host's limit, a crash): the index,
        # among the tests it was given, of the test it was running.
        done["running"] = running()
    return done


def collect_until_exit(pid, out_read, report_read, cap):
    """Reads the child's output until the child exits or its whole report
    has arrived; returns the last `cap` bytes (at most twice that in
    memory), how many were dropped, the report's bytes, and the wait
    status (None when the report came first: the child is reaped later,
    see `reap_exited`)."""
    kept = bytearray()
    dropped = 0
    report = b""
    reap_exited()
    try:
        exited = os.pidfd_open(pid)
    except (AttributeError, OSError):  # before Linux 5.3 or Python 3.9
        exited = None
    output_open = True
    report_open = True
    try:
        while True:
            watched = [out_read] if output_open else []
            if report_open:
                watched.append(report_read)
            if exited is not None:
                watched.append(exited)
            ready, _, _ = select.select(watched, [], [], None if exited is not None else 0.05)
            if out_read in ready:
                chunk = os.read(out_read, 1 << 16)
                if chunk:
                    kept += chunk
                    if len(kept) > 2 * cap:
                        dropped += len(kept) - cap
                        del kept[:-cap]
                else:
                    output_open = False
            if report_read in ready:
                chunk = os.read(report_read, 1 << 16)
                report += chunk
                if not chunk:
                    report_open = False
                elif complete(report):
                    REAP.append(pid)
                    return kept, dropped, report, None
            if exited is None or exited in ready:
                waited, wait_status = os.waitpid(pid, os.WNOHANG)
                if waited:
                    return kept, dropped, report, wait_status
    finally:
        if exited is not None:
            os.close(exited)


def complete(report):
    """Whether `report` is a child's whole report (one JSON object with its
    status: `leave_child` writes it in one piece, just before it exits)."""
    try:
        return "status" in json.loads(report.decode())
    except ValueError:
        return False


# Children that reported and were killed, not yet reaped.
REAP = []


def reap_exited():
    """Reaps the children `collect_until_exit` left exiting, without
    waiting for one still being torn down."""
    for pid in list(REAP):
        try:
            waited, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            waited = pid
        if waited:
            REAP.remove(pid)


def read_available(fd):
    os.set_blocking(fd, False)
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return
        if not chunk:
            return
        yield chunk


class NootWorker:
    def __init__(self):
        self.invocation_dir = os.getcwd()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        if session.testsfailed:
            send({"fatal": "collection failed in the worker (its output follows)"})
            return True
        items = {}
        for item in session.items:
            items[item.nodeid] = item
            items[item_arg(item, self.invocation_dir)] = item
            # A cached property pytest computes when it first reports the
            # item (the file's path relative to the root, found on disk):
            # computed here once, every child reads it from the worker. An
            # item type that cannot say is left to compute it in the child.
            try:
                item.location  # noqa: B018
            except Exception:  # noqa: BLE001
                pass
        LEAN.prepare(session)
        SAVED_STD_FDS[:] = saved_std_fds(session.config)
        ready_to_fork()
        send({"ready": len(session.items)})
        serve(lambda request: serve_one(session, items, request))
        return True


def ready_to_fork():
    """Before the first child: the modules imported so far are checked for
    escapes once, here, and what this process holds is frozen, so the
    cyclic collector of a child never walks it (and never copies the pages
    it would touch)."""
    global CHECKED_ESCAPES, CHECKED_MODULES
    CHECKED_ESCAPES = rt.escaped_modules(
        os.environ.get("NOOT_PROJECT_DIR", ""), os.environ.get("NOOT_MUTANTS_DIR", "")
    )
    CHECKED_MODULES = frozenset(sys.modules)
    del LOADED[:]
    gc.freeze()


def serve(handle):
    for line in REQUESTS:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            done = handle(request)
        except Exception as error:
            done = {"error": "%s: %s" % (type(error).__name__, error)}
        send({"done": done})


# Per set of collected tests, what the session built without a mutant
# (None when that could not be recorded): children compare against it.
BASELINES = {}


def zygote_one(request):
    check = request.get("check")
    baseline = None
    if check is not None:
        # The same tests collected, in whatever order: the same baseline.
        key = tuple(sorted(request["argv"]))
        if key not in BASELINES:
            BASELINES[key] = record_baseline(request, check)
        baseline = BASELINES[key]
    return fork_and_wait(lambda fd: run_session_child(request, fd, baseline), request)


def record_baseline(request, check):
    path = check["baseline_file"]
    try:
        os.unlink(path)
    except OSError:
        pass
    plain = dict(request, id="", check=dict(check, record=path))
    fork_and_wait(lambda fd: run_session_child(plain, fd), plain)
    try:
        with open(path, encoding="utf-8") as f:
            recorded = json.load(f)
    except (OSError, ValueError):
        return None
    return recorded.get("state") if recorded.get("schema_version") == 1 else None


def zygote():
    # What every session needs, imported once; the project stays unimported.
    import _pytest.assertion.rewrite  # noqa: F401
    import _pytest.fixtures  # noqa: F401
    import _pytest.main  # noqa: F401
    import _pytest.python  # noqa: F401
    import _pytest.runner  # noqa: F401
    import _pytest.terminal  # noqa: F401

    # pytest's other built-in plugins, and the installed distributions its
    # plugin autoload scans: every session would import and list them
    # again (about 12 ms of a 100 ms session on toolz).
    import importlib
    import importlib.metadata

    import _pytest.config

    for name in getattr(_pytest.config, "default_plugins", ()):
        try:
            importlib.import_module("_pytest." + name)
        except ImportError:
            pass
    list(importlib.metadata.distributions())

    ready_to_fork()
    send({"ready": 0})
    serve(zygote_one)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--zygote"]:
        zygote()
        sys.exit(0)
    code = pytest.main(sys.argv[1:], plugins=[NootWorker()])
    sys.exit(int(code))
