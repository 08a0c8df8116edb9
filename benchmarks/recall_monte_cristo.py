"""Recall@1/5/10/20 and MRR on Monte Cristo question sets: hyperamy's modes beside the peers.

    python benchmarks/recall_monte_cristo.py      # the 50 public questions and data/paraphrased's test split
    python benchmarks/recall_monte_cristo.py --qa ../shared/data/monte_cristo/qa.jsonl --qa data/paraphrased/monte_cristo_dev.jsonl
    python benchmarks/recall_monte_cristo.py --corpus tiny.jsonl --qa tiny_qa.jsonl --no-txtai   # smoke

Every system answers every question set in the same run; each set gets its own table.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import DATA, SHARED, input_file, markdown_table, weights_folder, write_record  # noqa: E402

CUTOFFS = (1, 5, 10, 20)


def recall_and_mrr(rankings: list[list[str]], gold: list[set[str]]) -> dict:
    metrics = {f"R@{c}": sum(bool(set(r[:c]) & g) for r, g in zip(rankings, gold)) / len(gold) for c in CUTOFFS}
    reciprocal = []
    for ranking, wanted in zip(rankings, gold):
        rank = next((i for i, doc in enumerate(ranking, 1) if doc in wanted), None)
        reciprocal.append(1.0 / rank if rank else 0.0)
    metrics["MRR"] = sum(reciprocal) / len(reciprocal)
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=input_file, default=str(SHARED / "monte_cristo" / "corpus.jsonl"))
    parser.add_argument("--qa", type=input_file, action="append",
                        help="question file (repeatable) [default: the 50 public questions and the paraphrased "
                             "test split]")
    parser.add_argument("--index", type=Path, help="reuse or build the hyperamy index here (default: a temp folder)")
    parser.add_argument("--weights", type=weights_folder, help="encoder weights folder (default: shipped)")
    parser.add_argument("--emotion-weights", default="", help="extra hybrid runs with these emotion weights, e.g. 0,0.5")
    parser.add_argument("--no-txtai", action="store_true", help="leave txtai out")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/recall_monte_cristo.jsonl)")
    args = parser.parse_args()
    args.qa = args.qa or [input_file(str(SHARED / "monte_cristo" / "qa.jsonl")),
                          input_file(str(DATA / "paraphrased" / "monte_cristo_test.jsonl"))]

    from peers import BM25Peer, DensePeer, FusionPeer, txtai_or_reason

    from hyperamy.corpus import read_records
    from hyperamy.encoder import EmotionEncoder
    from hyperamy.encoder.joint import SharedTrunkEncoder
    from hyperamy.encoder.weights import resolve_backbone
    from hyperamy.engine import HyperAmy

    sets = {path.stem: [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            for path in args.qa}
    records = list(read_records(args.corpus))
    encoder = SharedTrunkEncoder.from_backbone(EmotionEncoder.load(args.weights))
    folder = args.index or Path(tempfile.mkdtemp(prefix="hyperamy-mc-"))
    engine = HyperAmy.open(folder, create=True, encoder=encoder)
    started = time.perf_counter()
    engine.add(records)
    timings = {"hyperamy_index_seconds": round(time.perf_counter() - started, 1)}

    rows, metrics = {name: [] for name in sets}, {name: {} for name in sets}

    def evaluate(system, search):
        for name, questions in sets.items():
            started = time.perf_counter()
            rankings = [search(q["question"]) for q in questions]
            result = recall_and_mrr(rankings, [set(q["gold_ids"]) for q in questions])
            timings[f"{name}: {system} query_seconds"] = round(time.perf_counter() - started, 2)
            metrics[name][system] = result
            rows[name].append([system] + [result[f"R@{c}"] for c in CUTOFFS] + [result["MRR"]])

    for mode in ("hybrid", "semantic", "lexical", "emotion"):
        evaluate(f"hyperamy {mode}", lambda q, m=mode: [h.id for h in engine.search(q, k=20, mode=m)])
    evaluate("hyperamy hybrid, fusion=evidence (hand-set)",
             lambda q: [h.id for h in engine.search(q, k=20, fusion="evidence")])
    default_config = engine.config
    for weight in [float(w) for w in args.emotion_weights.split(",") if w.strip()]:
        engine.config = dataclasses.replace(default_config, emotion_weight=weight)
        evaluate(f"hyperamy hybrid, emotion_weight={weight}", lambda q: [h.id for h in engine.search(q, k=20)])
    engine.config = default_config

    ids, texts = [r.id for r in records], [r.text for r in records]
    folder_path = str(resolve_backbone(encoder.emotion.config.backbone))
    bm25, dense = BM25Peer(), DensePeer(folder_path)
    peers = [bm25, dense, FusionPeer(bm25, dense)]
    txtai, reason = (None, "left out (--no-txtai)") if args.no_txtai else txtai_or_reason(folder_path)
    peers += [txtai] if txtai else []
    for peer in peers:
        started = time.perf_counter()
        peer.build(ids, texts)
        timings[f"{peer.name} build_seconds"] = round(time.perf_counter() - started, 1)
        evaluate(peer.name, lambda q, p=peer: p.search(q, 20))
    for name, questions in sets.items():
        if reason:
            rows[name].append(["txtai hybrid", reason, "", "", "", ""])
        print(f"\n{name} ({len(questions)} questions)\n")
        print(markdown_table(["system"] + [f"R@{c}" for c in CUTOFFS] + ["MRR"], rows[name]))
    path = write_record("recall_monte_cristo", {"index_config": dataclasses.asdict(default_config),
                                                "weights": str(args.weights or "shipped"), "txtai": reason or "ran"},
                        f"{args.corpus.name} ({len(records)} passages), "
                        + ", ".join(f"{name} ({len(q)} questions)" for name, q in sets.items()),
                        metrics, timings, args.out)
    print(f"\nrecord appended to {path}")


if __name__ == "__main__":
    main()
