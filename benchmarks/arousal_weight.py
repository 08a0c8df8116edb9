"""Which weight of EmoBank arousal train-intensity should use: each weight's fitted strength head,
scored on what may choose (the dev ladders' Spearman, EmoBank train's held-out tenth's Pearson r)
and on what is only reported (EmoBank dev's r).

    python benchmarks/arousal_weight.py --weights runs/v2soup --try 0,0.1,0.3

The top states are computed once (about 8 minutes on 2 cores); each weight then fits in minutes.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import DATA, markdown_table, weights_folder, write_record  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=weights_folder, help="the model whose strength head is refitted [shipped]")
    parser.add_argument("--try", dest="weights_tried", default="0,0.1,0.3", help="comma-separated arousal weights")
    parser.add_argument("--out", type=Path, help="results file [benchmarks/results/arousal_weight.jsonl]")
    args = parser.parse_args()
    tried = [float(w) for w in args.weights_tried.split(",")]

    import torch
    from scipy.stats import pearsonr, spearmanr

    from hyperamy.encoder import EmotionEncoder
    from hyperamy.training.data import read_emobank
    from hyperamy.training.intensity_training import IntensityConfig, Part, cache_top_states, cached_parts, fit_head

    encoder = EmotionEncoder.load(args.weights)
    base = IntensityConfig(arousal_weight=1.0)  # any weight above 0 builds the arousal parts
    parts = cached_parts(encoder, DATA, base)
    rated = read_emobank(DATA / "emobank" / "dev.jsonl")
    dev = Part([s.text for s in rated])
    cache_top_states(encoder.model, encoder.tokenizer, dev, encoder.config.max_length)
    dev_arousal = np.asarray([s.affect[1] for s in rated])
    rows = []
    for weight in tried:
        best, _, state = fit_head(encoder.model, parts, dataclasses.replace(base, arousal_weight=weight))
        head = torch.nn.Linear(encoder.model.energy.in_features, 1)
        head.load_state_dict(state)
        with torch.no_grad():
            ladders = parts["dev"]["ladders"][0].energies(head).clamp(max=1).numpy()
            held = parts["dev"]["arousal"][0].energies(head).clamp(max=1).numpy()
            reported = dev.energies(head).clamp(max=1).numpy()
        row = {"weight": weight, "step": best["step"],
               "dev_ladders_spearman": round(float(spearmanr(ladders, parts["dev"]["ladders"][1].numpy())[0]), 3),
               "held_out_arousal_r": round(float(pearsonr(held, parts["dev"]["arousal"][1].numpy())[0]), 3),
               "emobank_dev_arousal_r": round(float(pearsonr(reported, dev_arousal)[0]), 3)}
        rows.append(row)
        print(row, flush=True)
    chosen = max(rows, key=lambda r: r["dev_ladders_spearman"] + r["held_out_arousal_r"])
    print(markdown_table(["weight", "dev ladders Spearman", "held-out tenth arousal r", "EmoBank dev arousal r (reported)"],
                         [[r["weight"], r["dev_ladders_spearman"], r["held_out_arousal_r"], r["emobank_dev_arousal_r"]]
                          for r in rows]))
    print(f"chosen (highest ladders + held-out sum): {chosen['weight']}")
    write_record("arousal_weight", {"weights": str(args.weights or "shipped"), "tried": tried},
                 "data/intensity dev, EmoBank train held-out tenth (choice), EmoBank dev (report)",
                 {"rows": rows, "chosen": chosen["weight"]}, {}, args.out)


if __name__ == "__main__":
    main()
