"""ONNX Runtime against torch for hyperamy's encoder, float32 and dynamic int8 (issue #18).

Exports the whole joint encoder (hyperamy/encoder/graph.py: embeddings, shared lower layers, the
semantic branch, the tuned emotion branch with mu / kappa / probs / strength, pooling weights as
an input), checks it against the torch encoder on padded batches, spans and truncated texts, and
times, in one run:
- documents: texts/s of SharedTrunkEncoder.encode (torch, what indexing uses) against ONNX Runtime
  (float32, and int8 with per-channel dynamic quantisation), with plain sentence-transformers
  encoding as the baseline;
- one query: ms of the torch path and of ONNX Runtime (float32: what searches use; int8).
(An earlier version of this script, commit 9d4e90c's record, also timed the NumPy and packed
torch query paths that ONNX Runtime replaced.)

    python benchmarks/onnx_runtime.py [--limit N] [--queries N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import DATA, markdown_table, write_record  # noqa: E402

from hyperamy.encoder.graph import OUTPUTS  # noqa: E402


def export(shared, path: Path) -> None:
    from hyperamy.encoder.graph import export as export_graph

    export_graph(None, path)


class OnnxEncoder:
    """Runs the exported graph on batches made exactly as the torch encoder makes them."""

    def __init__(self, path: Path, tokenizer, max_length: int, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer, self.max_length = tokenizer, max_length

    def encode(self, texts, spans=None, batch_size: int = 64) -> dict:
        from hyperamy.encoder.tokens import length_sorted_batches

        inverse, batches = length_sorted_batches(self.tokenizer, texts, spans, self.max_length, batch_size)
        parts = []
        for batch in batches:
            feed = {"input_ids": batch["input_ids"].numpy(), "attention_mask": batch["attention_mask"].numpy(),
                    "token_mask": batch["token_mask"].numpy().astype(np.float32)}
            parts.append(self.session.run(list(OUTPUTS), feed))
        return {name: np.concatenate([p[i] for p in parts])[inverse] for i, name in enumerate(OUTPUTS)}


def fidelity(onnx_encoder, shared, texts, spans) -> dict:
    """Least cosine (semantic, mu) and largest differences (kappa, probs, strength) against torch."""
    ours = shared.encode(texts, spans)
    theirs = onnx_encoder.encode(texts, spans)
    cos = lambda a, b: float(np.min(np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)))  # noqa: E731
    return {"semantic_min_cos": cos(ours.semantic, theirs["semantic"]), "mu_min_cos": cos(ours.emotion.mu, theirs["mu"]),
            "kappa_max_abs": float(np.abs(ours.emotion.kappa - theirs["kappa"]).max()),
            "probs_max_abs": float(np.abs(ours.emotion.probs - theirs["probs"]).max()),
            "strength_max_abs": float(np.abs(ours.emotion.strength - theirs["strength"]).max())}


def dense_recall(encoder) -> dict:
    """Recall@10 of semantic vectors alone (cosine over all 10,000 passages) per question set."""
    import json

    from common import SHARED

    corpus = [json.loads(line) for line in (SHARED / "monte_cristo" / "corpus.jsonl").open(encoding="utf-8")]
    vectors = encoder.encode([row["text"] for row in corpus])["semantic"]
    ids = np.asarray([str(row["id"]) for row in corpus])
    sets = {"public": SHARED / "monte_cristo" / "qa.jsonl",
            "paraphrased test": DATA / "paraphrased" / "monte_cristo_test.jsonl"}
    result = {}
    for name, path in sets.items():
        rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
        asked = encoder.encode([row["question"] for row in rows])["semantic"]
        top = np.argsort(-(asked @ vectors.T), axis=1)[:, :10]
        gold = [set(map(str, row.get("gold_ids") or [row.get("gold_id")])) for row in rows]
        result[name] = float(np.mean([bool(set(ids[t]) & g) for t, g in zip(top, gold)]))
    return result


def median_ms(function, items, repeats: int = 1) -> float:
    times = []
    for _ in range(repeats):
        for item in items:
            started = time.perf_counter()
            function(item)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=2000, help="GoEmotions test texts for document throughput")
    parser.add_argument("--queries", type=int, default=200, help="single queries to time")
    parser.add_argument("--recall", action="store_true",
                        help="also: dense Recall@10 on the Monte Cristo questions with float32 and int8 vectors")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/onnx_runtime.jsonl)")
    args = parser.parse_args()

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    from hyperamy.encoder import EmotionEncoder
    from hyperamy.encoder.joint import SharedTrunkEncoder
    from hyperamy.encoder.weights import resolve_backbone

    threads = torch.get_num_threads()
    texts = [line.split("\t")[0] for line in (DATA / "goemotions" / "test.tsv").read_text().splitlines()][: args.limit]
    shared = SharedTrunkEncoder.from_backbone(EmotionEncoder.load())
    tokenizer, max_length = shared.emotion.tokenizer, shared.emotion.config.max_length
    with tempfile.TemporaryDirectory() as folder:
        path, quantized = Path(folder) / "joint.onnx", Path(folder) / "joint-int8.onnx"
        started = time.perf_counter()
        export(shared, path)
        export_seconds = time.perf_counter() - started
        quantize_dynamic(str(path), str(quantized), weight_type=QuantType.QInt8, per_channel=True)
        exact, int8 = (OnnxEncoder(p, tokenizer, max_length, threads) for p in (path, quantized))
        probe = texts[:256] + ["word " * 400, "Villefort turned pale, while Albert laughed."]
        spans = [None] * 256 + [None, "Albert"]
        metrics = {"float32": fidelity(exact, shared, probe, spans), "int8": fidelity(int8, shared, probe, spans),
                   "export_seconds": round(export_seconds, 1), "onnx_mb": round(sum(f.stat().st_size for f in path.parent.glob("joint.onnx*")) / 2**20, 1),
                   "int8_mb": round(quantized.stat().st_size / 2**20, 1)}
        plain = SentenceTransformer(str(resolve_backbone(shared.emotion.config.backbone)), device="cpu")
        for warm in (lambda: plain.encode(texts[:64]), lambda: shared.encode(texts[:64]),
                     lambda: exact.encode(texts[:64]), lambda: int8.encode(texts[:64])):
            warm()
        seconds = {}
        with torch.inference_mode():
            for name, run in (("sentence-transformers", lambda: plain.encode(texts, batch_size=64)),
                              ("torch (SharedTrunkEncoder)", lambda: shared.encode(texts)),
                              ("ONNX Runtime float32", lambda: exact.encode(texts)),
                              ("ONNX Runtime int8", lambda: int8.encode(texts))):
                started = time.perf_counter()
                run()
                seconds[name] = time.perf_counter() - started
            queries = texts[: args.queries]
            if args.recall:
                metrics["dense_recall@10"] = {name: dense_recall(encoder) for name, encoder in
                                              (("float32", exact), ("int8", int8))}
            latency = {"torch path (batch of one)": median_ms(shared.encode_query, queries),
                       "ONNX Runtime float32": median_ms(lambda q: exact.encode([q]), queries),
                       "ONNX Runtime int8": median_ms(lambda q: int8.encode([q]), queries)}
    base = seconds["sentence-transformers"]
    print(markdown_table(["documents", "texts/s", "ratio to sentence-transformers"],
                         [[name, len(texts) / s, base / s] for name, s in seconds.items()]))
    print()
    print(markdown_table(["one query", "median ms"], [[name, ms] for name, ms in latency.items()]))
    print()
    print(markdown_table(["fidelity against torch", "float32", "int8"],
                         [[key, metrics["float32"][key], metrics["int8"][key]] for key in metrics["float32"]]))
    path = write_record("onnx_runtime", {"limit": args.limit, "queries": args.queries, "threads": threads},
                        f"GoEmotions test ({len(texts)} texts)", metrics,
                        {"texts_per_s": {k: len(texts) / s for k, s in seconds.items()}, "query_ms": latency}, args.out)
    print(f"\nrecord appended to {path}")


if __name__ == "__main__":
    main()
