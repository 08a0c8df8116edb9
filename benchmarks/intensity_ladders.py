"""Intensity on the graded ladders (data/intensity): hyperamy's readings beside VADER's.

Spearman of each reading with the rung order (0 factual ... 4 overwhelming), pooled over every
sentence of a split, and the mean within-ladder Spearman:
- hyperamy intensity of the ladder's label (strength x probability), strength, kappa, probability;
- VADER (vaderSentiment, a rule-based valence model with graded word strengths): its absolute compound score.

    python benchmarks/intensity_ladders.py [--split test|dev] [--weights DIR]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import DATA, markdown_table, weights_folder, write_record  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["dev", "test"], default="test")
    parser.add_argument("--weights", type=weights_folder, help="encoder weights folder (default: shipped)")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/intensity_ladders.jsonl)")
    args = parser.parse_args()

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from hyperamy.encoder import EmotionEncoder
    from hyperamy.training.intensity_training import read_ladders
    from hyperamy.training.metrics import spearman

    texts, rungs, labels = read_ladders(DATA / "intensity" / f"{args.split}.jsonl")
    batch = EmotionEncoder.load(args.weights).encode(texts)
    vader = SentimentIntensityAnalyzer()
    readings = {
        "hyperamy intensity of the ladder's label": batch.intensity[np.arange(len(texts)), labels],
        "hyperamy strength": batch.strength,
        "hyperamy kappa": batch.kappa,
        "hyperamy probability of the ladder's label": batch.probs[np.arange(len(texts)), labels],
        "VADER absolute compound score": np.asarray([abs(vader.polarity_scores(t)["compound"]) for t in texts]),
    }
    ladders = [np.arange(i, i + 5) for i in range(0, len(texts), 5)]
    metrics = {name: {"pooled": spearman(values, rungs),
                      "within_ladder": float(np.nanmean([spearman(values[i], rungs[i]) for i in ladders]))}
               for name, values in readings.items()}
    print(markdown_table(["reading", "Spearman, pooled", "mean within-ladder Spearman"],
                         [[name, m["pooled"], m["within_ladder"]] for name, m in metrics.items()]))
    path = write_record("intensity_ladders", {"split": args.split}, f"data/intensity/{args.split}.jsonl "
                        f"({len(texts)} sentences)", metrics, {}, args.out)
    print(f"\nrecord appended to {path}")


if __name__ == "__main__":
    main()
