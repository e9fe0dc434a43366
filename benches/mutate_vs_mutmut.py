#!/usr/bin/env python3
"""noot's mutation testing against mutmut 3, in the same run, on real
projects from PyPI with their own test suites (toolz 1.0.0 and funcy 2.0,
both doing work while they are imported), on a generated project, and
noot's mutant generation on a generated 100k-line project.

    cargo build --release -p noot
    python3 -m pip install pytest mutmut==3.8.1
    python3 benches/mutate_vs_mutmut.py [--jobs 2] [--projects toolz,funcy,generated]

Prints, per project and tool: wall time, mutants, mutants per second, the
verdict counts and the ratio to mutmut; for noot, where the time went (the
sum of per-mutant durations by import-time or call-time function and by
verdict, and how many import-time survivors the import check decided);
then, for the functions both tools mutate, how many got the same verdict
counts (detected = killed or timeout, survived, no tests: mutants are
compared per function because the tools number them differently). Last,
every import-time mutant runs again with the subprocess runner (a fresh
process, the whole suite) and its verdict is compared with inprocess's,
which judged it warm and by the import check.
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
import tomllib

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
    with open(os.path.join(root, "noot.toml"), "w") as f:
        f.write(f"[mutate]\npython = {json.dumps(sys.executable)}\n")


class RealProject:
    """A pinned sdist from PyPI with its own test suite, configured the same
    way for both tools."""

    def __init__(self, name, spec, package, tests, deselect=(), not_mutated=(), also_copy=(),
                 requirements=()):
        self.name, self.spec, self.package, self.tests = name, spec, package, tests
        self.deselect, self.not_mutated, self.also_copy = deselect, not_mutated, also_copy
        self.requirements = requirements


PROJECTS = {
    # Import-time work: curry() wraps hundreds of functions while toolz is
    # imported, signatures are registered in a table built at import.
    "toolz": RealProject(
        "toolz", "toolz==1.0.0", "toolz", "toolz/tests",
        # These two check that the package's namespaces hold nothing
        # unexpected, and mutmut's trampolines add public names
        # (MutantDict, _mutmut_mutated) to every mutated module, so under
        # mutmut they fail before a single mutant runs; noot's are private.
        deselect=["toolz/tests/test_curried.py::test_curried_namespace",
                  "toolz/tests/test_curried.py::test_curried_operator"],
        not_mutated=["toolz/tests/*", "toolz/_version.py", "toolz/sandbox/tests/*"],
        also_copy=["tlz/"],
    ),
    # Import-time work: its decorators are built by @decorator while funcy
    # is imported, lookup tables by _make_lookuper, the debug helpers'
    # classes at class creation.
    "funcy": RealProject(
        "funcy", "funcy==2.0", "funcy", "tests",
        # monkey() patches a module's function in place, which mutmut's
        # trampolines intercept: the test fails under mutmut without any
        # mutant, so neither tool runs it.
        deselect=["tests/test_objects.py::test_monkey_module"],
        requirements=["whatever==0.7"],
    ),
}


def fetch_project(real, into):
    """Downloads the pinned sdist from PyPI and unpacks it; returns its root."""
    os.makedirs(into, exist_ok=True)
    out = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
         "--quiet", "-d", into, real.spec],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        sys.exit(f"cannot download {real.spec}:\n{out.stderr[-2000:]}")
    if real.requirements:
        out = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *real.requirements],
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"cannot install {real.requirements}:\n{out.stderr[-2000:]}")
    archive = next(os.path.join(into, f) for f in os.listdir(into) if f.endswith(".tar.gz"))
    shutil.unpack_archive(archive, into)
    root = archive[: -len(".tar.gz")]
    # Caches shipped in the sdist would be stale for this interpreter.
    for folder, dirs, _ in os.walk(root):
        if "__pycache__" in dirs:
            shutil.rmtree(os.path.join(folder, "__pycache__"))
    return root


def configure_real(real, root):
    deselect = [f"--deselect={t}" for t in real.deselect]
    with open(os.path.join(root, "noot.toml"), "w") as f:
        f.write(f"[mutate]\npaths = [\"{real.package}\"]\ntests = [\"{real.tests}\"]\n")
        f.write(f"python = {json.dumps(sys.executable)}\n")
        if real.not_mutated:
            f.write("exclude = [%s]\n" % ", ".join(json.dumps(p.replace("*", "**")) for p in real.not_mutated))
        if deselect:
            f.write("pytest_args = [%s]\n" % ", ".join(json.dumps(a) for a in deselect))
    with open(os.path.join(root, "setup.cfg"), "a") as f:
        f.write(f"\n[mutmut]\npaths_to_mutate = {real.package}/\ntests_dir = {real.tests}/\n")
        if real.also_copy:
            f.write("also_copy = %s\n" % " ".join(real.also_copy))
        if real.not_mutated:
            f.write("do_not_mutate =\n" + "".join(f"    {p}\n" for p in real.not_mutated))
        if deselect:
            f.write("pytest_add_cli_args =\n" + "".join(f"    {a}\n" for a in deselect))


def tool_env():
    # A user's shell usually writes bytecode; some CI images switch it off.
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def verdict(status):
    return "detected" if status in ("killed", "timeout") else status


def run_noot(project, runner, jobs, filters=()):
    """noot on `project` with `runner` (None: no flag, the default)."""
    command = [NOOT, "run", "--force", "--jobs", str(jobs), "--format", "json", *filters]
    if runner:
        command[2:2] = ["--runner", runner]
    start = time.perf_counter()
    out = subprocess.run(command, cwd=project, capture_output=True, text=True, env=tool_env())
    elapsed = time.perf_counter() - start
    if out.returncode not in (0, 1):
        sys.exit(f"noot failed ({out.returncode}):\n{out.stderr[-3000:]}")
    report = json.loads(out.stdout)
    counts = collections.Counter(m["status"] for m in report["mutants"])
    per_function = collections.defaultdict(collections.Counter)
    for m in report["mutants"]:
        per_function[function_key(m)][verdict(m["status"])] += 1
    return elapsed, len(report["mutants"]), counts, per_function, report


def function_key(mutant):
    module = mutant["file"][: -len(".py")].replace("/", ".").removesuffix(".__init__")
    module = module.removeprefix("src.")
    return (module, mutant["function"][len(module) + 1:])


def import_time_functions(project):
    with open(os.path.join(project, ".noot", "mutate", "stats.json")) as f:
        return set(json.load(f)["collection_hits"])


def breakdown(report, import_time):
    """Where the time went: the sum of per-mutant durations, by when the
    function runs (import or call time) and by verdict."""
    groups = collections.defaultdict(list)
    same_state = 0
    for m in report["mutants"]:
        if m["status"] in ("no_tests", "skipped"):
            continue
        when = "import-time" if m["function"] in import_time else "call-time"
        groups[(when, m["status"])].append(m["duration_ms"])
        same_state += "built the same state" in m.get("detail", "")
    lines = []
    for (when, status), durations in sorted(groups.items()):
        durations.sort()
        lines.append(f"    {when:<12} {status:<9} {len(durations):>5} mutants  "
                     f"sum {sum(durations) / 1000:>6.1f}s  median {durations[len(durations) // 2]:>5} ms")
    lines.append(f"    import-time survivors decided by the import check (same state): {same_state}")
    return "\n".join(lines)


# A warm pytest process like noot's worker: the suite collected, the heap
# frozen; then the median of 200 bare fork-and-exit cycles. What a killed
# call-time mutant cannot cost less than.
BARE_FORK = r"""
import contextlib, gc, io, os, sys, time
import pytest


