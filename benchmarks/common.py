"""Shared by the benchmark scripts: timing, memory, result records and Markdown tables."""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
DATA = Path(__file__).resolve().parents[1] / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def story_folds(stories, folds: int = 5) -> dict[str, int]:
    """FairytaleQA train stories in cross-validation folds: every fit on FairytaleQA train folds its
    stories the same way (fit_fusion.py's held-out questions are the ones fit_question_adapter.py's
    fold maps never saw)."""
    import random

    order = sorted(set(stories))
    random.Random(7).shuffle(order)
    return {story: i % folds for i, story in enumerate(order)}


def engine_for(folder: Path, records: list[dict]):
    """The index at `folder` holding `records`, built there unless it already holds as many (a record
    whose id comes again replaces the earlier one, as `add` does)."""
    from hyperamy.engine import HyperAmy

    engine = HyperAmy.open(folder, create=True)
    if len(engine) != len({r["id"] for r in records}):
        started = time.perf_counter()
        engine.add(records)
        print(f"indexed {len(records)} into {folder} in {time.perf_counter() - started:.0f}s", flush=True)
    return engine


def input_file(value: str) -> Path:
    """argparse type for a file the script reads: a missing one is a usage error (exit 2), not a traceback.

    Give defaults as strings so argparse checks them too.
    """
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {value}")
    return path


def weights_folder(value: str) -> Path:
    """argparse type for an encoder weights folder: a missing or broken one is a usage error naming it."""
    from hyperamy.encoder.weights import read_config
    from hyperamy.errors import WeightsError

    try:
        read_config(Path(value))
    except WeightsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return Path(value)


def git_commit() -> str:
    try:
        folder = Path(__file__).parent
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=folder, check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                                 text=True, cwd=folder, check=True).stdout.strip()
        code = [line for line in changed.splitlines() if "benchmarks/results/" not in line]
        return f"{commit}+dirty" if code else commit  # a figure from uncommitted code says so
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MB.

    Linux's VmHWM, not getrusage's ru_maxrss: a child started by fork + exec inherits the parent's
    ru_maxrss (a benchmark run from a 12 GB parent reported a 12 GB peak for a 0.8 GB child), while
    VmHWM belongs to the address space exec made. ru_maxrss where /proc is absent (macOS: bytes)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)


def timed(function, repeats: int = 3) -> tuple[float, object]:
    """Median wall time of `repeats` calls, and the last call's result."""
    seconds, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def percentile(values, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def _query_runtime() -> str:
    """What searches encoded their queries with in this run (engine.HyperAmy.query_encoder)."""
    import onnxruntime

    return f"onnxruntime {onnxruntime.__version__} {os.environ.get('HYPERAMY_QUERY_PRECISION') or 'float32'}"


def write_record(script: str, config: dict, dataset: str, metrics: dict, timings: dict, out: Path | None) -> Path:
    """Append one JSON line per run to benchmarks/results/<script>.jsonl (or `out`)."""
    record = {"script": script, "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "commit": git_commit(), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "config": config, "query_runtime": _query_runtime(), "dataset": dataset, "metrics": metrics,
              "timings": timings, "peak_memory_mb": round(peak_memory_mb(), 1)}
    path = out or RESULTS / f"{script}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    return path


def markdown_table(headers: list[str], rows: list[list]) -> str:
    def cell(value):
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
