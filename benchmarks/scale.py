"""Scale-out on Ray: indexing with 1 and 2 encoder actors beside the single process, Ray's costs,
and sharded search beside unsharded, all in one run on this machine.

    python benchmarks/scale.py                        # 2,000 Monte Cristo passages
    python benchmarks/scale.py --limit 120 --queries 5  # smoke

Reported: documents/s of the single-process build and of `--ray` builds with 1 and 2 actors;
Ray's start-up (a local instance); the fixed cost of a distributed run (actors start and load
the model) from a run over one small chunk; search latency through 2 shards beside the same
index unsharded; whether every build and every sharded search gives the same top-10 ids as the
single-process index, and how far the stored vectors differ.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import SHARED, input_file, markdown_table, percentile, write_record  # noqa: E402


def top10(engine, questions) -> list[list[str]]:
    return [[h.id for h in engine.search(q, k=10)] for q in questions]


def vectors_by_id(engine, ids) -> np.ndarray:
    rows = {d["id"]: d["row"] for d in engine.list()}
    return engine.snapshot.vectors("semantic", np.asarray([rows[i] for i in ids]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=input_file, default=str(SHARED / "monte_cristo" / "corpus.jsonl"))
    parser.add_argument("--qa", type=input_file, default=str(SHARED / "monte_cristo" / "qa.jsonl"))
    parser.add_argument("--limit", type=int, default=2000, help="passages indexed")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/scale.jsonl)")
    args = parser.parse_args()

    from hyperamy import shards
    from hyperamy.corpus import read_records
    from hyperamy.encoder.joint import SharedTrunkEncoder
    from hyperamy.engine import HyperAmy

    records = list(read_records(args.corpus))[: args.limit]
    questions = [json.loads(line)["question"] for line in args.qa.read_text().splitlines() if line.strip()]
    questions = questions[: args.queries]
    work = Path(tempfile.mkdtemp(prefix="hyperamy-scale-"))
    encoder = SharedTrunkEncoder.load()
    timings, metrics, rows = {}, {}, []

    single = HyperAmy.open(work / "single", create=True, encoder=encoder)
    started = time.perf_counter()
    single.add(records)
    seconds = time.perf_counter() - started
    timings["single_process_docs_per_s"] = len(records) / seconds
    rows.append(["single process", round(len(records) / seconds, 1), "1.00x"])
    expected = top10(single, questions)

    started = time.perf_counter()
    ray = shards.connect(None, num_cpus=os.cpu_count())
    timings["ray_start_seconds"] = time.perf_counter() - started
    small = HyperAmy.open(work / "small", create=True, encoder=encoder)
    started = time.perf_counter()
    small.add_distributed(records[:32], ray, actors=1, segment_size=32)
    fixed = time.perf_counter() - started
    started = time.perf_counter()
    encoder.encode([r.text for r in records[:32]])
    timings["ray_run_fixed_seconds"] = fixed - (time.perf_counter() - started)

    for actors in (1, 2):
        engine = HyperAmy.open(work / f"ray{actors}", create=True, encoder=encoder)
        started = time.perf_counter()
        engine.add_distributed(records, ray, actors=actors, segment_size=max(64, len(records) // (4 * actors)))
        seconds = time.perf_counter() - started
        rate = len(records) / seconds
        timings[f"ray_{actors}_actors_docs_per_s"] = rate
        rows.append([f"--ray, {actors} actor(s)", round(rate, 1),
                     f"{rate / timings['single_process_docs_per_s']:.2f}x"])
        ids = [r.id for r in records]
        metrics[f"ray_{actors}_same_documents"] = len(engine) == len(single)
        metrics[f"ray_{actors}_same_top10"] = top10(engine, questions) == expected
        metrics[f"ray_{actors}_max_vector_difference"] = float(np.abs(vectors_by_id(engine, ids)
                                                                      - vectors_by_id(single, ids)).max())

    single.reshard(2)
    latencies = {}
    sharded = HyperAmy.open(work / "single", encoder=encoder)
    sharded.use_shards(2)
    metrics["sharded_same_top10"] = top10(sharded, questions) == expected
    for name, engine in (("unsharded", single), ("2 shards", sharded)):
        engine.search(questions[0])
        times = []
        for question in questions:
            started = time.perf_counter()
            engine.search(question, k=10)
            times.append((time.perf_counter() - started) * 1000)
        latencies[name] = times
        timings[f"search_{name}_p50_ms"] = statistics.median(times)
        timings[f"search_{name}_p95_ms"] = percentile(times, 95)

    print(markdown_table(["indexing", "docs/s", "against one process"], rows))
    print(f"\nRay start-up {timings['ray_start_seconds']:.1f} s; fixed cost of a --ray run (actors start, "
          f"model loads) {timings['ray_run_fixed_seconds']:.1f} s")
    print(markdown_table(["search", "p50 ms", "p95 ms"],
                         [[name, round(timings[f'search_{name}_p50_ms'], 1), round(timings[f'search_{name}_p95_ms'], 1)]
                          for name in latencies]))
    print("\n" + ", ".join(f"{k}: {v}" for k, v in metrics.items()))
    path = write_record("scale", {"limit": args.limit, "queries": len(questions), "cpus": os.cpu_count()},
                        f"{args.corpus.name} ({len(records)} passages)", metrics, timings, args.out)
    print(f"\nrecord appended to {path}")


if __name__ == "__main__":
    main()
