#!/usr/bin/env python3
"""noot scrub against detect-secrets (Yelp), the scanner a Python team
would otherwise reach for, on the same generated log corpus, in one run.

Both tools read the file and report what they find; noot also writes the
redacted text. Prints MiB/s for each, the findings each reported, and the
ratio. Needs a release build of noot and `pip install detect-secrets`.

    cargo build --release -p noot
    python3 -m pip install detect-secrets==1.5.0
    python3 benches/scrub_vs_detect_secrets.py [--mib 8]
"""

import argparse
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time

LINES = [
    "2026-11-21T06:18:31Z INFO request id=123e4567-e89b-12d3-a456-426614174000 GET /api/v1/items 200 12ms\n",
    "2026-11-21T06:18:32Z DEBUG connecting to https://api.example.com:8443/v2/users?page=3\n",
    "2026-11-21T06:18:33Z WARN retrying after 503 from http://10.0.0.7:9000/health (attempt 2)\n",
    "2026-11-21T06:18:34Z INFO token refreshed for user 4182 (expires in 3600s)\n",
    "    def reset_password(user, token_store):\n        return token_store.issue(user.id)\n",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b\nAuthor: Dev <dev@example.com>\n",
]


def token(rng, n):
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def corpus(path, mib):
    rng = random.Random(7)
    target = mib * 1024 * 1024
    size, next_secret, planted = 0, 8192, 0
    with open(path, "w") as out:
        while size < target:
            line = rng.choice(LINES)
            if size >= next_secret:
                next_secret += 8192
                planted += 1
                kind = rng.randrange(4)
                if kind == 0:
                    line = f"GITHUB_TOKEN=ghp_{token(rng, 36)}\n"
                elif kind == 1:
                    line = f"Authorization: Bearer {token(rng, 32)}\n"
                elif kind == 2:
                    line = f"DATABASE_URL=postgres://app:{token(rng, 16)}@db:5432/app\n"
                else:
                    line = f'api_key = "{token(rng, 24)}"\n'
            out.write(line)
            size += len(line)
    return size, planted


def timed(cmd, **kwargs):
    best, out = None, None
    for _ in range(3):
        start = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=8, help="corpus size in MiB")
    parser.add_argument("--noot", default=os.path.join("target", "release", "noot"))
    args = parser.parse_args()
    if not os.path.exists(args.noot):
        sys.exit(f"{args.noot} not found: run `cargo build --release -p noot` first")
    detect = shutil.which("detect-secrets")
    if not detect:
        sys.exit("detect-secrets not found: python3 -m pip install detect-secrets==1.5.0")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "corpus.log")
        size, planted = corpus(path, args.mib)
        mib = size / (1024 * 1024)
        noot_s, noot_out = timed([args.noot, "--jobs", "1", "scrub", "--format", "json", path])
        noot_found = json.loads(noot_out.stdout)["summary"]["findings"]
        ds_s, ds_out = timed([detect, "scan", path], cwd=tmp)
        ds_found = sum(len(v) for v in json.loads(ds_out.stdout)["results"].values())
    print(f"corpus: {mib:.1f} MiB of logs and code, a secret every 8 KiB ({planted} planted)")
    print(f"{'tool':<16} {'seconds':>8} {'MiB/s':>8} {'findings':>9}")
    print(f"{'noot scrub':<16} {noot_s:>8.3f} {mib / noot_s:>8.1f} {noot_found:>9}")
    print(f"{'detect-secrets':<16} {ds_s:>8.3f} {mib / ds_s:>8.1f} {ds_found:>9}")
    print(f"noot is {ds_s / noot_s:.0f}x faster (best of 3 each, whole process, one core for noot)")


if __name__ == "__main__":
    main()
