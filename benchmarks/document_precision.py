"""Documents encoded in bfloat16 against float32 and plain sentence-transformers (issue #26).

In one run, on this CPU:
- speed: texts/s of sentence-transformers encoding (the baseline, float32, its batch of 64),
  hyperamy's encoder in float32 and in bfloat16 (autocast over the transformer layers,
  hyperamy/encoder/precision.py), each at its own batch size, on the first --limit Monte Cristo
  passages; medians of --repeats passes;
- fidelity of bfloat16 to float32, as the int8 probe was checked (onnx_runtime.py): least and
  median semantic cosine, least mu cosine, largest kappa and probability gaps; dense Recall@10 of
  the semantic vectors over all 10,000 Monte Cristo passages (public questions and the paraphrased
  test half); GoEmotions test macro-F1 at the shipped thresholds.

    python benchmarks/document_precision.py [--limit 2000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import SHARED, markdown_table, write_record  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "data"


def least_and_median_cosine(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    cosine = np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return float(cosine.min()), float(np.median(cosine))


def dense_recall(passages: np.ndarray, ids: np.ndarray, encode, sets: dict) -> dict:
    """Recall@10 of semantic vectors alone (cosine over every passage), per question set."""
    found = {}
    for name, rows in sets.items():
        asked = encode([row["question"] for row in rows])
        top = np.argsort(-(asked @ passages.T), axis=1)[:, :10]
        gold = [set(map(str, row.get("gold_ids") or [row.get("gold_id")])) for row in rows]
        found[name] = float(np.mean([bool(set(ids[t]) & g) for t, g in zip(top, gold)]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=2000, help="Monte Cristo passages timed")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes (medians)")
    parser.add_argument("--goemotions", type=int, default=0, help="GoEmotions test texts scored (0: all)")
    parser.add_argument("--passages", type=int, default=0,
                        help="Monte Cristo passages searched for dense recall (0: all 10,000; fewer for a smoke run)")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/document_precision.jsonl)")
    args = parser.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    from hyperamy.encoder.joint import SharedTrunkEncoder
    from hyperamy.encoder.precision import BATCH, _native_bfloat16
    from hyperamy.encoder.weights import resolve_backbone
    from hyperamy.training.data import read_goemotions
    from hyperamy.training.metrics import gold_matrix, multilabel_metrics

    corpus = [json.loads(line) for line in (SHARED / "monte_cristo" / "corpus.jsonl").open(encoding="utf-8")]
    corpus = corpus[: args.passages] if args.passages else corpus
    texts = [row["text"] for row in corpus]
    timed = texts[: args.limit]
    encoders = {precision: SharedTrunkEncoder.load(precision=precision) for precision in ("float32", "bfloat16")}
    plain = SentenceTransformer(str(resolve_backbone(encoders["float32"].emotion.config.backbone)), device="cpu")
    runs = {"sentence-transformers (float32, batch 64)": lambda: plain.encode(timed, batch_size=64),
            f"hyperamy float32 (batch {BATCH['float32']})": lambda: encoders["float32"].encode(timed),
            f"hyperamy bfloat16 (batch {BATCH['bfloat16']})": lambda: encoders["bfloat16"].encode(timed)}
    for encoder in encoders.values():  # warm
        encoder.encode(timed[:64])
    plain.encode(timed[:64])
    seconds = {name: [] for name in runs}
    with torch.inference_mode():
        for _ in range(args.repeats):
            for name, run in runs.items():  # alternating, so drift hits each alike
                started = time.perf_counter()
                run()
                seconds[name].append(time.perf_counter() - started)
    rate = {name: len(timed) / statistics.median(s) for name, s in seconds.items()}
    base = rate["sentence-transformers (float32, batch 64)"]

    float32, bfloat16 = (encoders[p].encode(texts) for p in ("float32", "bfloat16"))
    semantic_least, semantic_median = least_and_median_cosine(float32.semantic, bfloat16.semantic)
    fidelity = {"semantic_min_cos": semantic_least, "semantic_median_cos": semantic_median,
                "mu_min_cos": least_and_median_cosine(float32.emotion.mu, bfloat16.emotion.mu)[0],
                "kappa_max_rel": float(np.max(np.abs(float32.emotion.kappa - bfloat16.emotion.kappa)
                                              / float32.emotion.kappa)),
                "probs_max_abs": float(np.abs(float32.emotion.probs - bfloat16.emotion.probs).max()),
                "top_label_agreement": float(np.mean(float32.emotion.probs.argmax(1)
                                                     == bfloat16.emotion.probs.argmax(1)))}
    ids = np.asarray([str(row["id"]) for row in corpus])
    sets = {name: [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
            for name, path in (("public", SHARED / "monte_cristo" / "qa.jsonl"),
                               ("paraphrased test", DATA / "paraphrased" / "monte_cristo_test.jsonl"))}
    recall = {precision: dense_recall(vectors, ids, lambda q, p=precision: encoders[p].encode(q).semantic, sets)
              for precision, vectors in (("float32", float32.semantic), ("bfloat16", bfloat16.semantic))}
    samples = read_goemotions(DATA / "goemotions" / "test.tsv", limit=args.goemotions)
    gold = gold_matrix([s.labels for s in samples])
    thresholds = encoders["float32"].emotion.thresholds
    macro = {precision: multilabel_metrics(encoders[precision].encode([s.text for s in samples]).emotion.probs,
                                           gold, thresholds)["macro_f1"] for precision in encoders}

    print(markdown_table(["encoding", "texts/s", "ratio to sentence-transformers"],
                         [[name, r, r / base] for name, r in rate.items()]))
    print()
    print(markdown_table(["fidelity of bfloat16 to float32", "value"], [[k, v] for k, v in fidelity.items()]))
    print()
    print(markdown_table(["", "float32", "bfloat16"],
                         [[f"dense Recall@10, {name}", recall["float32"][name], recall["bfloat16"][name]]
                          for name in sets] + [["GoEmotions test macro-F1", macro["float32"], macro["bfloat16"]]]))
    path = write_record("document_precision", {"limit": len(timed), "repeats": args.repeats,
                                               "native_bfloat16": _native_bfloat16(), "batch": BATCH,
                                               "threads": torch.get_num_threads()},
                        f"monte_cristo corpus ({len(texts)} passages), goemotions test ({len(samples)} texts)",
                        {"fidelity": fidelity, "dense_recall@10": recall, "goemotions_macro_f1": macro},
                        {"texts_per_s": rate, "ratio_to_sentence_transformers": {n: r / base for n, r in rate.items()}},
                        args.out)
    print(f"\nrecord appended to {path}")


if __name__ == "__main__":
    main()
