"""Emotion retrieval on GoEmotions: find texts that feel like the query.

Corpus: the test texts. Queries: the first N dev texts not labelled only neutral. A corpus text
is relevant when it shares a non-neutral label with the query; nDCG gain is the Jaccard of the two
non-neutral label sets.

    python benchmarks/recall_goemotions.py
    python benchmarks/recall_goemotions.py --corpus-limit 300 --queries 30   # smoke
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import DATA, input_file, markdown_table, weights_folder, write_record  # noqa: E402

NEUTRAL = 27


def read_tsv(path: Path, limit: int = 0):
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text, labels, comment = line.split("\t")[:3]
        rows.append((comment, text, frozenset(int(x) for x in labels.split(",")) - {NEUTRAL}))
        if limit and len(rows) >= limit:
            break
    return rows


def precision_and_ndcg(rankings, query_labels, doc_labels: dict, all_gains_sorted) -> dict:
    precision, ndcg = [], []
    discounts = 1.0 / np.log2(np.arange(2, 12))
    for ranking, wanted, ideal in zip(rankings, query_labels, all_gains_sorted):
        gains = [len(wanted & doc_labels[d]) / len(wanted | doc_labels[d]) if doc_labels[d] else 0.0
                 for d in ranking[:10]]
        precision.append(sum(g > 0 for g in gains) / 10)
        best = float(np.sum(ideal[:10] * discounts[: len(ideal[:10])]))
        ndcg.append(float(np.sum(np.asarray(gains) * discounts[: len(gains)])) / best if best else 0.0)
    return {"P@10": float(np.mean(precision)), "nDCG@10": float(np.mean(ndcg))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=input_file, default=str(DATA / "goemotions" / "test.tsv"))
    parser.add_argument("--queries-file", type=input_file, default=str(DATA / "goemotions" / "dev.tsv"))
    parser.add_argument("--queries", type=int, default=1000, help="how many non-neutral dev texts to ask")
    parser.add_argument("--corpus-limit", type=int, default=0, help="use only the first N corpus texts")
    parser.add_argument("--weights", type=weights_folder, help="encoder weights folder (default: shipped)")
    parser.add_argument("--emotion-weights", default="", help="extra hybrid runs with these emotion weights, e.g. 1,1.5")
    parser.add_argument("--skip-peers", action="store_true", help="hyperamy's modes only (for tuning runs)")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/recall_goemotions.jsonl)")
    args = parser.parse_args()

    from peers import DensePeer, LexiconPeer

    from hyperamy.corpus import Record
    from hyperamy.encoder import EmotionEncoder
    from hyperamy.encoder.joint import SharedTrunkEncoder
    from hyperamy.encoder.weights import resolve_backbone
    from hyperamy.engine import HyperAmy

    corpus = read_tsv(args.corpus, args.corpus_limit)
    queries = [q for q in read_tsv(args.queries_file) if q[2]][: args.queries]
    doc_labels = {comment: labels for comment, _, labels in corpus}
    query_labels = [labels for _, _, labels in queries]
    ideal = []
    for wanted in query_labels:
        gains = np.asarray([len(wanted & d) / len(wanted | d) if d else 0.0 for d in doc_labels.values()])
        ideal.append(np.sort(gains)[::-1])
    relevant_share = np.mean([np.mean([bool(w & d) for d in doc_labels.values()]) for w in query_labels])

    encoder = SharedTrunkEncoder.from_backbone(EmotionEncoder.load(args.weights))
    engine = HyperAmy.open(Path(tempfile.mkdtemp(prefix="hyperamy-ge-")), create=True, encoder=encoder)
    started = time.perf_counter()
    engine.add(Record(comment, text, {}) for comment, text, _ in corpus)
    timings = {"hyperamy_index_seconds": round(time.perf_counter() - started, 1)}
    rows, metrics = [], {}

    def evaluate(name, search):
        started = time.perf_counter()
        rankings = [search(text) for _, text, _ in queries]
        timings[f"{name} query_seconds"] = round(time.perf_counter() - started, 2)
        metrics[name] = precision_and_ndcg(rankings, query_labels, doc_labels, ideal)
        rows.append([name, metrics[name]["P@10"], metrics[name]["nDCG@10"]])

    for mode in ("emotion", "hybrid", "semantic", "lexical"):
        evaluate(f"hyperamy {mode}", lambda q, m=mode: [h.id for h in engine.search(q, k=10, mode=m)])
    evaluate("hyperamy hybrid, fusion=evidence (hand-set)",
             lambda q: [h.id for h in engine.search(q, k=10, fusion="evidence")])
    for weight in [float(w) for w in args.emotion_weights.split(",") if w.strip()]:
        evaluate(f"hyperamy hybrid, emotion_weight={weight}",
                 lambda q, w=weight: [h.id for h in engine.search(q, k=10, emotion_weight=w)])
    ids, texts = [c for c, _, _ in corpus], [t for _, t, _ in corpus]
    peers = () if args.skip_peers else (DensePeer(str(resolve_backbone(encoder.emotion.config.backbone))),
                                         LexiconPeer())
    for peer in peers:
        started = time.perf_counter()
        peer.build(ids, texts)
        timings[f"{peer.name} build_seconds"] = round(time.perf_counter() - started, 1)
        evaluate(peer.name, lambda q, p=peer: p.search(q, 10))
    rows.append(["random (expected)", float(relevant_share), ""])
    metrics["random"] = {"P@10": float(relevant_share)}
    print(markdown_table(["system", "P@10", "nDCG@10"], rows))
    path = write_record("recall_goemotions", {"index_config": dataclasses.asdict(engine.config),
                                              "weights": str(args.weights or "shipped"), "queries": len(queries)},
                        f"GoEmotions {args.corpus.name} ({len(corpus)} texts), {len(queries)} dev queries",
                        metrics, timings, args.out)
    print(f"\nrecord appended to {path}")


if __name__ == "__main__":
    main()
