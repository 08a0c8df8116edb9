"""An index grown to a million passages on one machine: what opening, searching and writing cost as it grows.

    python benchmarks/million.py                                   # 10,000 / 100,000 / 1,000,000 passages
    python benchmarks/million.py --sizes 2000,10000 --queries 10    # smoke

One index grows through --sizes. The bulk is synthetic: 60 words drawn from 20,000 made-up ones,
with feelings from a stand-in encoder under the real model's id (as in write_cost.py) and semantic
vectors drawn near those of --anchors real passages (a cosine of about 0.9, as speed.py draws
them), so that a million passages build in minutes, not days, on 2 cores, and the graph's recall
is measured on real neighbourhoods. Everything timed
goes through the real shipped encoder and the public API or CLI; the queries are the Monte Cristo
questions, and the passages added one at a time are real Monte Cristo passages.

At each size, after compaction into one segment (as a long-lived index is):
- bytes on disk a passage;
- opening: `HyperAmy.open` in a fresh process, the first open (it checksums every file once) and
  the later ones (sizes and the manifest's checksum only), with the process's resident memory after
  the open and its peak; a whole `hyperamy search` process (start, open, encode, search, print);
- API search p50 / p95, hybrid and semantic (the query encoder warm), in a fresh process that has
  not imported torch, as `hyperamy search` and serve answer queries;
- with --vector-index hnsw: the graph's recall@10 against exact search over the same vectors;
- add 1 passage, delete 1, `hyperamy check` (every checksum), compaction.
Medians of --repeats; growth is read across sizes in one run.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import SHARED, input_file, markdown_table, percentile, write_record  # noqa: E402
from speed import jitter  # noqa: E402
from write_cost import RandomEncoder  # noqa: E402

OPEN = """
import json, sys, time
started = time.perf_counter()
from hyperamy.engine import HyperAmy
engine = HyperAmy.open(sys.argv[1])
seconds = time.perf_counter() - started


