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
import importlib
import json
import os
import resource
import signal
import sys
import types

# Private copies of the protocol pipes: pytest captures fds 0-2 itself.
PROTOCOL = os.fdopen(os.dup(1), "w", buffering=1)
REQUESTS = os.fdopen(os.dup(0), "r")
os.dup2(2, 1)

import pytest  # noqa: E402

import _noot_runtime as rt  # noqa: E402


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
    """In a forked child: own group, output to the slot's file, limits, and
    the mutant switched on."""
    os.setpgid(0, 0)
    out = os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    cpu = int(request.get("cpu") or 0)
    if cpu > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.environ["MUTANT_UNDER_TEST"] = request["id"]
    rt.activate(request["id"])


def leave_child(report, status, result_fd):
    # Mutated modules the tests imported from the project instead of the
    # mutated tree: the mutant was never active there.
    escaped = rt.escaped_modules(
        os.environ.get("NOOT_PROJECT_DIR", ""), os.environ.get("NOOT_MUTANTS_DIR", "")
    )
    if escaped:
        report["escaped_modules"] = escaped
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        # Small enough for the pipe's buffer: the parent reads it only once
        # this process is gone.
        if len(report.get("error") or "") > 2000:
            report["error"] = report["error"][:2000] + "…"
        os.write(result_fd, json.dumps(report).encode())
    finally:
        os._exit(status)


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
    """A pytest plugin for one zygote child: see `run_session_child`."""

    def __init__(self, check, baseline, result_fd):
        self.check = check
        self.baseline = baseline
        self.result_fd = result_fd
        self.differs = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session):
        modules = self.check["modules"]
        try:
            for name in modules:
                importlib.import_module(name)
            state = fingerprint(modules)
        except BaseException as error:  # the session shows what broke
            self.differs = ["(the import check could not decide: %s)" % type(error).__name__]
            return
        record = self.check.get("record")
        if record:
            with open(record, "w", encoding="utf-8") as f:
                json.dump(state, f)
            leave_child({"recorded": len(state)}, 0, self.result_fd)
        if self.baseline is None:
            self.differs = ["(no baseline)"]
            return
        if state == self.baseline:
            leave_child({"same_import": len(state)}, 0, self.result_fd)
        keys = sorted(set(state) | set(self.baseline))
        self.differs = [k for k in keys if state.get(k) != self.baseline.get(k)][:5]


# Globals every import sets afresh or that say where, not what.
SKIPPED_GLOBALS = frozenset(
    ["__builtins__", "__loader__", "__spec__", "__cached__", "__file__"]
)


class Undecidable(Exception):
    """The state is too big or too strange to compare."""


def fingerprint(modules):
    """What importing `modules` built, as {module:global: digest}: function
    code, defaults, closure cells and attributes, classes and their
    attributes, and values, recursively (within the project; objects from
    elsewhere by name, or by their attributes or repr)."""
    digester = Digester(frozenset(modules))
    state = {}
    for name in modules:
        module = sys.modules.get(name)
        if module is None:
            state[name] = "missing"
            continue
        for key, value in sorted(vars(module).items()):
            if key not in SKIPPED_GLOBALS:
                state[name + ":" + key] = digester.digest(value)
    state["<modules>"] = digester.digest(
        sorted(n for n in sys.modules if n in digester.package or n.split(".")[0] in digester.roots)
    )
    # The environment, but for the switch itself, which names the mutant.
    environ = sorted((k, v) for k, v in os.environ.items() if k != "MUTANT_UNDER_TEST")
    state["<environ>"] = digester.digest(environ)
    return state


PRIMITIVES = (type(None), bool, int, float, complex)
BUILTIN_CALLABLES = (
    types.BuiltinFunctionType,
    types.MethodWrapperType,
    types.WrapperDescriptorType,
    types.MethodDescriptorType,
    types.ClassMethodDescriptorType,
)


