#!/usr/bin/env python3
"""The per-call cost of a stubbed command under noot's command doubles,
against the Python library cmd-mox (PyPI `cmd-mox`), in one run, measured
the same way.

One stub, `hello` answering "ok\\n", is set up under each controller:

  noot-native   `noot mox serve` with NOOT_SHIM_BACKEND=native: the shim is a
                symlink to noot-shim, which asks the controller over its
                Unix socket;
  noot-script   the same with NOOT_SHIM_BACKEND=script: a two-line /bin/sh
                script that execs noot-shim --as hello;
  cmd-mox       cmd_mox.CmdMox in this process (its IPC server is a thread
                here); the shim is a symlink to cmd_mox/shim.py, started by
                its `#!/usr/bin/env python3` shebang;
  true          /bin/true, the floor: what spawning any process costs here.

Each call is `subprocess.run([shim], stdin=DEVNULL, capture_output=True)`
with the absolute path of the shim in its controller's folder and that
controller's environment, timed with perf_counter; stdout must be b"ok\\n"
(b"" for true) every time. After a warm-up the variants run round-robin,
the starting variant rotating each round, so that load from other work on
the machine falls on all of them alike. Prints per variant the median, p99
and mean in ms, then cmd-mox/noot-native and noot-native/true (medians).
At the end both controllers verify (cmd-mox's verify(); `noot mox verify`,
which must exit 0) and nothing is left running. (cmd-mox's server logs a
"malformed JSON" traceback once at start: its own readiness probe connects
and closes without a payload; that record is counted and dropped.)

cmd-mox's shim finds its interpreter through PATH. As in a test run from an
activated virtualenv, this script puts the folder of the Python running it
first on PATH before cmd-mox sets up (`--no-venv-path` leaves PATH as it is:
under pyenv, `python3` is then a bash wrapper, which costs a lot more). The
interpreter the shebang resolves to is printed.

Usage (cmd-mox must be importable by the Python that runs this):

    cargo build --release -p noot -p noot-shim
    python3 -m venv /tmp/cmdmox-venv && /tmp/cmdmox-venv/bin/pip install cmd-mox
    /tmp/cmdmox-venv/bin/python benches/mox_vs_cmd_mox.py [--calls 300] [--noot PATH]

noot defaults to target/release/noot; noot-shim must sit beside it.
"""

import argparse
import logging
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = '[[stub]]\ncommand = "hello"\nstdout = "ok\\n"\n'


class ProbeNoise(logging.Filter):
    """Counts and drops cmd-mox's "IPC received malformed JSON" records: its
    readiness probe connects to its own socket and closes without a payload."""

    count = 0

    def filter(self, record):
        if record.getMessage() == "IPC received malformed JSON":
            ProbeNoise.count += 1
            return False
        return True


