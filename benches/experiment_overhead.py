#!/usr/bin/env python3
"""noot's own overhead per experiment branch, against running the command directly.

For each command, in one run on this machine:

  direct    bash runs the command N times in a loop (fork + exec each time:
            the least a wrapper could cost);
  calls     one `noot experiment run e --calls N` (round-robin over two
            variants): noot plans each call under the state lock, starts the
            branch through its process supervisor, reads its metrics file,
            scrubs the record and appends it to branches.jsonl with fsync;
  runs      N separate `noot experiment run e` invocations (each also loads
            noot.toml, the plugins and the pool).

Per-branch overhead = (noot - direct) / N. The issue's goal is <= 5 ms.

Usage: python3 benches/experiment_overhead.py [--calls N] [--noot PATH]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build_noot():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "noot"], cwd=ROOT, check=True)
    return ROOT / "target" / "release" / "noot"


def timed(argv, cwd, env=None):
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--noot", type=Path)
    args = parser.parse_args()
    noot = args.noot.resolve() if args.noot else build_noot()
    n = args.calls
    commands = {
        "true": ["true"],
        "python3 -c pass": ["python3", "-c", "pass"],
    }
    print(f"noot per-branch overhead, {n} calls each, {os.cpu_count()} cores")
    print(f"{'command':18} {'direct':>9} {'noot calls':>11} {'overhead':>10} {'noot runs':>10} {'overhead':>10}")
    for label, argv in commands.items():
        with tempfile.TemporaryDirectory() as tmp:
            project = Path(tmp)
            words = ", ".join(f'"{w}"' for w in argv)
            (project / "noot.toml").write_text(
                f'[experiment.e]\ncommand = [{words}]\nstrategy = "round-robin"\n'
                "[experiment.e.expand]\nvariant = [1, 2]\n"
            )
            quoted = " ".join(shutil.which(argv[0]) and [shutil.which(argv[0])] + argv[1:] or argv)
            loop = f'for ((i=0; i<{n}; i++)); do {quoted}; done'
            env = {k: v for k, v in os.environ.items() if not k.startswith("NOOT_")}
            timed(["bash", "-c", loop], project)  # warm the page cache
            direct = timed(["bash", "-c", loop], project)
            calls = timed([str(noot), "experiment", "run", "e", "--calls", str(n)], project, env)
            runs_n = max(n // 3, 20)
            direct_runs = direct * runs_n / n
            started = time.perf_counter()
            for _ in range(runs_n):
                subprocess.run([str(noot), "experiment", "run", "e"], cwd=project, env=env, check=True,
                               stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            runs = time.perf_counter() - started
            lines = len((project / ".noot/experiments/e/branches.jsonl").read_text().splitlines())
            assert lines == n + runs_n, (lines, n, runs_n)
            per_call = (calls - direct) / n * 1000
            per_run = (runs - direct_runs) / runs_n * 1000
            print(f"{label:18} {direct / n * 1000:7.2f}ms {calls / n * 1000:9.2f}ms {per_call:8.2f}ms "
                  f"{runs / runs_n * 1000:8.2f}ms {per_run:8.2f}ms")
    print("overhead = (noot - direct) / N; 'runs' include starting noot itself each time")


if __name__ == "__main__":
    sys.exit(main())
