"""Compare trained encoder runs side by side: the training objective on dev, test metrics, probes.

    python benchmarks/compare_runs.py runs/encoder runs/d7 runs/d21 runs/soup
    python benchmarks/compare_runs.py hyperamy/encoder/weights runs/soup --probe "I'm so glad you came"

For each weights folder: the dev loss that training minimises (the rule that picks a run's best
epoch, here applied across runs), GoEmotions test metrics (the folder's eval-test.json when it has
one, else computed), and the top label and kappa of each probe sentence. Every folder must share
the backbone and the number of tuned layers, so the frozen layers' output is computed once.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import markdown_table, weights_folder, write_record  # noqa: E402

PROBES = ["I can't believe they cancelled it, I'm furious", "The meeting is at 3pm."]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=weights_folder, help="weights folders (from hyperamy train or soup)")
    parser.add_argument("--probe", action="append", help=f"a sentence to read with each run [{PROBES}]")
    parser.add_argument("--data", type=Path, help="data folder (default: the project's data/)")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/compare_runs.jsonl)")
    args = parser.parse_args()

    import torch

    from hyperamy.config import TrainConfig, from_dict
    from hyperamy.encoder import EmotionEncoder
    from hyperamy.training.cache import build_cache
    from hyperamy.training.data import default_data_dir, read_goemotions
    from hyperamy.training.evaluate import evaluate
    from hyperamy.training.train import evaluate_cached

    data = args.data or default_data_dir()
    probes = args.probe or PROBES
    encoders = [EmotionEncoder.load(run) for run in args.runs]
    first = encoders[0]
    for run, encoder in zip(args.runs[1:], encoders[1:]):
        if (encoder.config.backbone, encoder.config.tuned_layers) != (first.config.backbone, first.config.tuned_layers):
            parser.error(f"{run} has another backbone or number of tuned layers than {args.runs[0]}")
    dev = read_goemotions(data / "goemotions" / "dev.tsv")
    cache = build_cache(first.model, first.tokenizer, dev, first.config.max_length)
    rows, results = [], {}
    for run, encoder in zip(args.runs, encoders):
        training = encoder.info.get("training", {}).get("config", {})
        config = from_dict(TrainConfig, {k: v for k, v in training.items() if k in TrainConfig.__dataclass_fields__})
        loss = evaluate_cached(encoder.model, cache, config, torch.tensor([1.0, config.entity_weight]))["loss"]
        saved = run / "eval-test.json"
        metrics = json.loads(saved.read_text()) if saved.is_file() else evaluate(encoder, data, "test")[0]
        batch = encoder.encode(probes)
        tops = [batch.top(i, 1)[0] for i in range(len(probes))]
        read = [{"text": text, "top": label, "prob": prob, "kappa": float(batch.kappa[i])}
                for i, (text, (label, prob)) in enumerate(zip(probes, tops))]
        results[str(run)] = {"dev_loss": loss, "macro_f1": metrics["macro_f1"],
                             "kappa_spearman": metrics["kappa_spearman"], "top1_accuracy": metrics["top1_accuracy"],
                             "entity_macro_f1_non_neutral": metrics["entity_macro_f1_non_neutral"],
                             "fingerprint": encoder.fingerprint, "probes": read}
        rows.append([str(run), loss, metrics["macro_f1"], metrics["kappa_spearman"], metrics["top1_accuracy"],
                     metrics["entity_macro_f1_non_neutral"],
                     *[f"{p['top']} {p['prob']:.2f} (kappa {p['kappa']:.1f})" for p in read]])
    headers = ["run", "dev loss", "test macro-F1", "kappa Spearman", "top-1", "entity F1 (non-neutral)",
               *[f"probe {i + 1}" for i in range(len(probes))]]
    print(markdown_table(headers, rows))
    print("\n" + "\n".join(f"probe {i + 1}: {text}" for i, text in enumerate(probes)))
    path = write_record("compare_runs", {"runs": [str(r) for r in args.runs], "probes": probes},
                        "GoEmotions dev (loss) and test (metrics)", results, {}, args.out)
    print(f"\nrecord appended to {path}")


if __name__ == "__main__":
    main()
