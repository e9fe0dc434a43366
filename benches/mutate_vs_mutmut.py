#!/usr/bin/env python3
"""noot's mutation testing against mutmut 3, in the same run, on the same
generated pytest project; and noot's mutant generation on a 100k-line one.

    cargo build --release -p noot
    python3 -m pip install pytest mutmut==3.3.1
    python3 benches/mutate_vs_mutmut.py [--modules 12] [--jobs 2]

Prints, per tool: wall time, mutants, mutants per second, and the verdict
counts; then how many functions got the same verdicts from both tools
(compared per function as counts of killed / survived / no-tests, since the
two tools number mutants differently); then the generation timing.
"""

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOOT = os.path.join(ROOT, "target", "release", "noot")

FUNCTIONS = '''
def span_{j}(a, b):
    if a > b:
        return a - b + {j}
    return b * 2


def label_{j}(name):
    return "item-" + name.upper()


def total_{j}(values):
    result = 0
    for value in values:
        if value < 0:
            continue
        result += value
    return result


def pick_{j}(flag, items):
    if flag and len(items) > 1:
        return items[1]
    return None
'''

TESTS = '''
def test_span_{j}():
    assert m.span_{j}(5, 3) == 2 + {j}
    {extra_span}


def test_label_{j}():
    assert m.label_{j}("a").endswith("A")


def test_total_{j}():
    assert m.total_{j}([1, 2, -5, 3]) == 6


def test_pick_{j}():
    assert m.pick_{j}(True, [1, 2]) == 2
    {extra_pick}
'''


def generate(root, modules, per_module, with_tests=True):
    pkg = os.path.join(root, "src", "bench")
    os.makedirs(pkg)
    os.makedirs(os.path.join(root, "tests"))
    open(os.path.join(pkg, "__init__.py"), "w").close()
    for i in range(modules):
        with open(os.path.join(pkg, f"mod{i}.py"), "w") as f:
            f.write(f'"""Generated module {i}."""\n')
            for j in range(per_module):
                f.write(FUNCTIONS.format(j=j))
        if not with_tests:
            continue
        with open(os.path.join(root, "tests", f"test_mod{i}.py"), "w") as f:
            f.write(f"import bench.mod{i} as m\n")
            for j in range(per_module):
                f.write(
                    TESTS.format(
                        j=j,
                        extra_span="assert m.span_%d(1, 3) == 6" % j if j % 2 == 0 else "pass",
                        extra_pick="assert m.pick_%d(False, [1, 2]) is None" % j if j % 3 == 0 else "pass",
                    )
                )
    with open(os.path.join(root, "pyproject.toml"), "w") as f:
        f.write(
            '[project]\nname = "bench"\nversion = "0.1.0"\n\n'
            '[tool.pytest.ini_options]\npythonpath = ["src"]\ntestpaths = ["tests"]\n\n'
            '[tool.mutmut]\npaths_to_mutate = ["src/"]\ntests_dir = ["tests/"]\n'
        )


def run_noot(project, runner, jobs):
    start = time.perf_counter()
    out = subprocess.run(
        [NOOT, "run", "--runner", runner, "--force", "--jobs", str(jobs), "--format", "json"],
        cwd=project, capture_output=True, text=True,
    )
    elapsed = time.perf_counter() - start
    if out.returncode not in (0, 1):
        sys.exit(f"noot failed ({out.returncode}):\n{out.stderr[-3000:]}")
    report = json.loads(out.stdout)
    per_function = collections.defaultdict(collections.Counter)
    for m in report["mutants"]:
        function = m["function"].rsplit(".", 1)[1]
        module = m["function"].rsplit(".", 2)[1]
        per_function[(module, function)][m["status"]] += 1
    return elapsed, report["summary"], per_function


