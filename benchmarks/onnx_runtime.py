"""Would ONNX Runtime serve hyperamy's encoder better than its torch and NumPy paths? (issue #18)

Exports the whole joint encoder (embeddings, shared lower layers, the semantic branch, the tuned
emotion branch with mu / kappa / probs / strength, span weights as an input) with torch's exporter,
checks it against the torch encoder on padded batches, spans and truncated texts, and times it
beside the paths hyperamy ships, in one run:
- documents: texts/s of SharedTrunkEncoder.encode (torch) against ONNX Runtime (float32, and
  dynamic int8), and plain sentence-transformers encoding as the baseline;
- one query: ms per encode_query of the NumPy light path, the packed torch path and ONNX Runtime.

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

OUTPUTS = ("semantic", "mu", "kappa", "probs", "strength")


def joint_graph(shared):
    """A torch module computing every output of SharedTrunkEncoder from ids and masks."""
    import torch
    from torch.nn import functional as F

    model = shared.emotion.model
    trunk = model.trunk

    class Joint(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embeddings = trunk.model.embeddings
            self.lower = torch.nn.ModuleList(trunk.layers[: trunk.split])
            self.tuned = torch.nn.ModuleList(trunk.layers[trunk.split:])
            self.semantic = shared.semantic_layers
            self.model = model

        def forward(self, input_ids, attention_mask, token_mask):
            additive = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
            hidden = self.embeddings(input_ids=input_ids)
            for layer in self.lower:
                hidden = layer(hidden, additive)
            semantic, tuned = hidden, hidden
            for layer in self.semantic:
                semantic = layer(semantic, additive)
            for layer in self.tuned:
                tuned = layer(tuned, additive)
            weights = attention_mask.unsqueeze(-1).to(semantic.dtype)
            pooled = F.normalize((semantic * weights).sum(1) / weights.sum(1).clamp_min(1.0), dim=-1)
            mu, kappa, _ = self.model.heads(tuned, token_mask)
            return pooled, mu, kappa, self.model.label_probabilities(mu, kappa), self.model.strength(tuned, token_mask)

    return Joint().eval()


def export(shared, path: Path) -> None:
    import torch

    graph = joint_graph(shared)
    example = shared.emotion.tokenizer(["a text to trace", "and another, longer one to trace"], padding=True,
                                       return_tensors="pt")
    args = (example["input_ids"], example["attention_mask"], example["attention_mask"].float())
    batch, length = torch.export.Dim("batch", min=1, max=4096), torch.export.Dim("length", min=2, max=512)
    shapes = {"input_ids": {0: batch, 1: length}, "attention_mask": {0: batch, 1: length},
              "token_mask": {0: batch, 1: length}}
    with torch.inference_mode():
        torch.onnx.export(graph, args, str(path), input_names=["input_ids", "attention_mask", "token_mask"],
                          output_names=list(OUTPUTS), dynamic_shapes=shapes, dynamo=True, external_data=False)


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
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/onnx_runtime.jsonl)")
    args = parser.parse_args()

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    from hyperamy.encoder import EmotionEncoder
    from hyperamy.encoder.joint import SharedTrunkEncoder
    from hyperamy.encoder.light import LightQueryEncoder
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
        quantize_dynamic(str(path), str(quantized), weight_type=QuantType.QInt8)
        exact, int8 = (OnnxEncoder(p, tokenizer, max_length, threads) for p in (path, quantized))
        probe = texts[:256] + ["word " * 400, "Villefort turned pale, while Albert laughed."]
        spans = [None] * 256 + [None, "Albert"]
        metrics = {"float32": fidelity(exact, shared, probe, spans), "int8": fidelity(int8, shared, probe, spans),
                   "export_seconds": round(export_seconds, 1), "onnx_mb": round(path.stat().st_size / 2**20, 1),
                   "int8_mb": round(quantized.stat().st_size / 2**20, 1)}
        plain = SentenceTransformer(str(resolve_backbone(shared.emotion.config.backbone)), device="cpu")
        light = LightQueryEncoder.load()
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
            latency = {"NumPy light path": median_ms(light.encode_query, queries),
                       "packed torch path": median_ms(shared.encode_query, queries),
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
