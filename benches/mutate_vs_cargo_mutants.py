#!/usr/bin/env python3
"""noot's Rust mutation testing against cargo-mutants, in the same run, on
real crates from crates.io with their own tests.

    cargo build --release -p noot
    python3 benches/mutate_vs_cargo_mutants.py [--jobs 2] [--crates semver@1.0.28,strsim@0.11.1]

Each crate is fetched through cargo (a throwaway package that depends on
the pinned version; the source is copied out of cargo's registry cache),
its lockfile generated, and three copies made. cargo-mutants (pinned:
installed with `cargo install --locked` into a folder of its own unless
`--cargo-mutants` names one) runs on one copy, `noot run` on the other,
one after the other, each with `--jobs` and a cold build (no target
folder: both build the dependencies once). Then noot runs a second time
with `--force` on its warm `.noot/target` (what a re-run after an edit
costs at most). On the third copy, `cargo test --no-run` runs first
(untimed: what a user has built before a first `noot run`) and then a
cold `noot run`, which starts from the dependencies that build left.
`RUST_BACKTRACE` is removed from both tools' environment.

Prints, per crate and tool: wall time, mutants, mutants per second, the
verdict counts and the ratio; where noot's time went (its build, the
stats run, the mutants' own time by verdict); then the mutants both tools
generate, matched by file, position and replacement, and how many got the
same verdict (caught and timeout count as the same: both tools count them
detected; noot's `no_tests` is cargo-mutants' "missed": no test fails),
with every disagreement listed by its pair of verdicts.
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
CARGO_MUTANTS_VERSION = "27.1.0"
DEFAULT_CRATES = "semver@1.0.28,strsim@0.11.1"


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def clean_env():
    env = dict(os.environ)
    for name in ("RUST_BACKTRACE", "RUST_LIB_BACKTRACE", "CARGO_TARGET_DIR"):
        env.pop(name, None)
    return env


def cargo_home():
    return os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))


def fetch_crate(name, version, work):
    """The crate's source as crates.io ships it, fetched by cargo."""
    probe = os.path.join(work, "fetch-" + name)
    os.makedirs(os.path.join(probe, "src"), exist_ok=True)
    with open(os.path.join(probe, "Cargo.toml"), "w") as f:
        f.write(
            '[package]\nname = "noot-bench-fetch"\nversion = "0.0.0"\nedition = "2021"\n'
            f'[dependencies]\n{name} = "={version}"\n'
        )
    with open(os.path.join(probe, "src", "lib.rs"), "w") as f:
        f.write("")
    subprocess.run(["cargo", "fetch", "--quiet"], cwd=probe, check=True)
    registry = os.path.join(cargo_home(), "registry", "src")
    for index in sorted(os.listdir(registry)):
        source = os.path.join(registry, index, f"{name}-{version}")
        if os.path.isdir(source):
            return source
    sys.exit(f"cargo fetched {name} {version} but its source is not under {registry}")


def prepare(name, version, work):
    source = fetch_crate(name, version, work)
    pristine = os.path.join(work, f"{name}-{version}")
    shutil.copytree(source, pristine)
    subprocess.run(["cargo", "generate-lockfile", "--quiet"], cwd=pristine, check=True)
    copies = {}
    for tool in ("cargo-mutants", "noot", "noot-seeded"):
        copies[tool] = os.path.join(work, tool, f"{name}-{version}")
        shutil.copytree(pristine, copies[tool])
    return copies


def cargo_mutants_binary(requested, work):
    if requested:
        return requested
    root = os.path.join(tempfile.gettempdir(), f"noot-bench-cargo-mutants-{CARGO_MUTANTS_VERSION}")
    binary = os.path.join(root, "bin", "cargo-mutants")
    if not os.path.exists(binary):
        log(f"installing cargo-mutants {CARGO_MUTANTS_VERSION} into {root}")
        subprocess.run(
            ["cargo", "install", "--locked", "--quiet", "cargo-mutants",
             "--version", CARGO_MUTANTS_VERSION, "--root", root],
            check=True,
        )
    return binary