def run_mutmut(project, jobs):
    for leftover in ("mutants",):
        shutil.rmtree(os.path.join(project, leftover), ignore_errors=True)
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs)],
        cwd=project, capture_output=True, text=True,
    )
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"mutmut failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    results = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=project, capture_output=True, text=True,
    ).stdout
    counts = collections.Counter()
    per_function = collections.defaultdict(collections.Counter)
    names = {"killed": "killed", "survived": "survived", "no tests": "no_tests",
             "timeout": "timeout", "suspicious": "timeout", "segfault": "killed",
             "skipped": "skipped", "check was interrupted by user": "error"}
    for line in results.splitlines():
        match = re.match(r"\s*bench\.(\w+)\.x_(\w+)__mutmut_\d+: (.+)$", line.strip())
        if not match:
            continue
        status = names.get(match.group(3).strip(), match.group(3).strip())
        counts[status] += 1
        per_function[(match.group(1), match.group(2))][status] += 1
    return elapsed, counts, per_function


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--modules", type=int, default=12)
    parser.add_argument("--per-module", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--gen-lines", type=int, default=100_000)
    args = parser.parse_args()
    if not os.path.exists(NOOT):
        sys.exit("build noot first: cargo build --release -p noot")

    with tempfile.TemporaryDirectory() as tmp:
        project = os.path.join(tmp, "bench")
        generate(project, args.modules, args.per_module)
        rows = []
        mm_time, mm_counts, mm_functions = run_mutmut(project, args.jobs)
        mm_total = sum(mm_counts.values())
        rows.append(("mutmut 3 (--max-children %d)" % args.jobs, mm_time, mm_total, dict(mm_counts)))
        results = {}
        for runner in ("subprocess", "inprocess"):
            elapsed, summary, functions = run_noot(project, runner, args.jobs)
            results[runner] = functions
            counts = {k: summary[k] for k in ("killed", "survived", "no_tests", "timeout", "error") if summary[k]}
            rows.append((f"noot run --runner {runner} -j {args.jobs}", elapsed, summary["total"], counts))
        print(f"{'tool':<40} {'time':>8} {'mutants':>8} {'mutants/s':>10}  verdicts")
        for name, elapsed, total, counts in rows:
            print(f"{name:<40} {elapsed:>7.1f}s {total:>8} {total / elapsed:>10.1f}  {counts}")
        base = mm_total / mm_time
        for name, elapsed, total, _ in rows[1:]:
            print(f"{name}: {total / elapsed / base:.1f}x mutmut's mutants per second")
        for runner, functions in results.items():
            keys = set(functions) | set(mm_functions)
            same = sum(1 for k in keys if functions.get(k) == mm_functions.get(k))
            print(f"functions with the same verdict counts ({runner} vs mutmut): {same}/{len(keys)}")
            for k in sorted(keys):
                if functions.get(k) != mm_functions.get(k):
                    print(f"  {k}: noot {dict(functions.get(k, {}))} mutmut {dict(mm_functions.get(k, {}))}")

        # Generation on a big project: parse, generate, write mutants/.
        big = os.path.join(tmp, "big")
        lines_per_module = FUNCTIONS.count("\n") * 20 + 1
        modules = max(1, args.gen_lines // lines_per_module)
        generate(big, modules, 20, with_tests=False)
        timings = []
        for attempt in range(3):
            shutil.rmtree(os.path.join(big, "mutants"), ignore_errors=True)
            start = time.perf_counter()
            out = subprocess.run([NOOT, "run", "--list", "--format", "json"], cwd=big,
                                 capture_output=True, text=True)
            timings.append(time.perf_counter() - start)
            if out.returncode != 0:
                sys.exit(out.stderr)
        listed = json.loads(out.stdout)
        print(f"generation: {listed['lines']} lines in {listed['files']} files, "
              f"{len(listed['mutants'])} mutants, mutated tree written: "
              f"best {min(timings):.2f}s wall (whole process), internal {listed['elapsed_ms']} ms")


if __name__ == "__main__":
    main()
