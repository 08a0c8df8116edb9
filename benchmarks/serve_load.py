"""Load on `hyperamy serve` beside txtai's API: concurrent searches while one client writes.

    python benchmarks/serve_load.py                                  # 10,000 passages, 16 clients, 60 s each
    python benchmarks/serve_load.py --limit 300 --duration 5 --clients 2 --upserts 40 --deletes 5 --no-txtai  # smoke

Each system serves the same passages with the same MiniLM (hyperamy: `hyperamy serve`, one
process; txtai: `txtai.api` on uvicorn, one process, hybrid with content). For --duration
seconds, --clients threads search the 50 Monte Cristo questions in a loop while one more client
upserts --upserts new passages in batches of --batch and then deletes --deletes of them. Reported:
search requests/s, p50/p95/p99 latency, errors, and whether every acknowledged write is there
afterwards (each upserted id fetched, deleted ones gone). Everything runs on localhost, bounded
in time and requests; the load generator shares the machine's cores with the server, alike for both.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import SHARED, input_file, markdown_table, percentile, write_record  # noqa: E402

MAX_REQUESTS = 200_000  # per client: a bound on the loop whatever the duration


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process, seconds: float = 600) -> None:
    import httpx

    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {process.stderr.read()[-2000:]}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise SystemExit(f"server at {url} did not come up")


class Hyperamy:
    name = "hyperamy serve"

    def __init__(self, folder: Path, records: list[dict]):
        corpus = folder / "corpus.jsonl"
        corpus.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        subprocess.run([sys.executable, "-m", "hyperamy", "index", str(corpus), "--index", str(folder / "idx")],
                       check=True, capture_output=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, "-m", "hyperamy", "serve", "--index", str(folder / "idx"),
                                         "--port", str(self.port)], stderr=subprocess.PIPE, text=True)
        wait_until_up(f"{self.url}/health", self.process)

    def search(self, client, query):
        return client.get(f"{self.url}/search", params={"q": query, "k": 10})

    def upsert(self, client, documents):
        return client.post(f"{self.url}/documents", json={"documents": documents}, timeout=300)

    def delete(self, client, ids):
        return [client.delete(f"{self.url}/documents/{i}", timeout=300) for i in ids]

    def present(self, client, doc_id) -> bool:
        return client.get(f"{self.url}/documents/{doc_id}").status_code == 200


class Txtai:
    name = "txtai API"

    def __init__(self, folder: Path, records: list[dict], model_folder: str):
        import httpx

        config = folder / "config.yml"
        config.write_text(f"writable: true\nembeddings:\n  path: {model_folder}\n  content: true\n  hybrid: true\n")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, "-m", "uvicorn", "txtai.api:app", "--port", str(self.port),
                                         "--log-level", "warning"], env={**os.environ, "CONFIG": str(config)},
                                        stderr=subprocess.PIPE, text=True)
        wait_until_up(f"{self.url}/count", self.process)
        with httpx.Client(timeout=600) as client:
            for start in range(0, len(records), 1000):
                client.post(f"{self.url}/add", json=records[start:start + 1000]).raise_for_status()
            client.get(f"{self.url}/index").raise_for_status()

    def search(self, client, query):
        return client.get(f"{self.url}/search", params={"query": query, "limit": 10})

    def upsert(self, client, documents):
        response = client.post(f"{self.url}/add", json=documents, timeout=300)
        return response if response.status_code != 200 else client.get(f"{self.url}/upsert", timeout=300)

    def delete(self, client, ids):
        return [client.post(f"{self.url}/delete", json=list(ids), timeout=300)]

    def present(self, client, doc_id) -> bool:
        found = client.get(f"{self.url}/search", params={"query": f"select id from txtai where id = '{doc_id}'"})
        return found.status_code == 200 and any(r.get("id") == doc_id for r in found.json())


def load(system, questions: list[str], new: list[dict], args) -> dict:
    import httpx

    latencies, errors, lock = [], [], threading.Lock()
    stop = threading.Event()

    def searcher(offset: int):
        with httpx.Client(timeout=60) as client:
            for n in range(MAX_REQUESTS):
                if stop.is_set():
                    return
                started = time.perf_counter()
                try:
                    response = system.search(client, questions[(offset + n) % len(questions)])
                    ok = response.status_code == 200
                except httpx.HTTPError as exc:
                    ok, response = False, exc
                with lock:
                    (latencies.append((time.perf_counter() - started) * 1000) if ok else errors.append(str(response)))

    acknowledged, deleted, write_errors = [], [], []

    def writer():
        with httpx.Client(timeout=300) as client:
            for start in range(0, len(new), args.batch):
                batch = new[start:start + args.batch]
                response = system.upsert(client, batch)
                (acknowledged.extend(d["id"] for d in batch) if response.status_code == 200
                 else write_errors.append(response.text[:200]))
            victims = acknowledged[: args.deletes]
            for response in system.delete(client, victims):
                if response.status_code != 200:
                    write_errors.append(response.text[:200])
            deleted.extend(victims)

    threads = [threading.Thread(target=searcher, args=(i * 7,)) for i in range(args.clients)]
    write_thread = threading.Thread(target=writer)
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    write_thread.start()
    time.sleep(args.duration)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    write_thread.join()
    write_seconds = time.perf_counter() - started
    with httpx.Client(timeout=60) as client:
        kept = [i for i in acknowledged if i not in set(deleted)]
        lost = [i for i in kept if not system.present(client, i)]
        resurrected = [i for i in deleted if system.present(client, i)]
    return {"requests": len(latencies), "requests_per_s": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 50) if latencies else None,
            "p95_ms": percentile(latencies, 95) if latencies else None,
            "p99_ms": percentile(latencies, 99) if latencies else None,
            "search_errors": len(errors), "write_errors": len(write_errors), "acknowledged_writes": len(acknowledged),
            "deleted": len(deleted), "lost_writes": len(lost), "deleted_but_present": len(resurrected),
            "writes_done_after_s": round(write_seconds, 1), "error_samples": (errors + write_errors)[:3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=input_file, default=str(SHARED / "monte_cristo" / "corpus.jsonl"))
    parser.add_argument("--qa", type=input_file, default=str(SHARED / "monte_cristo" / "qa.jsonl"))
    parser.add_argument("--limit", type=int, default=10000, help="passages served")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--upserts", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--deletes", type=int, default=100)
    parser.add_argument("--no-txtai", action="store_true")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/serve_load.jsonl)")
    args = parser.parse_args()

    from hyperamy.encoder.weights import resolve_backbone

    rows = [json.loads(line) for line in args.corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    served = [{"id": r["id"], "text": r["text"]} for r in rows[: args.limit]]
    new = [{"id": f"new-{i}", "text": r["text"] + " (a new edition)"} for i, r in enumerate(rows[: args.upserts])]
    questions = [json.loads(line)["question"] for line in args.qa.read_text().splitlines() if line.strip()]
    work = Path(tempfile.mkdtemp(prefix="hyperamy-serve-load-"))
    systems = [("hyperamy", lambda: Hyperamy(work / "hyperamy", served))]
    if not args.no_txtai:
        model = str(resolve_backbone("all-MiniLM-L6-v2"))
        systems.append(("txtai", lambda: Txtai(work / "txtai", served, model)))
    metrics, table = {}, []
    for key, start in systems:
        (work / key).mkdir()
        system = start()
        try:
            metrics[system.name] = result = load(system, questions, new, args)
        finally:
            system.process.terminate()
            system.process.wait(timeout=60)
        table.append([system.name, round(result["requests_per_s"], 1), result["p50_ms"], result["p95_ms"],
                      result["p99_ms"], result["search_errors"] + result["write_errors"],
                      f"{result['lost_writes']} of {result['acknowledged_writes'] - result['deleted']}",
                      result["deleted_but_present"]])
        print(f"{system.name} done", file=sys.stderr)
    print(markdown_table(["system", "searches/s", "p50 ms", "p95 ms", "p99 ms", "errors", "lost writes",
                          "deleted but present"], table))
    path = write_record("serve_load", vars(args) | {"corpus": str(args.corpus), "qa": str(args.qa), "out": None},
                        f"{args.corpus.name} ({len(served)} passages)", metrics, {}, args.out)
    print(f"\nrecord appended to {path}")


if __name__ == "__main__":
    main()
