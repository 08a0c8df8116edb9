"""Beyond Reddit: how the encoder reads GoEmotions test comments rewritten in other registers, and
technical text.

- registers: each test comment rewritten (hyperamy.training.augment.keeping: lowercase, no
  punctuation, a hashtag, an emoji of its group), scored with the shipped thresholds: macro-F1 and
  top-1 against the clean text's, and how far strength moves;
- technical text: the held-out standard-library docstrings (intensity_training.technical_texts
  "dev", never trained on): share read neutral, mean strength, mean strongest label intensity.

    python benchmarks/robustness.py [--limit N] [--weights DIR]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import DATA, markdown_table, weights_folder, write_record  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N test comments")
    parser.add_argument("--weights", type=weights_folder, help="encoder weights folder (default: shipped)")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/robustness.jsonl)")
    args = parser.parse_args()

    from hyperamy.emotions import LABEL_TO_GROUP, LABELS, NEUTRAL
    from hyperamy.encoder import EmotionEncoder
    from hyperamy.training.augment import keeping
    from hyperamy.training.data import read_goemotions
    from hyperamy.training.intensity_training import technical_texts
    from hyperamy.training.metrics import gold_matrix, multilabel_metrics

    encoder = EmotionEncoder.load(args.weights)
    samples = read_goemotions(DATA / "goemotions" / "test.tsv", limit=args.limit)
    rng = random.Random(7)
    rewritten = [keeping(s.text, rng, LABEL_TO_GROUP[LABELS[s.labels[0]]]) for s in samples]
    gold = gold_matrix([s.labels for s in samples])
    clean, other = encoder.encode([s.text for s in samples]), encoder.encode(rewritten)
    rows, metrics = [], {}
    for name, batch in (("clean", clean), ("rewritten", other)):
        scored = multilabel_metrics(batch.probs, gold, encoder.thresholds)
        metrics[f"{name}_macro_f1"], metrics[f"{name}_top1"] = scored["macro_f1"], scored["top1_accuracy"]
        rows.append([name, scored["macro_f1"], scored["top1_accuracy"]])
    metrics["top1_agreement"] = float((clean.probs.argmax(1) == other.probs.argmax(1)).mean())
    if clean.strength is not None:
        metrics["strength_mean_abs_change"] = float(np.abs(clean.strength - other.strength).mean())
    technical = technical_texts("dev")
    felt = encoder.encode(technical)
    metrics["technical_n"] = len(technical)
    metrics["technical_neutral_share"] = float((felt.probs.argmax(1) == NEUTRAL).mean())
    metrics["technical_mean_kappa"] = float(felt.kappa.mean())
    metrics["technical_mean_top_other_prob"] = float(np.delete(felt.probs, NEUTRAL, axis=1).max(1).mean())
    if felt.strength is not None:
        metrics["technical_mean_strength"] = float(felt.strength.mean())
        metrics["technical_mean_top_intensity"] = float(felt.intensity.max(1).mean())
    print(markdown_table(["GoEmotions test", "macro-F1", "top-1"], rows))
    print()
    print(markdown_table(["measure", "value"], [[k, v] for k, v in metrics.items() if "macro_f1" not in k]))
    path = write_record("robustness", {"limit": args.limit}, f"GoEmotions test ({len(samples)}), "
                        f"{len(technical)} docstrings", metrics, {}, args.out)
    print(f"\nrecord appended to {path}")


if __name__ == "__main__":
    main()