class Keep:
    def pytest_collection_finish(self, session):
        self.items = list(session.items)


keep = Keep()
with contextlib.redirect_stdout(io.StringIO()):
    pytest.main(["--co", "-q", "-p", "no:cacheprovider", *sys.argv[1:]], plugins=[keep])
gc.freeze()
times = []
for _ in range(200):
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    times.append(time.perf_counter() - start)
times.sort()
print(len(keep.items), times[len(times) // 2] * 1000)
"""


def call_time_overhead(project, report, import_time):
    """The goal for a killed call-time mutant: its median time within 3x
    a bare fork of a warm worker plus its killing test's own baseline."""
    tree = os.path.join(project, ".noot", "mutants")
    env = tool_env()
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(tree, ".noot", "python"), tree])
    with open(os.path.join(project, "noot.toml"), "rb") as f:
        paths = tomllib.load(f).get("mutate", {}).get("tests", [])
    out = subprocess.run([sys.executable, "-c", BARE_FORK, *paths], cwd=tree, env=env,
                         capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout.strip():
        return f"    bare fork: not measured ({out.stderr.strip()[-300:]})"
    items, bare_ms = out.stdout.split()
    with open(os.path.join(project, ".noot", "mutate", "stats.json")) as f:
        tests = json.load(f)["tests"]
    killed = [m for m in report["mutants"]
              if m["status"] == "killed" and m["function"] not in import_time]
    if not killed:
        return f"    bare fork of a warm worker ({items} tests collected): {float(bare_ms):.1f} ms"
    own = sorted(tests.get(m["detail"].split(" - ")[0], {}).get("duration_s", 0.0) * 1000
                 for m in killed)
    took = sorted(m["duration_ms"] for m in killed)
    median_took, median_own = took[len(took) // 2], own[len(own) // 2]
    goal = 3 * (float(bare_ms) + median_own)
    return (f"    killed call-time median {median_took} ms; bare fork of a warm worker "
            f"({items} tests collected) {float(bare_ms):.1f} ms, killing test's own baseline "
            f"{median_own:.1f} ms (medians): goal 3x = {goal:.1f} ms, "
            f"{'met' if median_took <= goal else 'not met'}")


MUTMUT_NAMES = {"killed": "killed", "survived": "survived", "no tests": "no_tests",
                "timeout": "timeout", "suspicious": "timeout", "segfault": "killed",
                "skipped": "skipped", "check was interrupted by user": "error"}


def run_mutmut(project, jobs):
    # mutmut's own tree (noot's is .noot/mutants/ and leaves this one out).
    shutil.rmtree(os.path.join(project, "mutants"), ignore_errors=True)
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs)],
        cwd=project, capture_output=True, text=True, env=tool_env(),
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
    for line in results.splitlines():
        # pkg.mod.x_func__mutmut_3 or pkg.mod.xǁClassǁmethod__mutmut_3
        match = re.match(r"([\w.]+?)\.x(?:_(\w+?)|ǁ(\w+)ǁ(\w+?))__mutmut_\d+: (.+)$", line.strip())
        if not match:
            continue
        module, function, cls, method, raw = match.groups()
        qualname = function if function else f"{cls}.{method}"
        status = MUTMUT_NAMES.get(raw.strip(), raw.strip())
        counts[status] += 1
        per_function[(module, qualname)][verdict(status)] += 1
    return elapsed, sum(counts.values()), counts, per_function


