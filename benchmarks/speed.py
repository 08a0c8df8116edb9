"""Speed: indexing throughput, query latency (API and CLI), search at 1M vectors, memory, disk.

    python benchmarks/speed.py
    python benchmarks/speed.py --limit 300 --queries 5 --synthetic 20000 --cli-queries 1 --no-txtai  # smoke
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import SHARED, input_file, markdown_table, peak_memory_mb, percentile, write_record  # noqa: E402


def latencies(function, queries) -> list[float]:
    function(queries[0])  # warm
    result = []
    for query in queries:
        started = time.perf_counter()
        function(query)
        result.append((time.perf_counter() - started) * 1000)
    return result


def jitter(vectors: np.ndarray, rng, noise: float = 0.5) -> np.ndarray:
    """Unit vectors moved by Gaussian noise of norm about `noise` (cosine about 0.9 to the original)."""
    moved = vectors + rng.standard_normal(vectors.shape).astype(np.float32) * (noise / np.sqrt(vectors.shape[1]))
    return moved / np.linalg.norm(moved, axis=1, keepdims=True)


def synthetic_search(engine, questions: list[str], count: int, ef_values: list[int], seed: int = 0) -> dict:
    """The search path at `count` documents drawn near the real ones: exact flat, and HNSW at each efSearch.

    Each synthetic document copies a random real document's kappa and label posterior, with its
    semantic and emotion vectors moved by noise, so the collection keeps the neighbourhood
    structure of real embeddings. Queries are the real questions. Timed: both vector legs and the
    candidate scoring (`hyperamy.search.rank`, hybrid mode); left out: query encoding, keyword
    scores (there are no texts) and fetching the hits' fields.
    """
    from hyperamy.analyzer import analyzer
    from hyperamy.lexical import KeywordScorer, TermCounts
    from hyperamy.search import Query, rank
    from hyperamy.segments import Segment
    from hyperamy.snapshot import Snapshot
    from hyperamy.vectors import VectorIndex

    real = engine.refresh()
    rows = real.live_rows()
    semantic, mu = real.vectors("semantic", rows), real.vectors("emotion", rows)
    kappa, probs, strength, affect = real.feelings(rows)
    rng = np.random.default_rng(seed)
    flat = {"semantic": VectorIndex(semantic.shape[1]), "emotion": VectorIndex(mu.shape[1])}
    feelings = (np.empty(count, np.float32), np.empty((count, probs.shape[1]), np.float32), np.empty(count, np.float32),
                np.empty((count, 3), np.float32))
    for start in range(0, count, 100_000):
        ids = np.arange(start, min(count, start + 100_000))
        base = rng.integers(0, len(rows), len(ids))
        flat["semantic"].add(ids, jitter(semantic[base], rng))
        flat["emotion"].add(ids, jitter(mu[base], rng))
        feelings[0][ids], feelings[1][ids], feelings[2][ids] = kappa[base], probs[base], strength[base]
        feelings[3][ids] = affect[base]
    graph = {}
    started = time.perf_counter()
    for name, index in flat.items():
        graph[name] = VectorIndex(index.dimension, "hnsw", engine.config.hnsw_m, engine.config.hnsw_ef_search)
        graph[name].exact = index.exact  # same vectors, graph built from them
        graph[name]._ensure_graph()  # noqa: SLF001
    results = {"hnsw_build_seconds": round(time.perf_counter() - started, 1)}
    encoded = engine.encoder.encode(questions)
    queries = [Query(text, encoded.semantic[i], encoded.emotion.mu[i], encoded.emotion.probs[i],
                     float(encoded.emotion.kappa[i])) for i, text in enumerate(questions)]
    alpha = engine.manifest["models"]["alpha"]
    exact = None
    for kind, legs, ef in [("flat", flat, 0)] + [(f"hnsw_ef{ef}", graph, ef) for ef in ef_values]:
        for index in legs.values():
            index.ef_search = ef or index.ef_search
        segment = Segment("synthetic", Path("."), np.arange(count), legs["semantic"], legs["emotion"],
                          np.column_stack(feelings), TermCounts.build([], analyzer(None)), pin=None)
        view = Snapshot(Path("."), real.manifest, None, [segment], [np.ones(count, bool)], np.zeros(0, np.int64),
                        store=None, keyword=KeywordScorer([], analyzer(None)))
        search = lambda q, v=view: rank(v, engine.settings, alpha, q, 10, "hybrid", None)  # noqa: E731
        timed = latencies(search, queries)
        results[f"{kind}_p50_ms"], results[f"{kind}_p95_ms"] = percentile(timed, 50), percentile(timed, 95)
        found = [set(search(q).rows.tolist()) for q in queries]
        exact = exact or found
        results[f"{kind}_recall@10_vs_exact"] = float(np.mean([len(a & b) / 10 for a, b in zip(found, exact)]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=input_file, default=str(SHARED / "monte_cristo" / "corpus.jsonl"))
    parser.add_argument("--qa", type=input_file, default=str(SHARED / "monte_cristo" / "qa.jsonl"))
    parser.add_argument("--limit", type=int, default=0, help="use only the first N passages")
    parser.add_argument("--queries", type=int, default=50, help="timed single queries through the API")
    parser.add_argument("--cli-queries", type=int, default=5, help="timed `hyperamy search` processes")
    parser.add_argument("--synthetic", type=int, default=1_000_000, help="vectors for the search-path test (0: skip)")
    parser.add_argument("--ef-search", default="128,512,1024", help="HNSW search breadths to time at 1M")
    parser.add_argument("--no-txtai", action="store_true")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/speed.jsonl)")
    args = parser.parse_args()

    from peers import txtai_or_reason
    from sentence_transformers import SentenceTransformer

    from hyperamy.corpus import read_records
    from hyperamy.encoder import EmotionEncoder
    from hyperamy.encoder.joint import SharedTrunkEncoder
    from hyperamy.encoder.weights import resolve_backbone
    from hyperamy.engine import HyperAmy
    from hyperamy.persist import folder_size

    records = list(read_records(args.corpus))
    records = records[: args.limit] if args.limit else records
    texts = [r.text for r in records]
    questions = [json.loads(line)["question"] for line in args.qa.read_text().splitlines() if line.strip()]
    questions = (questions * (1 + args.queries // max(1, len(questions))))[: args.queries]
    encoder = SharedTrunkEncoder.from_backbone(EmotionEncoder.load())
    model_folder = str(resolve_backbone(encoder.emotion.config.backbone))
    plain = SentenceTransformer(model_folder, device="cpu")
    plain.encode(texts[:64])

    def plain_seconds() -> float:
        started = time.perf_counter()
        plain.encode(texts, batch_size=64)
        return time.perf_counter() - started

    # the baseline runs before and after hyperamy, so drift on a shared machine hits both sides
    before = plain_seconds()
    folder = Path(tempfile.mkdtemp(prefix="hyperamy-speed-")) / "idx"
    engine = HyperAmy.open(folder, create=True, encoder=encoder)
    started = time.perf_counter()
    engine.add(records)
    ours_rate = len(texts) / (time.perf_counter() - started)
    after = plain_seconds()
    plain_rate = len(texts) / ((before + after) / 2)
    rows = [["sentence-transformers encoding only (mean of a run before and one after)", f"{plain_rate:.1f}", "1.00"],
            ["hyperamy index (both encoders, DuckDB, FAISS, BM25)", f"{ours_rate:.1f}", f"{ours_rate / plain_rate:.2f}"]]
    timings = {"plain_docs_per_s": plain_rate, "plain_seconds_before_after": [round(before, 1), round(after, 1)],
               "hyperamy_docs_per_s": ours_rate}
    txtai, reason = (None, "left out (--no-txtai)") if args.no_txtai else txtai_or_reason(model_folder)
    if txtai:
        started = time.perf_counter()
        txtai.build([r.id for r in records], texts)
        timings["txtai_docs_per_s"] = len(texts) / (time.perf_counter() - started)
        rows.append(["txtai hybrid index", f"{timings['txtai_docs_per_s']:.1f}",
                     f"{timings['txtai_docs_per_s'] / plain_rate:.2f}"])
    else:
        rows.append(["txtai hybrid index", reason, ""])
    print(markdown_table(["indexing", "docs/s", "ratio to plain encoding"], rows), "\n")

    api = latencies(lambda q: engine.search(q, k=10), questions)
    timings.update({"api_p50_ms": percentile(api, 50), "api_p95_ms": percentile(api, 95)})
    latency_rows = [[f"hyperamy search, Python API, {len(records)} docs", percentile(api, 50), percentile(api, 95)]]
    if txtai:
        peer = latencies(lambda q: txtai.search(q, 10), questions)
        timings.update({"txtai_p50_ms": percentile(peer, 50), "txtai_p95_ms": percentile(peer, 95)})
        latency_rows.append([f"txtai hybrid search, {len(records)} docs", percentile(peer, 50), percentile(peer, 95)])
    if args.cli_queries:
        command = [sys.executable, "-m", "hyperamy", "search", "--index", str(folder), "--json"]
        cli = latencies(lambda q: subprocess.run(command + [q], capture_output=True, check=True),
                        questions[: args.cli_queries + 1])
        timings.update({"cli_p50_ms": percentile(cli, 50), "cli_p95_ms": percentile(cli, 95)})
        latency_rows.append(["`hyperamy search` process (includes model load)", percentile(cli, 50), percentile(cli, 95)])
    if args.synthetic:
        ef_values = [int(v) for v in args.ef_search.split(",") if v.strip()]
        synthetic = synthetic_search(engine, questions[:50], args.synthetic, ef_values)
        timings[f"synthetic_{args.synthetic}"] = synthetic
        latency_rows.append([f"search path, {args.synthetic:,} synthetic docs, exact", synthetic["flat_p50_ms"],
                             synthetic["flat_p95_ms"]])
        for ef in ef_values:
            default = " (default)" if ef == engine.config.hnsw_ef_search else ""
            latency_rows.append([f"search path, {args.synthetic:,} synthetic docs, HNSW efSearch {ef}{default} "
                                 f"(recall@10 {synthetic[f'hnsw_ef{ef}_recall@10_vs_exact']:.3f})",
                                 synthetic[f"hnsw_ef{ef}_p50_ms"], synthetic[f"hnsw_ef{ef}_p95_ms"]])
    print(markdown_table(["query latency", "p50 ms", "p95 ms"], latency_rows), "\n")
    size = folder_size(folder)
    timings["bytes_per_document"] = size / len(records)
    print(f"index on disk: {size / 1e6:.1f} MB, {size / len(records):.0f} bytes per document; "
          f"peak memory {peak_memory_mb():.0f} MB")
    path = write_record("speed", {"queries": len(questions), "synthetic": args.synthetic, "txtai": reason or "ran"},
                        f"{args.corpus.name} ({len(records)} passages)", {}, timings, args.out)
    print(f"\nrecord appended to {path}")


if __name__ == "__main__":
    main()