def run_cargo_mutants(binary, crate_dir, jobs, out):
    started = time.monotonic()
    proc = subprocess.run(
        [binary, "mutants", "--jobs", str(jobs), "--no-shuffle", "-d", crate_dir, "-o", out],
        env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    wall = time.monotonic() - started
    path = os.path.join(out, "mutants.out", "outcomes.json")
    if not os.path.exists(path):
        sys.exit(f"cargo-mutants wrote no {path} (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    with open(path) as f:
        outcomes = json.load(f)["outcomes"]
    mutants = []
    for outcome in outcomes:
        scenario = outcome["scenario"]
        if not isinstance(scenario, dict) or "Mutant" not in scenario:
            continue
        mutant = scenario["Mutant"]
        mutants.append({
            "file": mutant["file"],
            "genre": mutant["genre"],
            "line": mutant["span"]["start"]["line"],
            "column": mutant["span"]["start"]["column"],
            "end_line": mutant["span"]["end"]["line"],
            "replacement": mutant["replacement"],
            "function": (mutant.get("function") or {}).get("function_name", ""),
            "name": mutant["name"],
            "verdict": {
                "CaughtMutant": "caught",
                "MissedMutant": "missed",
                "Timeout": "timeout",
                "Unviable": "unviable",
            }.get(outcome["summary"], outcome["summary"]),
        })
    return wall, mutants


def run_noot(crate_dir, jobs, force):
    args = [NOOT, "run", "--jobs", str(jobs), "--format", "json"]
    if force:
        args.append("--force")
    started = time.monotonic()
    proc = subprocess.run(args, cwd=crate_dir, env=clean_env(), capture_output=True, text=True)
    wall = time.monotonic() - started
    if proc.returncode not in (0, 1):
        sys.exit(f"noot run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall, json.loads(proc.stdout)


GENRES = {
    "replace_body": "FnValue",
    "binary_operator": "BinaryOperator",
    "assignment_operator": "BinaryOperator",
    "delete_not": "UnaryOperator",
    "delete_negation": "UnaryOperator",
    "delete_match_arm": "MatchArm",
    "match_guard": "MatchArmGuard",
    "delete_field": "StructField",
}
NOOT_VERDICT = {
    "killed": "caught",
    "survived": "missed",
    "no_tests": "missed",
    "timeout": "timeout",
    "unviable": "unviable",
    "error": "error",
    "skipped": "skipped",
}


def squash(text):
    return re.sub(r"\s+", "", text)


def body_replacement(noot_mutant):
    text = noot_mutant["replacement"].strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    return squash(text)


def match(cm_mutants, noot_mutants):
    """Pairs of (cargo-mutants mutant, noot mutant) that make the same change."""
    by_position = {}
    bodies = collections.defaultdict(list)
    for m in noot_mutants:
        genre = GENRES.get(m["operator"], m["operator"])
        if genre == "FnValue":
            last = m["line"] + m["original"].count("\n")
            bodies[(m["file"], body_replacement(m))].append((m["line"], last, m))
        else:
            by_position.setdefault((m["file"], genre, m["line"], m["column"]), []).append(m)
    pairs = []
    for cm in cm_mutants:
        if cm["genre"] == "FnValue":
            key = (cm["file"], squash(cm["replacement"]))
            inside = [b for b in bodies.get(key, []) if b[0] <= cm["line"] and cm["end_line"] <= b[1]]
            if inside:
                pairs.append((cm, min(inside, key=lambda b: b[1] - b[0])[2]))
            continue
        candidates = by_position.get((cm["file"], cm["genre"], cm["line"], cm["column"]), [])
        if cm["genre"] in ("BinaryOperator", "MatchArmGuard"):
            candidates = [m for m in candidates if squash(m["replacement"]) == squash(cm["replacement"])]
        if len(candidates) == 1:
            pairs.append((cm, candidates[0]))
    return pairs


def counts(verdicts):
    c = collections.Counter(verdicts)
    return c


def same(cm_verdict, noot_verdict):
    detected = {"caught", "timeout"}
    if cm_verdict in detected and noot_verdict in detected:
        return True
    return cm_verdict == noot_verdict


def users_build(crate_dir):
    """What a user has before a first `noot run`: the tests built by `cargo test`."""
    subprocess.run(["cargo", "test", "--no-run", "--quiet"], cwd=crate_dir, env=clean_env(),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def report(name, jobs, cm_wall, cm_mutants, noot_wall, noot_report, warm_wall, warm_report,
           seeded_wall, seeded_report):
    print(f"\n## {name} (--jobs {jobs}, cold builds)\n")
    cm_counts = counts(m["verdict"] for m in cm_mutants)
    noot_counts = counts(m["status"] for m in noot_report["mutants"])
    n_cm, n_noot = len(cm_mutants), len(noot_report["mutants"])
    print("| tool | wall | mutants | mutants/s | caught | missed | no tests | timeout | unviable | vs cargo-mutants |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(f"| cargo-mutants {CARGO_MUTANTS_VERSION} | {cm_wall:.1f} s | {n_cm} | {n_cm / cm_wall:.2f} | "
          f"{cm_counts['caught']} | {cm_counts['missed']} | - | {cm_counts['timeout']} | {cm_counts['unviable']} | 1× |")
    for label, wall, rep in (("noot (cold)", noot_wall, noot_report),
                             ("noot (cold, after your `cargo test --no-run`)", seeded_wall, seeded_report),
                             ("noot (warm, --force)", warm_wall, warm_report)):
        c = counts(m["status"] for m in rep["mutants"])
        n = len(rep["mutants"])
        print(f"| {label} | {wall:.1f} s | {n} | {n / wall:.2f} | {c['killed']} | {c['survived']} | "
              f"{c['no_tests']} | {c['timeout']} | {c['unviable']} | **{cm_wall / wall:.1f}×** |")
    print(f"\nnoot: {noot_report['summary'].get('runner_reason', '')}")
    print(f"noot after your cargo test: {seeded_report['summary'].get('runner_reason', '')}")
    spent = collections.defaultdict(float)
    for m in noot_report["mutants"]:
        spent[m["status"]] += m.get("duration_ms", 0) / 1000
    slot = " · ".join(f"{k} {v:.1f} s" for k, v in sorted(spent.items(), key=lambda kv: -kv[1]) if v)
    print(f"noot, mutants' own time over all slots: {slot}")
    if noot_counts.get("error"):
        print(f"noot errors: {noot_counts['error']}")

    pairs = match(cm_mutants, noot_report["mutants"])
    # Compiled by neither build (a module behind a feature neither enables):
    # cargo-mutants calls them missed, noot "not built"; no test judged them.
    unbuilt = [p for p in pairs if p[1]["status"] == "skipped"]
    pairs = [p for p in pairs if p[1]["status"] != "skipped"]
    if unbuilt:
        files = sorted({p[1]["file"] for p in unbuilt})
        print(f"\nIn files neither build compiles ({', '.join(files)}): {len(unbuilt)} shared mutants, "
              f"cargo-mutants: {dict(counts(p[0]['verdict'] for p in unbuilt))}, noot: not built")
    agree = [p for p in pairs if same(p[0]["verdict"], NOOT_VERDICT.get(p[1]["status"], p[1]["status"]))]
    share = 100.0 * len(agree) / len(pairs) if pairs else 0.0
    print(f"\nShared mutants judged by tests: {len(pairs)} (of {n_cm} cargo-mutants, {n_noot} noot); "
          f"same verdict: {len(agree)} ({share:.1f}%)")
    viable = [p for p in pairs if "unviable" not in (p[0]["verdict"], p[1]["status"])]
    viable_agree = [p for p in viable if same(p[0]["verdict"], NOOT_VERDICT.get(p[1]["status"], p[1]["status"]))]
    if viable:
        print(f"Viable in both: {len(viable)}; same verdict: {len(viable_agree)} "
              f"({100.0 * len(viable_agree) / len(viable):.1f}%)")
    by_pair = collections.defaultdict(list)
    for cm, nm in pairs:
        if not same(cm["verdict"], NOOT_VERDICT.get(nm["status"], nm["status"])):
            by_pair[(cm["verdict"], nm["status"])].append((cm, nm))
    for (cm_verdict, noot_status), items in sorted(by_pair.items(), key=lambda kv: -len(kv[1])):
        print(f"  cargo-mutants {cm_verdict}, noot {noot_status}: {len(items)}")
        for cm, nm in items:
            detail = nm.get("detail", "")[:110]
            print(f"    {cm['file']}:{cm['line']}:{cm['column']} {cm['replacement'] or 'delete'} ({nm['id']}: {detail})")
    matched_cm = {id(p[0]) for p in pairs + unbuilt}
    matched_noot = {p[1]["id"] for p in pairs + unbuilt}
    only_cm = [m for m in cm_mutants if id(m) not in matched_cm]
    only_noot = [m for m in noot_report["mutants"] if m["id"] not in matched_noot]
    print(f"Only cargo-mutants: {len(only_cm)}; only noot: {len(only_noot)}")
    for m in only_cm[:40]:
        print(f"    cargo-mutants only: {m['name']} [{m['verdict']}]")
    for m in only_noot[:40]:
        print(f"    noot only: {m['id']} {m['file']}:{m['line']}:{m['column']} {m['operator']} "
              f"`{m['replacement'][:40]}` [{m['status']}]")
    return share


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--crates", default=DEFAULT_CRATES, help="name@version, comma-separated")
    parser.add_argument("--cargo-mutants", help="a cargo-mutants binary to use instead of installing one")
    parser.add_argument("--keep", help="work in this folder and leave it (default: a temporary one)")
    args = parser.parse_args()
    if not os.path.exists(NOOT):
        sys.exit(f"{NOOT} is missing: cargo build --release -p noot")
    work = args.keep or tempfile.mkdtemp(prefix="noot-bench-rust-")
    os.makedirs(work, exist_ok=True)
    cargo_mutants = cargo_mutants_binary(args.cargo_mutants, work)
    print(f"# noot vs cargo-mutants {CARGO_MUTANTS_VERSION}, --jobs {args.jobs}, {os.cpu_count()} CPUs")
    try:
        for spec in args.crates.split(","):
            name, version = spec.split("@")
            log(f"== {name} {version}")
            copies = prepare(name, version, work)
            log("   cargo-mutants ...")
            cm_wall, cm_mutants = run_cargo_mutants(
                cargo_mutants, copies["cargo-mutants"], args.jobs, os.path.join(work, "cm-out-" + name))
            log(f"   cargo-mutants {cm_wall:.1f} s; noot (cold) ...")
            noot_wall, noot_report = run_noot(copies["noot"], args.jobs, force=False)
            log(f"   noot {noot_wall:.1f} s; noot (warm) ...")
            warm_wall, warm_report = run_noot(copies["noot"], args.jobs, force=True)
            log(f"   noot warm {warm_wall:.1f} s; your cargo test, then noot (cold) ...")
            users_build(copies["noot-seeded"])
            seeded_wall, seeded_report = run_noot(copies["noot-seeded"], args.jobs, force=False)
            report(f"{name} {version}", args.jobs, cm_wall, cm_mutants, noot_wall, noot_report, warm_wall, warm_report,
                   seeded_wall, seeded_report)
            sys.stdout.flush()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
