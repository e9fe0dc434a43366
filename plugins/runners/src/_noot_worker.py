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

import json
import os
import resource
import select
import signal
import sys

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
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        os.write(result_fd, json.dumps(report).encode())
    finally:
        os._exit(status)


def run_session_child(request, result_fd):
    """In a child of the zygote: a whole pytest session; report its exit
    code only once it returned (a test that ends the process reports none)."""
    status = 3
    try:
        enter_child(request)
        code = int(pytest.main(request["argv"]))
        report = {"pytest_exit": code}
        status = min(code, 100)
    except BaseException as error:
        report = {"error": "%s: %s" % (type(error).__name__, error)}
    leave_child(report, status, result_fd)


def run_child(session, selected, request, result_fd):
    """In the forked child: run the tests, report, never return."""
    status = 3
    try:
        enter_child(request)
        # A killed mutant's output is dropped, and pytest's long tracebacks
        # re-parse every source file in the stack: measured on toolz, 40-300 ms
        # per failure against 8 ms for the one-line form.
        session.config.option.tbstyle = "line"
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
    chunks = []
    while True:
        ready, _, _ = select.select([read_fd], [], [], 2.0)
        if not ready:
            break
        chunk = os.read(read_fd, 65536)
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


def zygote():
    # What every session needs, imported once; the project stays unimported.
    import _pytest.assertion.rewrite  # noqa: F401
    import _pytest.fixtures  # noqa: F401
    import _pytest.main  # noqa: F401
    import _pytest.python  # noqa: F401
    import _pytest.runner  # noqa: F401
    import _pytest.terminal  # noqa: F401

    send({"ready": 0})
    serve(lambda request: fork_and_wait(lambda fd: run_session_child(request, fd)))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--zygote"]:
        zygote()
        sys.exit(0)
    code = pytest.main(sys.argv[1:], plugins=[NootWorker()])
    sys.exit(int(code))