class Digester:
    def __init__(self, package):
        self.package = package
        self.roots = frozenset(n.split(".")[0] for n in package)
        self.memo = {}
        self.alive = []  # keeps ids unique while the memo holds them
        self.active = set()
        self.budget = 300_000

    def ours(self, value):
        return getattr(value, "__module__", None) in self.package

    def digest(self, value):
        kind = type(value)
        if kind in PRIMITIVES:
            return kind.__name__ + ":" + repr(value)
        key = id(value)
        done = self.memo.get(key)
        if done is not None:
            return done
        if key in self.active:
            return "cycle"
        self.budget -= 1
        if self.budget < 0:
            raise Undecidable("more than 300000 objects")
        self.active.add(key)
        try:
            text = self.describe(value, kind)
        finally:
            self.active.discard(key)
        if len(text) > 64:
            text = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        self.memo[key] = text
        self.alive.append(value)
        return text

    def describe(self, value, kind):
        d = self.digest
        if kind is str:
            return "str:" + value
        if kind is bytes or kind is bytearray:
            return kind.__name__ + ":" + value.hex()
        if kind is types.ModuleType:
            return "module:" + value.__name__
        if kind is types.CodeType:
            return self.code(value)
        if kind is types.FunctionType:
            if not self.ours(value):
                return "function:%s.%s" % (value.__module__, value.__qualname__)
            cells = []
            for cell in value.__closure__ or ():
                try:
                    cells.append(d(cell.cell_contents))
                except ValueError:  # an empty cell
                    cells.append("empty")
            return "function:%s(%s|%s|%s|%s|%s)" % (
                value.__qualname__,
                self.code(value.__code__),
                d(value.__defaults__),
                d(value.__kwdefaults__),
                ",".join(cells),
                d(value.__dict__),
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
        if isinstance(value, (tuple, list)):
            return kind.__qualname__ + "[" + ",".join(d(v) for v in value) + "]"
        if isinstance(value, (set, frozenset)):
            return kind.__qualname__ + "{" + ",".join(sorted(d(v) for v in value)) + "}"
        if isinstance(value, (dict, types.MappingProxyType)):
            return kind.__qualname__ + "{" + ",".join(d(k) + "=" + d(v) for k, v in value.items()) + "}"
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
        return self.instance(value, kind)

    def instance(self, value, kind):
        parts = [self.digest(kind)]
        state = getattr(value, "__dict__", None)
        if isinstance(state, dict):
            parts.append(self.digest(state))
        for klass in kind.__mro__:
            slots = klass.__dict__.get("__slots__", ())
            for slot in (slots,) if isinstance(slots, str) else slots:
                try:
                    parts.append(slot + "=" + self.digest(getattr(value, slot)))
                except AttributeError:
                    parts.append(slot + " unset")
        if len(parts) == 1:
            # Nothing to look into: its repr, unless that shows only an
            # address (then its type is all that can be compared).
            text = repr(value)
            if " at 0x" not in text:
                parts.append(text)
        return "object:" + "|".join(parts)

    def code(self, code):
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
            following = selected[index + 1] if index + 1 < len(selected) else None
            before = session.testsfailed
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=following)
            if session.testsfailed > before or session.shouldfail or session.shouldstop:
                failed = item.nodeid
                break
        report = {"failed": failed}
        status = 1 if failed else 0
    except BaseException as error:  # the harness failed, not the tests
        report = {"error": "%s: %s" % (type(error).__name__, error)}
        status = 3
    leave_child(report, status, result_fd)


def short_failure(excinfo, style=None):
    return "%s: %s" % (excinfo.typename, str(excinfo.value)[:300])


def serve_one(session, items, request):
    missing = [t for t in request["tests"] if t not in items]
    if missing:
        return {"error": "tests not collected by the worker: " + ", ".join(missing[:5])}
    selected = [items[t] for t in request["tests"]]
    return fork_and_wait(lambda fd: run_child(session, selected, request, fd))


def fork_and_wait(child):
    """Forks `child(result_fd)`, waits for it, kills what it left behind,
    and returns its exit and report."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        child(write_fd)
    os.close(write_fd)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass  # the child already did, or is gone
    send({"started": pid})
    _, wait_status = os.waitpid(pid, 0)
    # Whatever the tests started in the child's group goes with it.
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    # The child is dead, so all it wrote is in the pipe already: read that
    # and never wait for an end of file, which a grandchild that left the
    # group (setsid) and kept the pipe open would hold back.
    os.set_blocking(read_fd, False)
    chunks = []
    while True:
        try:
            chunk = os.read(read_fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_fd)
    done = {}
    if os.WIFEXITED(wait_status):
        done["exit"] = os.WEXITSTATUS(wait_status)
    else:
        done["signal"] = os.WTERMSIG(wait_status)
    try:
        done.update(json.loads(b"".join(chunks).decode() or "{}"))
    except ValueError:
        pass
    return done


class NootWorker:
    def __init__(self):
        self.invocation_dir = os.getcwd()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        if session.testsfailed:
            send({"fatal": "collection failed in the worker (see the worker log)"})
            return True
        items = {}
        for item in session.items:
            items[item.nodeid] = item
            items[item_arg(item, self.invocation_dir)] = item
        # What the worker holds now is shared by every child: frozen, the
        # cyclic collector never walks it, so a child does not copy the
        # pages it would touch.
        gc.freeze()
        send({"ready": len(session.items)})
        serve(lambda request: serve_one(session, items, request))
        return True


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


# Per list of modules, what importing them built without a mutant (None
# when that could not be recorded): children compare against it.
BASELINES = {}


def zygote_one(request):
    check = request.get("check")
    baseline = None
    if check is not None:
        key = tuple(check["modules"])
        if key not in BASELINES:
            BASELINES[key] = record_baseline(request, check)
        baseline = BASELINES[key]
    return fork_and_wait(lambda fd: run_session_child(request, fd, baseline))


def record_baseline(request, check):
    path = check["baseline_file"]
    try:
        os.unlink(path)
    except OSError:
        pass
    plain = dict(request, id="", check=dict(check, record=path))
    fork_and_wait(lambda fd: run_session_child(plain, fd))
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def zygote():
    # What every session needs, imported once; the project stays unimported.
    import _pytest.assertion.rewrite  # noqa: F401
    import _pytest.fixtures  # noqa: F401
    import _pytest.main  # noqa: F401
    import _pytest.python  # noqa: F401
    import _pytest.runner  # noqa: F401
    import _pytest.terminal  # noqa: F401

    send({"ready": 0})
    serve(zygote_one)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--zygote"]:
        zygote()
        sys.exit(0)
    code = pytest.main(sys.argv[1:], plugins=[NootWorker()])
    sys.exit(int(code))
