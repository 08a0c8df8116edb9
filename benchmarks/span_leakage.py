"""How much the rest of a sentence leaks into a span's emotion.

Sentences join two clauses about two people, "<X felt A>, while <Y felt B>." The span is X.
- leakage: how far X's reading moves when only B changes (mean total-variation distance between
  X's label distributions over the B variants), against
- signal: how far it moves when only A changes;
- span accuracy: X's top label is in A's accepted labels (read through Ekman's classes).
A span reader that heard only its own clause would have leakage 0 and ratio 0.

Two disjoint template sets (names and clause wordings): dev (for choosing any setting) and
test (reported). Written for this project.

    python benchmarks/span_leakage.py [--set dev|test] [--weights DIR]
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import markdown_table, weights_folder, write_record  # noqa: E402

# Ekman class -> clause templates ({n} is the person), per set
CLAUSES = {
    "dev": {
        "fear": ["{n} trembled with terror", "{n} was frozen with fear"],
        "joy": ["{n} laughed with delight", "{n} beamed with happiness"],
        "anger": ["{n} shouted in fury", "{n} was seething with rage"],
        "sadness": ["{n} wept in despair", "{n} sat heartbroken and grieving"],
        "surprise": ["{n} gasped in astonishment", "{n} was stunned by the news"],
        "neutral": ["{n} read the timetable", "{n} walked to the station"],
    },
    "test": {
        "fear": ["{n} shook with dread", "{n} was terrified of the dark road"],
        "joy": ["{n} danced for joy", "{n} was overjoyed at the letter"],
        "anger": ["{n} slammed the door in anger", "{n} was livid at the insult"],
        "sadness": ["{n} cried bitterly over the loss", "{n} was crushed with sorrow"],
        "surprise": ["{n} could not believe the sudden news", "{n} stared in amazement"],
        "neutral": ["{n} copied the figures into the ledger", "{n} closed the window"],
    },
}
NAMES = {"dev": [("Villefort", "Albert"), ("Anna", "Tom"), ("Marcel", "Julie")],
         "test": [("Danglars", "Mercedes"), ("Pierre", "Claire"), ("Hugo", "Lena")]}


def sentences(which: str):
    """(text, span, A class, A index, B key) for every name pair, A clause and B clause."""
    clauses = [(cls, t) for cls, templates in CLAUSES[which].items() for t in templates]
    rows = []
    for x, y in NAMES[which]:
        for a, (a_class, a_template) in enumerate(clauses):
            for b, (_, b_template) in enumerate(clauses):
                text = f"{a_template.format(n=x)}, while {b_template.format(n=y)}."
                rows.append((text, x, a_class, a, b))
    return rows


def total_variation(p: np.ndarray) -> float:
    """Mean pairwise total-variation distance among the rows of p."""
    pairs = list(itertools.combinations(range(len(p)), 2))
    return float(np.mean([0.5 * np.abs(p[i] - p[j]).sum() for i, j in pairs]))


def measure(encoder, which: str) -> dict:
    from hyperamy.emotions import EKMAN, LABEL_TO_EKMAN, group_matrix

    rows = sentences(which)
    batch = encoder.encode([r[0] for r in rows], spans=[r[1] for r in rows])
    probs = batch.probs
    ekman = probs @ group_matrix(LABEL_TO_EKMAN, EKMAN)
    by_a: dict = {}
    by_b: dict = {}
    for i, r in enumerate(rows):  # rows sharing name and A clause differ only in B, and the reverse
        by_a.setdefault((r[1], r[3]), []).append(i)
        by_b.setdefault((r[1], r[4]), []).append(i)
    leak = [total_variation(probs[idx]) for idx in by_a.values()]
    signal = [total_variation(probs[idx]) for idx in by_b.values()]
    right = [EKMAN[int(np.argmax(ekman[i]))] == r[2] for i, r in enumerate(rows)]
    return {"n": len(rows), "leakage": float(np.mean(leak)), "signal": float(np.mean(signal)),
            "ratio": float(np.mean(leak) / np.mean(signal)), "span_accuracy": float(np.mean(right))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=["dev", "test"], default="test")
    parser.add_argument("--weights", type=weights_folder, help="encoder weights folder (default: shipped)")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/span_leakage.jsonl)")
    args = parser.parse_args()

    from hyperamy.encoder import EmotionEncoder

    result = measure(EmotionEncoder.load(args.weights), args.set)
    print(markdown_table(["set", "sentences", "leakage (other clause)", "signal (own clause)", "ratio",
                          "span accuracy (Ekman)"],
                         [[args.set, result["n"], result["leakage"], result["signal"], result["ratio"],
                           result["span_accuracy"]]]))
    path = write_record("span_leakage", {"set": args.set}, f"{result['n']} composed sentences",
                        {"ratio": result["ratio"]}, result, args.out)
    print(f"\nrecord appended to {path}")


if __name__ == "__main__":
    main()
