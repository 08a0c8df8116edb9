"""One very long text added to an index: how long it takes and how much memory it costs.

The text is the Monte Cristo corpus joined and repeated to `--megabytes` (real prose, so the
name finder and the tokenizer see what a book gives them). The process first opens an index and
adds one short text, so the encoder is loaded; the figures are that process's resident memory
then, its peak while the long text is added (sampled every 20 ms from /proc), and the peak over
that baseline.

    python benchmarks/long_text.py                  # 50 MB
    python benchmarks/long_text.py --megabytes 5
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import SHARED, input_file, markdown_table, write_record  # noqa: E402


def resident_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class PeakSampler:
    """The highest resident memory seen while the `with` block runs."""

    def __enter__(self):
        self.peak, self._done = resident_mb(), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._done.wait(0.02):
            self.peak = max(self.peak, resident_mb())

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, resident_mb())


def long_text(corpus: Path, characters: int) -> str:
    text = " ".join(json.loads(line)["text"] for line in corpus.open(encoding="utf-8"))
    while len(text) < characters:
        text = text + "\n\n" + text
    return text[:characters]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=50.0, help="length of the text, in millions of characters")
    parser.add_argument("--corpus", type=input_file, default=str(SHARED / "monte_cristo" / "corpus.jsonl"))
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/long_text.jsonl)")
    args = parser.parse_args()
    if args.megabytes <= 0:
        parser.error("--megabytes must be positive")
    from hyperamy import HyperAmy

    text = long_text(args.corpus, int(args.megabytes * 1_000_000))
    with tempfile.TemporaryDirectory() as folder:
        engine = HyperAmy.open(Path(folder) / "index", create=True)
        engine.add([{"id": "warm-up", "text": "A short text, so the encoder is loaded before the long one."}])
        baseline = resident_mb()
        started = time.perf_counter()
        with PeakSampler() as sampler:
            engine.add([{"id": "long", "text": text}])
        seconds = time.perf_counter() - started
        stored = engine.get("long")["text"] == text
        mentions = sum(e["mentions"] for e in engine.entities(min_mentions=1))
    metrics = {"characters": len(text), "seconds": round(seconds, 2), "rss_before_mb": round(baseline, 1),
               "peak_rss_mb": round(sampler.peak, 1), "peak_over_before_mb": round(sampler.peak - baseline, 1),
               "stored_whole": stored, "mentions": mentions}
    print(markdown_table(["text", "seconds", "RSS before (MB)", "peak (MB)", "peak over before (MB)"],
                         [[f"{len(text):,} characters", metrics["seconds"], metrics["rss_before_mb"],
                           metrics["peak_rss_mb"], metrics["peak_over_before_mb"]]]))
    write_record("long_text", {"megabytes": args.megabytes}, f"{args.corpus.name} joined and repeated", metrics,
                 {"add_seconds": metrics["seconds"]}, args.out)


if __name__ == "__main__":
    main()
