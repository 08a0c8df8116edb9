"""A writer process for the concurrency tests: `python write_process.py FOLDER add|delete FIRST LAST [DELAY]`.

Adds documents d{FIRST}..d{LAST-1} (or deletes those ids) with the fake encoder, committing every
10 documents, and prints one JSON line with what it did once the write has returned.
"""
import json
import sys

from fakes import SlowEncoder

from hyperamy.corpus import Record
from hyperamy.engine import HyperAmy

folder, action, first, last = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
delay = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
engine = HyperAmy.open(folder, create=True, encoder=SlowEncoder(delay), wait=120)
ids = [f"d{i}" for i in range(first, last)]
if action == "add":
    words = ["harbour", "prison", "garden", "storm", "letter", "ball"]
    report = engine.add((Record(i, f"Document {i} about the {words[n % 6]} and the sea", {"n": n})
                         for n, i in zip(range(first, last), ids)), commit_every=10)
    print(json.dumps({"added": report.added}), flush=True)
else:
    print(json.dumps({"removed": engine.remove(ids)}), flush=True)
