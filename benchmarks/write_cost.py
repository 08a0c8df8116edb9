"""Write cost of the live index: adding 1 and 100 documents and deleting 1, at growing index sizes.

    python benchmarks/write_cost.py                                  # 1,000 / 10,000 / 100,000 documents
    python benchmarks/write_cost.py --sizes 200,2000 --repeats 3     # smoke

The base index at each size is built from synthetic texts with random vectors (a stand-in
encoder that returns them fast, under the real model's id), compacted into one segment as a
long-lived index would be. Everything timed then goes through the public API with the real
shipped encoder loaded: `add` of 1 and of 100 new Monte Cristo passages, and `delete` of 1
document. Baseline, in the same run: encoding the same texts alone (`encoder.encode`), the floor
any write pays. Medians of --repeats runs; the automatic merges that some writes trigger are in
the figures (max is reported beside the median).
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

from common import SHARED, input_file, markdown_table, write_record  # noqa: E402


class RandomEncoder:
    """Random unit vectors and feelings under the real encoder's id and shapes (base indexes only)."""

    def __init__(self, real, seed: int = 0):
        self.model_id, self.dimension, self.emotion = real.model_id, real.dimension, real.emotion
        self.rng = np.random.default_rng(seed)

    def encode(self, texts, spans=None, batch_size=64, on_batch=None, mentions=None):
        from hyperamy.encoder.outputs import Encoded, MentionBatch

        semantic = self.rng.standard_normal((len(texts), self.dimension)).astype(np.float32)
        semantic /= np.linalg.norm(semantic, axis=1, keepdims=True)
        found = None
        if mentions is not None:  # synthetic texts have no capitals; a list or field could still name some
            where = [(d, n) for d, spans_of in enumerate(mentions) for n in range(len(spans_of))]
            found = MentionBatch(np.asarray([d for d, _ in where], np.int64), np.asarray([n for _, n in where], np.int64),
                                 self._feelings(len(where)))
        return Encoded(semantic, self._feelings(len(texts)), mentions=found)

    def _feelings(self, n: int):
        from hyperamy.encoder.outputs import EmotionBatch

        mu = self.rng.standard_normal((n, self.emotion.config.dim)).astype(np.float32)
        mu /= np.maximum(np.linalg.norm(mu, axis=1, keepdims=True), 1e-9)
        probs = self.rng.dirichlet(np.full(28, 0.3), n).astype(np.float32)
        kappa = (1 + 50 * self.rng.random(n)).astype(np.float32)
        return EmotionBatch(mu=mu, kappa=kappa, probs=probs)


def synthetic_records(count: int, seed: int = 1):
    from hyperamy.corpus import Record

    rng = np.random.default_rng(seed)
    vocabulary = [f"w{i}" for i in range(20000)]
    for i in range(count):
        words = rng.choice(vocabulary, size=60)
        yield Record(f"s{i}", " ".join(words), {"n": i})


def median_and_max(function, inputs) -> tuple[float, float]:
    seconds = []
    for value in inputs:
        started = time.perf_counter()
        function(value)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), max(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=input_file, default=str(SHARED / "monte_cristo" / "corpus.jsonl"))
    parser.add_argument("--sizes", default="1000,10000,100000", help="base index sizes")
    parser.add_argument("--repeats", type=int, default=7, help="timed writes of each kind per size")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/write_cost.jsonl)")
    args = parser.parse_args()

    from hyperamy.corpus import read_records
    from hyperamy.encoder.joint import SharedTrunkEncoder
    from hyperamy.engine import HyperAmy

    real = SharedTrunkEncoder.load()
    passages = list(read_records(args.corpus))
    sizes = [int(s) for s in args.sizes.split(",")]
    rows, metrics, timings = [], {}, {}
    used = 0
    for size in sizes:
        folder = Path(tempfile.mkdtemp(prefix="hyperamy-write-")) / "idx"
        started = time.perf_counter()
        base = HyperAmy.open(folder, create=True, encoder=RandomEncoder(real))
        base.add(synthetic_records(size), commit_every=size)
        timings[f"{size} base_build_seconds"] = round(time.perf_counter() - started, 1)
        engine = HyperAmy.open(folder, encoder=real)

        def fresh(n):
            nonlocal used
            batch = passages[used:used + n]
            used += n
            return batch

        singles = [fresh(1) for _ in range(args.repeats)]
        hundreds = [fresh(100) for _ in range(max(3, args.repeats // 2))]
        encode_1 = median_and_max(lambda b: real.encode([r.text for r in b]), singles)[0]
        encode_100 = median_and_max(lambda b: real.encode([r.text for r in b]), hundreds)[0]
        add_1 = median_and_max(engine.add, singles)
        add_100 = median_and_max(engine.add, hundreds)
        delete_1 = median_and_max(lambda i: engine.delete([f"s{i}"]), range(0, size, max(1, size // args.repeats)))
        started = time.perf_counter()
        report = engine.compact()
        compact = time.perf_counter() - started
        metrics[size] = {"add_1_s": add_1[0], "add_1_max_s": add_1[1], "encode_1_s": encode_1,
                         "add_100_s": add_100[0], "add_100_max_s": add_100[1], "encode_100_s": encode_100,
                         "delete_1_s": delete_1[0], "delete_1_max_s": delete_1[1], "compact_s": compact,
                         "documents": report["documents"]}
        rows.append([f"{size:,}", add_1[0], encode_1, add_100[0], encode_100, delete_1[0], compact])
        print(f"{size:,} documents done", file=sys.stderr)
    print(markdown_table(["index size", "add 1 (s)", "encode 1 alone", "add 100 (s)", "encode 100 alone",
                          "delete 1 (s)", "compact (s)"], rows))
    first, last = sizes[0], sizes[-1]
    ratios = {kind: metrics[last][kind] / metrics[first][kind] for kind in ("add_1_s", "add_100_s", "delete_1_s")}
    print("\n" + ", ".join(f"{kind} at {last:,} / at {first:,}: {ratio:.2f}x" for kind, ratio in ratios.items()))
    path = write_record("write_cost", {"sizes": sizes, "repeats": args.repeats},
                        f"synthetic base + {args.corpus.name} passages", {str(k): v for k, v in metrics.items()},
                        {**timings, "ratios": ratios}, args.out)
    print(f"\nrecord appended to {path}")


if __name__ == "__main__":
    main()
