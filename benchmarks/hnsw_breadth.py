"""How HNSW's search breadth (efSearch) trades recall for time on a big index: the default's choice.

    python benchmarks/hnsw_breadth.py --index DIR                       # an index built with --vector-index hnsw
    python benchmarks/hnsw_breadth.py --index DIR --breadths 256,512    # other breadths

For each breadth, the semantic graph of the index's biggest segment is searched for the top 10 of
each question, and compared with exact inner products over the same stored vectors (recall@10),
timed per search (the graph alone, warm; medians). Also the exact top 10's share in the graph's top
100: what a search's semantic leg hands the re-ranker (`candidates` = 100). Two sets of questions, kept apart:
- choosing: the Monte Cristo paraphrased questions, dev half (data/paraphrased), by which the
  default `hnsw_ef_search` is chosen;
- reporting: the Monte Cristo public questions (benchmarks/million.py's), read after the choice.
The index is `benchmarks/million.py`'s (its bulk drawn near real passages), or any other.
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

from common import DATA, SHARED, input_file, markdown_table, write_record  # noqa: E402


def questions(path: Path) -> list[str]:
    return [json.loads(line)["question"] for line in path.read_text("utf-8").splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True, help="an index built with --vector-index hnsw")
    parser.add_argument("--breadths", default="256,512,768,1024", help="efSearch values, comma-separated")
    parser.add_argument("--choose", type=input_file, default=str(DATA / "paraphrased" / "monte_cristo_dev.jsonl"))
    parser.add_argument("--report", type=input_file, default=str(SHARED / "monte_cristo" / "qa.jsonl"))
    parser.add_argument("--repeats", type=int, default=3, help="timed passes over each set")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/hnsw_breadth.jsonl)")
    args = parser.parse_args()
    try:
        breadths = [int(b) for b in args.breadths.split(",")]
    except ValueError:
        parser.error(f"--breadths must be whole numbers, comma-separated, not {args.breadths!r}")
    if min(breadths) < 1 or args.repeats < 1:
        parser.error("--breadths and --repeats must be at least 1")
    if not (args.index / "manifest.json").is_file():
        parser.error(f"no index at {args.index}")

    from hyperamy.engine import HyperAmy

    engine = HyperAmy.open(args.index)
    segment = max(engine.snapshot.segments, key=len)
    vectors = segment.semantic
    if vectors.kind != "hnsw":
        parser.error(f"{args.index} was not built with --vector-index hnsw")
    stored, ids = vectors._stored(), vectors.ids()
    sets = {"choosing (paraphrase dev)": questions(args.choose), "reporting (public)": questions(args.report)}
    metrics, rows = {}, []
    for name, texts in sets.items():
        asked = [engine.query_encoder.encode_query(t).semantic.reshape(-1) for t in texts]
        exact = [set(ids[np.argsort(-(stored @ q))[:10]].tolist()) for q in asked]
        for breadth in breadths:
            vectors.search(asked[0], 10, breadth=breadth)  # warm
            seconds, found = [], []
            for _ in range(args.repeats):
                for q, truth in zip(asked, exact):
                    started = time.perf_counter()
                    _, got = vectors.search(q, 10, breadth=breadth)
                    seconds.append(time.perf_counter() - started)
                    found.append(len(truth & set(got.tolist())) / 10)
            handed = [len(truth & set(vectors.search(q, 100, breadth=breadth)[1].tolist())) / 10
                      for q, truth in zip(asked, exact)]
            recall, p50, in_100 = float(np.mean(found)), 1000 * statistics.median(seconds), float(np.mean(handed))
            metrics[f"{name} ef{breadth}"] = {"questions": len(texts), "recall_at_10": recall, "top10_in_100": in_100,
                                              "p50_ms": p50}
            rows.append([name, len(texts), breadth, round(recall, 3), round(in_100, 3), round(p50, 2)])
    print(markdown_table(["questions", "n", "efSearch", "recall@10 vs exact", "exact top 10 in the graph's 100",
                          "graph search p50 (ms)"], rows))
    path = write_record("hnsw_breadth", {"breadths": breadths, "repeats": args.repeats},
                        f"{len(segment):,}-passage segment of {args.index.name}; {args.choose.name} / {args.report.name}",
                        metrics, {}, args.out)
    print(f"\nrecord appended to {path}")


if __name__ == "__main__":
    main()