def loadavg():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def start_noot(noot, backend, workdir, base_env):
    """`noot mox serve` in the foreground; returns (process, its env, the shim)."""
    env = dict(base_env, NOOT_SHIM_BACKEND=backend)
    stderr = open(workdir / f"serve-{backend}.stderr", "w+b")
    proc = subprocess.Popen(
        [str(noot), "mox", "serve", "--scenario", "scenario.toml"],
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    proc.stderr_file = stderr
    exports = {}
    while not {"PATH", "NOOT_MOX_SOCKET"} <= exports.keys():
        line = proc.stdout.readline().decode()
        if not line:
            stderr.seek(0)
            sys.exit(f"noot mox serve ({backend}) ended early: {stderr.read().decode()}")
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, value = words[1].split("=", 1)
            exports[name] = value
    shim = Path(exports["PATH"].split(os.pathsep)[0]) / "hello"
    if not os.path.lexists(shim):
        sys.exit(f"no shim at {shim}")
    return proc, {**base_env, **exports}, shim


def stop_noot(proc, timeout=10):
    """Waits for a verified controller to end; SIGINT, then SIGKILL, if not."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    proc.stdout.close()
    proc.stderr_file.close()


def interpreter_of(script, path):
    """What `script`'s shebang runs, resolved on `path`, and what that file is."""
    with open(script, "rb") as f:
        first = f.readline().decode(errors="replace").strip()
    words = first[2:].split() if first.startswith("#!") else []
    if words[:1] == ["/usr/bin/env"] and len(words) > 1:
        found = shutil.which(words[1], path=path)
    else:
        found = words[0] if words else None
    if not found:
        return first, None, None
    with open(found, "rb") as f:
        head = f.read(64)
    kind = "a script (" + head.split(b"\n")[0].decode(errors="replace") + ")" if head.startswith(b"#!") else "a binary"
    return first, found, f"{os.path.realpath(found)}, {kind}"


def call(shim, env, expected):
    started = time.perf_counter()
    out = subprocess.run([str(shim)], env=env, stdin=subprocess.DEVNULL, capture_output=True)
    elapsed = time.perf_counter() - started
    if out.returncode != 0 or out.stdout != expected:
        sys.exit(f"{shim}: exit {out.returncode}, stdout {out.stdout!r}, stderr {out.stderr!r}")
    return elapsed


def p99(samples):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, -(-99 * len(ordered) // 100) - 1))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="timed calls per variant (300)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls per variant first (20)")
    parser.add_argument("--noot", type=Path, default=ROOT / "target" / "release" / "noot")
    parser.add_argument(
        "--no-venv-path",
        action="store_true",
        help="do not put this Python's folder first on PATH for cmd-mox's shim",
    )
    args = parser.parse_args()

    try:
        import cmd_mox
        from importlib.metadata import version

        cmd_mox_version = version("cmd-mox")
    except ImportError:
        sys.exit(
            f"cmd_mox is not importable by {sys.executable}: "
            "python3 -m venv /tmp/cmdmox-venv && /tmp/cmdmox-venv/bin/pip install cmd-mox, "
            "then run this with /tmp/cmdmox-venv/bin/python"
        )
    noot = args.noot.resolve()
    if not noot.is_file() or not (noot.parent / "noot-shim").is_file():
        sys.exit(f"no noot and noot-shim at {noot.parent}: cargo build --release -p noot -p noot-shim")

    print(f"python {sys.version.split()[0]} at {sys.executable}; cmd-mox {cmd_mox_version}; noot {noot}")
    print(f"cores {os.cpu_count()}; load average before: {loadavg()}")

    base_env = os.environ.copy()
    workdir = Path(tempfile.mkdtemp(prefix="mox-bench-"))
    (workdir / "scenario.toml").write_text(SCENARIO)
    servers = []
    mox = None
    verified = False
    try:
        variants = []
        for backend in ("native", "script"):
            proc, env, shim = start_noot(noot, backend, workdir, base_env)
            servers.append((backend, proc, env))
            variants.append((f"noot-{backend}", shim, env, b"ok\n"))

        if not args.no_venv_path:
            os.environ["PATH"] = os.pathsep.join(
                [os.path.dirname(sys.executable), os.environ.get("PATH", "")]
            )
        logging.getLogger("cmd_mox.ipc.server").addFilter(ProbeNoise())
        mox = cmd_mox.CmdMox(verify_on_exit=False)
        mox.__enter__()
        mox.stub("hello").returns(stdout="ok\n")
        mox.replay()
        cm_env = os.environ.copy()
        cm_shim = Path(mox.environment.shim_dir) / "hello"
        variants.append(("cmd-mox", cm_shim, cm_env, b"ok\n"))
        true = shutil.which("true", path=base_env.get("PATH"))
        variants.append(("true", Path(true), base_env, b""))

        shebang, found, what = interpreter_of(cm_shim, cm_env["PATH"])
        print(f"cmd-mox shim: {cm_shim} -> {os.path.realpath(cm_shim)}")
        print(f"  shebang {shebang!r}; python3 on its PATH: {found} ({what})")
        shebang, found, what = interpreter_of(variants[1][1], variants[1][2]["PATH"])
        print(f"noot-script shim: shebang {shebang!r} ({what})")

        samples = {name: [] for name, *_ in variants}
        for _ in range(args.warmup):
            for _name, shim, env, expected in variants:
                call(shim, env, expected)
        for i in range(args.calls):
            for k in range(len(variants)):
                name, shim, env, expected = variants[(i + k) % len(variants)]
                samples[name].append(call(shim, env, expected))

        print(f"\n{args.calls} calls per variant after {args.warmup} warm-up, round-robin")
        print(f"{'variant':<12} {'median ms':>10} {'p99 ms':>10} {'mean ms':>10} {'min ms':>10}")
        medians = {}
        for name, got in samples.items():
            medians[name] = statistics.median(got)
            print(
                f"{name:<12} {medians[name] * 1e3:>10.2f} {p99(got) * 1e3:>10.2f} "
                f"{statistics.fmean(got) * 1e3:>10.2f} {min(got) * 1e3:>10.2f}"
            )
        print(f"\ncmd-mox / noot-native (median): {medians['cmd-mox'] / medians['noot-native']:.1f}x")
        print(f"noot-native / true (median):    {medians['noot-native'] / medians['true']:.2f}x")
        print(f"noot-script / noot-native (median): {medians['noot-script'] / medians['noot-native']:.2f}x")
        print(f"load average after: {loadavg()}")

        mox.verify()
        mox = None
        print(f"\ncmd-mox verify(): ok ({ProbeNoise.count} 'malformed JSON' log records from its readiness probe dropped)")
        for backend, proc, env in servers:
            out = subprocess.run(
                [str(noot), "mox", "verify"], env=env, stdin=subprocess.DEVNULL, capture_output=True
            )
            report = (out.stdout + out.stderr).decode().strip()
            if out.returncode != 0:
                sys.exit(f"noot mox verify ({backend}) exited {out.returncode}: {report}")
            print(f"noot mox verify ({backend}): exit 0: {report}")
        verified = True
    finally:
        if mox is not None:
            mox.__exit__(None, None, None)
        for _backend, proc, _env in servers:
            stop_noot(proc, timeout=10 if verified else 0)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
