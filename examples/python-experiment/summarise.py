"""A toy extractive summariser: an experiment branch for `noot experiment`.

Reads an article on stdin, prints a summary of N sentences, and writes
metrics (words kept, compression) to the file noot names in
NOOT_METRICS_FILE.
"""
import argparse
import json
import os
import re
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--method", choices=["lead", "longest"], required=True)
parser.add_argument("--sentences", type=int, required=True)
args = parser.parse_args()

text = sys.stdin.read()
sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
if args.method == "lead":
    chosen = sentences[: args.sentences]
else:
    longest = sorted(range(len(sentences)), key=lambda i: -len(sentences[i]))[: args.sentences]
    chosen = [sentences[i] for i in sorted(longest)]
summary = " ".join(chosen)
print(summary)

words = len(summary.split())
metrics = {"words": words, "compression": round(words / max(len(text.split()), 1), 3)}
if os.environ.get("NOOT_METRICS_FILE"):
    with open(os.environ["NOOT_METRICS_FILE"], "w") as f:
        json.dump(metrics, f)