def compare(project, jobs, label, whole_suite_check):
    print(f"== {label}: --jobs {jobs} ==", flush=True)
    rows = []
    mm_time, mm_total, mm_counts, mm_functions = run_mutmut(project, jobs)
    rows.append((f"mutmut 3 --max-children {jobs}", mm_time, mm_total, mm_counts))
    functions = {}
    reports = {}
    for runner, name in ((None, "noot run (default runner)"), ("inprocess", "noot run --runner inprocess")):
        elapsed, total, counts, per_function, report = run_noot(project, runner, jobs)
        functions[name] = per_function
        reports[name] = report
        rows.append((f"{name} [{report['runner']}]", elapsed, total, counts))
    print(f"{'tool':<48} {'time':>8} {'mutants':>8} {'mutants/s':>10}  verdicts")
    for name, elapsed, total, counts in rows:
        shown = {k: v for k, v in sorted(counts.items()) if v}
        print(f"{name:<48} {elapsed:>7.1f}s {total:>8} {total / elapsed:>10.1f}  {shown}")
    base = mm_total / mm_time
    for name, elapsed, total, _ in rows[1:]:
        print(f"{name}: {total / elapsed / base:.2f}x mutmut's mutants per second")
    import_time = import_time_functions(project)
    for name, report in reports.items():
        print(f"  {name}, where the time went:")
        print(breakdown(report, import_time))
    print(call_time_overhead(project, reports["noot run --runner inprocess"], import_time))
    for name, per_function in functions.items():
        both = sorted(set(per_function) & set(mm_functions))
        same_size = [k for k in both if sum(per_function[k].values()) == sum(mm_functions[k].values())]
        same = [k for k in same_size if per_function[k] == mm_functions[k]]
        print(f"{name} vs mutmut: {len(both)} functions mutated by both, {len(same_size)} with "
              f"the same number of mutants, {len(same)} of those with the same verdict counts")
        for k in same_size:
            if per_function[k] != mm_functions[k]:
                print(f"  {'.'.join(k)}: noot {dict(per_function[k])} mutmut {dict(mm_functions[k])}")
    if whole_suite_check and import_time:
        # Soundness of the import check: every import-time mutant again, each
        # in a fresh process running the whole suite (subprocess runner).
        inprocess = {m["id"]: m["status"] for m in reports["noot run --runner inprocess"]["mutants"]}
        filters = sorted(f + "__noot_*" for f in import_time)
        elapsed, total, _, _, report = run_noot(project, "subprocess", jobs, filters)
        fresh = {m["id"]: m["status"] for m in report["mutants"]}
        differ = {i: (inprocess.get(i), s) for i, s in fresh.items() if verdict(inprocess.get(i)) != verdict(s)}
        print(f"import-time mutants, inprocess (warm + import check) vs a fresh whole-suite run each: "
              f"{total - len(differ)} of {total} agree ({elapsed:.1f}s for the fresh runs)")
        for mutant_id, (warm, whole) in sorted(differ.items()):
            print(f"  {mutant_id}: inprocess {warm}, whole suite {whole}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--projects", default="toolz,funcy,generated",
                        help="comma-separated: " + ", ".join(PROJECTS) + ", generated")
    parser.add_argument("--no-whole-suite-check", action="store_true",
                        help="skip re-running import-time mutants with the whole suite")
    parser.add_argument("--modules", type=int, default=12)
    parser.add_argument("--per-module", type=int, default=3)
    parser.add_argument("--gen-lines", type=int, default=100_000)
    args = parser.parse_args()
    if not os.path.exists(NOOT):
        sys.exit("build noot first: cargo build --release -p noot")

    with tempfile.TemporaryDirectory() as tmp:
        projects = args.projects.split(",")
        for name in projects:
            if name in PROJECTS:
                real = PROJECTS[name]
                root = fetch_project(real, os.path.join(tmp, name))
                configure_real(real, root)
                compare(root, args.jobs, real.spec, not args.no_whole_suite_check)

        if "generated" in projects:
            project = os.path.join(tmp, "bench")
            generate(project, args.modules, args.per_module)
            compare(project, args.jobs, "generated project", False)

        # Generation on a big project: parse, generate, write .noot/mutants/.
        big = os.path.join(tmp, "big")
        lines_per_module = FUNCTIONS.count("\n") * 20 + 1
        modules = max(1, args.gen_lines // lines_per_module)
        generate(big, modules, 20, with_tests=False)
        timings = []
        for _ in range(3):
            shutil.rmtree(os.path.join(big, ".noot", "mutants"), ignore_errors=True)
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
