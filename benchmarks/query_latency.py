"""Where a search's time goes: encoding the query (three or four ways), ranking, fetching the hits.

    python benchmarks/query_latency.py --index DIR     # an existing index of the Monte Cristo corpus
    python benchmarks/query_latency.py                 # builds one first (about 2 minutes)
    python benchmarks/query_latency.py --limit 50 --queries 2 --repeats 1   # smoke run

Every step is timed per question, warm, one question at a time; p50 / p95 over all of them.
First, whole one-off search processes are timed as `hyperamy search` runs them (queries through
ONNX Runtime, no torch import) and with the torch encoder loaded too, alternating (--processes each).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import SHARED, input_file, markdown_table, percentile, write_record  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=input_file, default=str(SHARED / "monte_cristo" / "corpus.jsonl"))
    parser.add_argument("--qa", type=input_file, default=str(SHARED / "monte_cristo" / "qa.jsonl"))
    parser.add_argument("--index", type=Path, help="index to search (built from --corpus if it does not exist)")
    parser.add_argument("--limit", type=int, default=0, help="index only the first N passages when building")
    parser.add_argument("--queries", type=int, default=50, help="questions to time")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the questions")
    parser.add_argument("--processes", type=int, default=5,
                        help="one-off search processes to time per path (alternating)")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/query_latency.jsonl)")
    args = parser.parse_args()

    import torch

    from hyperamy.corpus import read_records
    from hyperamy.encoder.runtime import OnnxQueryEncoder
    from hyperamy.engine import HyperAmy
    from hyperamy.search import Query, rank, single_threaded

    folder = args.index or Path(tempfile.mkdtemp(prefix="hyperamy-latency-")) / "idx"
    engine = HyperAmy.open(folder, create=True)
    if len(engine) == 0:
        records = list(read_records(args.corpus))
        engine.add(records[: args.limit] if args.limit else records)
    questions = [json.loads(line)["question"] for line in args.qa.read_text().splitlines() if line.strip()]
    questions = questions[: args.queries]
    encoder, parts, alpha = engine.encoder, engine.refresh(), engine.manifest["models"]["alpha"]

    def as_query(text, encoded):
        felt = encoded.emotion
        return Query(text, encoded.semantic[0], felt.mu[0], felt.probs[0], float(felt.kappa[0]))

    def ranked(query):
        with single_threaded():
            return rank(parts, engine.settings, alpha, query, 10, "hybrid", None)

    runtime = OnnxQueryEncoder.load()
    steps = {
        "encode the query, ONNX Runtime (float32; what searches use)": runtime.encode_query,
        "encode the query, torch batch path (float32, as documents are)": lambda q: encoder.encode([q]),
    }
    prepared = {q: as_query(q, runtime.encode_query(q)) for q in questions}
    steps["rank: three legs, candidate scoring"] = lambda q: ranked(prepared[q])
    hits = {q: ranked(prepared[q]).rows for q in questions}
    steps["fetch the 10 hits (hits file)"] = lambda q: parts.fetch(hits[q])
    steps["whole search, Python API, index encoder loaded"] = lambda q: engine.search(q, k=10)
    opened = HyperAmy.open(folder)
    steps["whole search, Python API, index opened (ONNX Runtime queries)"] = lambda q: opened.search(q, k=10)
    steps["the same with the hand-set evidence fusion (before the fitted one)"] = lambda q: opened.search(
        q, k=10, fusion="evidence")

    timings = {}
    for name, seconds in process_timings(folder, questions[0], args.processes).items():
        timings[name] = {"p50_ms": percentile(seconds, 50) * 1000, "p95_ms": percentile(seconds, 95) * 1000}
    for name, step in steps.items():
        step(questions[0])  # warm: first calls pack weights and fill caches
        times = []
        for _ in range(args.repeats):
            for question in questions:
                started = time.perf_counter()
                step(question)
                times.append((time.perf_counter() - started) * 1000)
        timings[name] = {"p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95)}
    rows = [[name, t["p50_ms"], t["p95_ms"]] for name, t in timings.items()]
    print(markdown_table(["step", "p50 ms", "p95 ms"], rows))
    path = write_record("query_latency", {"queries": len(questions), "repeats": args.repeats,
                                          "threads": torch.get_num_threads()},
                        f"{args.corpus.name} ({len(engine)} passages)", {}, timings, args.out)
    print(f"\nrecord appended to {path}")


PROCESS = """
import sys
from hyperamy.encoder.joint import SharedTrunkEncoder
from hyperamy.engine import HyperAmy
full = SharedTrunkEncoder.load() if sys.argv[3] == "full" else None  # the torch encoder, loaded as indexing does
HyperAmy.open(sys.argv[1], encoder=full, preload_queries=True).search(sys.argv[2], k=10)
"""


def process_timings(folder: Path, question: str, repeats: int) -> dict[str, list[float]]:
    """Wall seconds of a whole Python process that opens the index and runs one search, per path.

    The two paths alternate so that drift in the machine's speed falls on both alike.
    """
    import subprocess

    names = {"runtime": "one-off search process, as `hyperamy search` (ONNX Runtime: no torch, no transformers)",
             "full": "one-off search process, torch encoder loaded too"}
    seconds: dict[str, list[float]] = {name: [] for name in names.values()}
    for _ in range(repeats):
        for path, name in names.items():
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", PROCESS, str(folder), question, path], check=True)
            seconds[name].append(time.perf_counter() - started)
    return seconds


if __name__ == "__main__":
    main()