def memory():  # MB; VmHWM, not ru_maxrss: this child inherits ru_maxrss from the benchmark that forked it
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return {key: int(status[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM", "RssAnon", "RssFile")}


opened = memory()
engine.search(sys.argv[2], k=10)  # the graphs read, the query encoder loaded, the pages a search touches mapped
searched = memory()
print(json.dumps({"seconds": seconds, "rss_mb": opened["VmRSS"], "peak_mb": searched["VmHWM"],
                  "searched_rss_mb": searched["VmRSS"], "searched_anon_mb": searched["RssAnon"],
                  "searched_file_mb": searched["RssFile"], "documents": len(engine)}))
"""


SEARCHES = """
import json, sys
sys.path.insert(0, sys.argv[1])
from million import searches
print(json.dumps(searches(sys.argv[2], json.loads(sys.argv[3]), sys.argv[4] == "hnsw")))
"""


class NearRealEncoder(RandomEncoder):
    """RandomEncoder's feelings, with semantic vectors drawn near real passages' (speed.jitter: a
    cosine of about 0.9 to one of `anchors`), so the collection keeps real embeddings' neighbourhoods
    and the graph's recall means what it means on a real corpus (uniform random vectors in 384
    dimensions are all about equally far apart, and no index can rank them)."""

    def __init__(self, real, anchors: np.ndarray, seed: int = 0):
        super().__init__(real, seed)
        self.anchors = anchors

    def encode(self, texts, spans=None, batch_size=64, on_batch=None, mentions=None):
        encoded = super().encode(texts, spans, batch_size, on_batch, mentions)
        near = self.anchors[self.rng.integers(0, len(self.anchors), len(texts))]
        encoded.semantic[:] = jitter(near, self.rng)
        return encoded


def synthetic(start: int, count: int, seed: int):
    """Records s<start> .. s<start + count - 1>: 60 words drawn from 20,000 made-up ones."""
    from hyperamy.corpus import Record

    rng = np.random.default_rng(seed)
    vocabulary = np.asarray([f"w{i}" for i in range(20000)])
    for i in range(start, start + count):
        yield Record(f"s{i}", " ".join(rng.choice(vocabulary, size=60)), {"n": i})


def open_in_process(folder: Path, query: str) -> dict:
    done = subprocess.run([sys.executable, "-c", OPEN, str(folder), query], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def search_process(folder: Path, query: str) -> float:
    started = time.perf_counter()
    subprocess.run(["hyperamy", "search", query, "--index", str(folder), "-k", "10", "--json"],
                   capture_output=True, check=True)
    return time.perf_counter() - started


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def latencies(engine, queries, mode: str) -> list[float]:
    seconds = []
    for query in queries:
        started = time.perf_counter()
        engine.search(query, k=10, mode=mode)
        seconds.append(time.perf_counter() - started)
    return seconds


def searches(folder: str, queries: list[str], hnsw: bool) -> dict:
    """Search latencies through the API, hybrid and semantic, in this process: run by
    `searches_in_process` in a fresh one, without torch, as `hyperamy search` and `hyperamy
    serve` answer queries (a process that has imported torch searches more slowly: docs/scale.md)."""
    from hyperamy.engine import HyperAmy

    engine = HyperAmy.open(folder)  # queries through ONNX Runtime
    latencies(engine, queries[:3], "hybrid")  # warm the query encoder
    hybrid, semantic = latencies(engine, queries, "hybrid"), latencies(engine, queries, "semantic")
    return {"hybrid": hybrid, "semantic": semantic, "recall": graph_recall(engine, queries) if hnsw else None,
            "torch_imported": "torch" in sys.modules}


def searches_in_process(folder: Path, queries: list[str], hnsw: bool) -> dict:
    done = subprocess.run([sys.executable, "-c", SEARCHES, str(Path(__file__).resolve().parent), str(folder),
                           json.dumps(queries), "hnsw" if hnsw else "flat"], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def graph_recall(engine, queries) -> float:
    """Recall@10 of the HNSW graph against exact inner products over the same stored vectors."""
    segment = engine.snapshot.segments[0]
    vectors = segment.semantic
    exact_vectors = vectors._stored()
    ids = vectors.ids()
    found = []
    for query in queries:
        q = engine.query_encoder.encode_query(query).semantic.reshape(-1)
        exact = set(ids[np.argsort(-(exact_vectors @ q))[:10]].tolist())
        approximate = set(vectors.search(q, 10)[1].tolist())
        found.append(len(exact & approximate) / 10)
    return float(np.mean(found))


def median(values) -> float:
    return float(statistics.median(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="index sizes, ascending")
    parser.add_argument("--corpus", type=input_file, default=str(SHARED / "monte_cristo" / "corpus.jsonl"))
    parser.add_argument("--qa", type=input_file, default=str(SHARED / "monte_cristo" / "qa.jsonl"))
    parser.add_argument("--queries", type=int, default=50, help="questions timed at each size")
    parser.add_argument("--repeats", type=int, default=5, help="opens, processes and writes timed at each size")
    parser.add_argument("--vector-index", choices=["flat", "hnsw"], default="hnsw")
    parser.add_argument("--anchors", type=int, default=10000,
                        help="real passages encoded; the synthetic vectors are drawn near theirs (few anchors "
                             "make tight clusters of near-ties: 2,000 for a million gave recall@10 0.550)")
    parser.add_argument("--index", type=Path, help="grow the index here (default: a temp folder)")
    parser.add_argument("--measure-only", action="store_true",
                        help="time the reads of the index already at --index (one size: its own); no building, "
                             "adding, deleting or compacting")
    parser.add_argument("--writes", action="store_true",
                        help="with --measure-only: also time adding 1 real passage the index lacks and deleting "
                             "1 synthetic one it holds, --repeats times each (no compaction)")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/million.jsonl)")
    args = parser.parse_args()
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        parser.error(f"--sizes must be whole numbers, comma-separated, not {args.sizes!r}")
    if sizes != sorted(sizes) or sizes[0] <= 0:
        parser.error("--sizes must be positive and ascending")
    if min(args.anchors, args.queries, args.repeats) < 1:
        parser.error("--anchors, --queries and --repeats must be at least 1")
    if args.measure_only and (args.index is None or not (args.index / "manifest.json").is_file()):
        parser.error("--measure-only needs --index naming an existing index")
    if args.writes and not args.measure_only:
        parser.error("--writes goes with --measure-only (a build times its writes anyway)")

    from hyperamy import file_checks
    from hyperamy.config import IndexConfig
    from hyperamy.corpus import read_records
    from hyperamy.engine import HyperAmy

    records = list(read_records(args.corpus))
    passages = iter(records)
    queries = [json.loads(line)["question"] for line in args.qa.read_text("utf-8").splitlines() if line.strip()]
    queries = queries[:args.queries]
    folder = args.index or Path(tempfile.mkdtemp(prefix="hyperamy-million-")) / "idx"
    config = IndexConfig(vector_index=args.vector_index)
    grown, made, build_seconds, metrics, rows = 0, 0, 0.0, {}, []
    if args.measure_only:
        sizes = [len(HyperAmy.open(folder))]
    else:
        from hyperamy.encoder.joint import SharedTrunkEncoder

        real = SharedTrunkEncoder.load()
        anchors = real.encode([r.text for r in records[:args.anchors]]).semantic  # the real neighbourhoods
    for size in sizes:
        started = time.perf_counter()
        if not args.measure_only:
            builder = HyperAmy.open(folder, create=True, encoder=NearRealEncoder(real, anchors, seed=size),
                                    config=config)
            builder.add(synthetic(made, size - grown, seed=size), commit_every=100_000)
            deletable, made = made, made + size - grown
            builder.compact()
            builder.close()
            build_seconds += time.perf_counter() - started
        grown = size  # the passages added and deleted below stay: the next size grows from there
        for stamp in folder.rglob(file_checks.STAMP):  # as if no reader had opened the segments yet
            stamp.unlink()
        disk = folder_bytes(folder)
        # the first open checksums every file
        opens = [open_in_process(folder, queries[i % len(queries)]) for i in range(args.repeats + 1)]
        processes = [search_process(folder, queries[i % len(queries)]) for i in range(args.repeats)]
        timed = searches_in_process(folder, queries, args.vector_index == "hnsw")
        if timed["torch_imported"]:
            raise SystemExit("the searches were timed in a process that imported torch; they would be slower than "
                             "`hyperamy search` and serve run them")
        hybrid, semantic, recall = timed["hybrid"], timed["semantic"], timed["recall"]
        engine = HyperAmy.open(folder)
        check = _timed(engine.check)
        add_1 = delete_1 = compact = None  # --measure-only: no writes
        if args.writes:  # on an index grown earlier: passages it lacks, synthetic ones it still holds
            fresh = (r for r in passages if engine.get(r.id) is None)
            held = (f"s{i}" for i in range(size) if engine.get(f"s{i}") is not None)
            add_1 = median(_timed(engine.add, [next(fresh)]) for _ in range(args.repeats))
            delete_1 = median(_timed(engine.delete, [next(held)]) for _ in range(args.repeats))
        elif not args.measure_only:
            add_1 = median(_timed(engine.add, [next(passages)]) for _ in range(args.repeats))
            delete_1 = median(_timed(engine.delete, [f"s{deletable + i}"]) for i in range(args.repeats))
            compact = _timed(engine.compact)
        metrics[size] = {
            "documents": len(engine), "build_seconds_so_far": round(build_seconds, 1), "bytes_per_passage": disk / size,
            "first_open_s": opens[0]["seconds"], "open_s": median(o["seconds"] for o in opens[1:]),
            "rss_after_open_mb": median(o["rss_mb"] for o in opens[1:]), "peak_open_mb": max(o["peak_mb"] for o in opens),
            # after one search: private memory (graphs, encoder) and mapped file pages (shared page cache)
            "rss_searched_mb": median(o["searched_rss_mb"] for o in opens[1:]),
            "anon_searched_mb": median(o["searched_anon_mb"] for o in opens[1:]),
            "file_searched_mb": median(o["searched_file_mb"] for o in opens[1:]),
            "search_process_s": median(processes),
            "hybrid_p50_ms": 1000 * median(hybrid), "hybrid_p95_ms": 1000 * percentile(hybrid, 95),
            "semantic_p50_ms": 1000 * median(semantic), "semantic_p95_ms": 1000 * percentile(semantic, 95),
            "hnsw_recall_at_10": recall, "add_1_s": add_1, "delete_1_s": delete_1,
            "check_s": check, "compact_s": compact}
        engine.close()
        m = metrics[size]
        rows.append([f"{size:,}", round(m["bytes_per_passage"]), m["first_open_s"], m["open_s"], m["rss_after_open_mb"],
                     m["anon_searched_mb"], m["file_searched_mb"], m["search_process_s"], m["hybrid_p50_ms"], m["hybrid_p95_ms"], m["semantic_p50_ms"],
                     recall if recall is not None else "-",
                     *("-" if m[key] is None else m[key] for key in ("add_1_s", "delete_1_s", "check_s", "compact_s"))])
        print(f"{size:,} passages done ({build_seconds:.0f} s of building so far)", file=sys.stderr, flush=True)
    print(markdown_table(["passages", "bytes/passage", "first open (s)", "open (s)", "RSS after open (MB)",
                          "after a search: private (MB)", "mapped files (MB)", "`hyperamy search` process (s)", "hybrid p50 (ms)", "hybrid p95", "semantic p50 (ms)",
                          "HNSW recall@10", "add 1 (s)", "delete 1 (s)", "check (s)", "compact (s)"], rows))
    path = write_record("million", {"sizes": sizes, "queries": len(queries), "repeats": args.repeats,
                                    "vector_index": args.vector_index, "measure_only": args.measure_only,
                                    "writes": args.writes},
                        f"synthetic bulk + {args.corpus.name} passages, {args.qa.name} questions",
                        {str(k): v for k, v in metrics.items()}, {"build_seconds": round(build_seconds, 1)}, args.out)
    print(f"\nrecord appended to {path}")
    if args.index is None:
        shutil.rmtree(folder.parent)


def _timed(function, *arguments) -> float:
    started = time.perf_counter()
    function(*arguments)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
