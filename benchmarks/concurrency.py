"""Writers at once and writers killed: trials of the CLI as users run it, with the real model.

    python benchmarks/concurrency.py                     # 20 trials of each scenario
    python benchmarks/concurrency.py --trials 1 --docs 40 # smoke

Scenarios, each on a fresh index holding a base of 50 passages:
  index+delete  `hyperamy index` of new passages, and `hyperamy delete` of a base passage started
                at a random moment 0-4 s later;
  index+index   two `hyperamy index` runs of different passages started together;
  sigkill       `hyperamy index --commit-every 100` killed with SIGKILL at a random moment, then
                run again;
  serve-like    one process, as `hyperamy serve` runs: three threads search the open index
                without pause while the same HyperAmy adds the passages (a commit every 25) and
                deletes base passages; every reload a search makes is slowed by 0-80 ms (a real
                one takes ~45 ms), so reloads and commits interleave as they can under load.
A trial passes when every command that exited 0 has its work in the index, the index opens and
`hyperamy check` finds every file sound, and (sigkill) the index holds exactly the documents of
its last commit and the rerun finishes the rest.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import SHARED, input_file, markdown_table, write_record  # noqa: E402


def hyperamy(*args, wait=True):
    command = [sys.executable, "-m", "hyperamy", *map(str, args)]
    if not wait:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


def stored_ids(index) -> set[str] | None:
    listed = hyperamy("list", "--index", index, "--json")
    if listed.returncode != 0:
        return None
    return {json.loads(line)["id"] for line in listed.stdout.splitlines()}


def sound(index) -> bool:
    return hyperamy("check", "--index", index).returncode == 0


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def trial(kind: str, folder: Path, base: Path, first: Path, second: Path, rng: random.Random,
          kill_window: tuple[float, float] = (2.0, 10.0)) -> dict:
    index = folder / "idx"
    assert hyperamy("index", base, "--index", index).returncode == 0
    base_ids = {json.loads(line)["id"] for line in base.read_text().splitlines()}
    first_ids = {json.loads(line)["id"] for line in first.read_text().splitlines()}
    second_ids = {json.loads(line)["id"] for line in second.read_text().splitlines()}
    if kind == "index+delete":
        victim = sorted(base_ids)[rng.randrange(len(base_ids))]
        writer = hyperamy("index", first, "--index", index, wait=False)
        time.sleep(rng.uniform(0, 4))
        deleted = hyperamy("delete", victim, "--index", index, "--json")
        writer.communicate()
        expected = (base_ids | (first_ids if writer.returncode == 0 else set())) - (
            {victim} if deleted.returncode == 0 else set())
        exits = [writer.returncode, deleted.returncode]
    elif kind == "index+index":
        writers = [hyperamy("index", path, "--index", index, wait=False) for path in (first, second)]
        for process in writers:
            process.communicate()
        exits = [p.returncode for p in writers]
        expected = base_ids | (first_ids if exits[0] == 0 else set()) | (second_ids if exits[1] == 0 else set())
    elif kind == "serve-like":
        exits, expected = serve_like(index, first, base_ids | first_ids, rng)
    else:
        writer = hyperamy("index", first, "--index", index, "--commit-every", 100, wait=False)
        time.sleep(rng.uniform(*kill_window))
        killed_running = writer.poll() is None
        writer.send_signal(signal.SIGKILL)
        writer.communicate()
        after_kill = stored_ids(index)
        manifest = json.loads((index / "manifest.json").read_text())
        ordered = [json.loads(line)["id"] for line in first.read_text().splitlines()]
        committed = (manifest["counts"]["documents"] - len(base_ids)) if after_kill is not None else -1
        exact = after_kill == base_ids | set(ordered[:committed]) and (committed % 100 == 0 or committed == len(ordered))
        rerun = hyperamy("index", first, "--index", index)
        exits = [rerun.returncode]
        expected = base_ids | first_ids
        result = _result(kind, index, exits, expected)
        result.update(killed_while_running=killed_running, committed_before_kill=committed,
                      exact_last_commit=bool(exact))
        result["passed"] = result["passed"] and bool(exact)
        return result
    return _result(kind, index, exits, expected)


def serve_like(index: Path, first: Path, expected: set[str], rng: random.Random) -> tuple[list[int], set[str]]:
    """Searches and writes in one process; (exit-like codes: 0 per write acknowledged, the ids that
    must be there)."""
    import threading

    from hyperamy import HyperAmy, snapshot

    engine = HyperAmy.open(index)
    real_load, stop, failures = snapshot.load, threading.Event(), []

    def slowed(*args, **kwargs):
        view = real_load(*args, **kwargs)
        if threading.current_thread().name.startswith("search"):
            time.sleep(rng.uniform(0, 0.08))
        return view

    def search():
        while not stop.is_set():
            try:
                engine.search("a letter that brings despair", k=5)
            except Exception as exc:  # noqa: BLE001 - any failing search fails the trial
                failures.append(repr(exc))

    snapshot.load = slowed
    threads = [threading.Thread(target=search, name=f"search-{i}") for i in range(3)]
    try:
        for thread in threads:
            thread.start()
        records = [json.loads(line) for line in first.read_text().splitlines()]
        exits = []
        base = sorted(expected - {r["id"] for r in records})
        for start in range(0, len(records), 25):
            engine.add(records[start:start + 25])
            exits.append(0)
            if base and rng.random() < 0.5:
                victim = base.pop(rng.randrange(len(base)))
                exits.append(0 if engine.delete([victim]) == 1 else 1)
                expected = expected - {victim}
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        snapshot.load = real_load
        engine.close()
    return exits + [1] * len(failures), expected


def _result(kind, index, exits, expected) -> dict:
    found = stored_ids(index)
    ok = found is not None and found == expected and sound(index)
    return {"kind": kind, "exits": exits, "opens": found is not None, "passed": ok,
            "lost": sorted(expected - (found or set()))[:5], "extra": sorted((found or set()) - expected)[:5]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=input_file, default=str(SHARED / "monte_cristo" / "corpus.jsonl"))
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--docs", type=int, default=500, help="passages each writer adds")
    parser.add_argument("--scenarios", default="index+delete,index+index,sigkill")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kill-after", default="2,10", help="sigkill: seconds after the start, drawn from MIN,MAX")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/concurrency.jsonl)")
    args = parser.parse_args()

    rows = [json.loads(line) for line in args.corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    work = Path(tempfile.mkdtemp(prefix="hyperamy-concurrency-"))
    base = write(work / "base.jsonl", rows[:50])
    first = write(work / "first.jsonl", rows[50:50 + args.docs])
    second = write(work / "second.jsonl", rows[50 + args.docs:50 + 2 * args.docs])
    rng = random.Random(args.seed)
    results = []
    for kind in args.scenarios.split(","):
        for number in range(args.trials):
            folder = Path(tempfile.mkdtemp(dir=work))
            window = tuple(float(x) for x in args.kill_after.split(","))
            results.append(trial(kind, folder, base, first, second, rng, window))
            print(f"{kind} trial {number + 1}: {'passed' if results[-1]['passed'] else 'FAILED'} {results[-1]}",
                  file=sys.stderr)
    table, metrics = [], {}
    for kind in args.scenarios.split(","):
        mine = [r for r in results if r["kind"] == kind]
        passed = sum(r["passed"] for r in mine)
        exits_nonzero = sum(any(e != 0 for e in r["exits"]) for r in mine)
        metrics[kind] = {"trials": len(mine), "passed": passed, "nonzero_exits": exits_nonzero}
        table.append([kind, len(mine), passed, exits_nonzero])
    print(markdown_table(["scenario", "trials", "passed", "trials with a non-zero exit"], table))
    path = write_record("concurrency", {"trials": args.trials, "docs": args.docs, "seed": args.seed,
                                        "kill_after": args.kill_after},
                        f"{args.corpus.name}", metrics, {"results": results}, args.out)
    print(f"\nrecord appended to {path}")
    if any(not r["passed"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
