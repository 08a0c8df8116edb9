"""Hostile input, end to end: each case of issue #30's reliability trial run through the real CLI
(and, for HTTP, a real `hyperamy serve`), with what a user should see and what they do see.

    python benchmarks/hostile.py            # prints a table; exits 1 if any case differs
    python benchmarks/hostile.py --json     # one JSON object per case

Every command runs in its own process with the shipped model, as a user runs it; a case passes
when the observed outcome matches the expected one exactly (exit code and the words that matter),
and, for the cases that write, when the index still opens with the same documents and `check`
finds nothing wrong.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

CORPUS = [{"id": "a", "text": "The harbour at dawn was calm and grey.", "chapter": 1},
          {"id": "secret", "text": "PASSWORD=hunter2 and some calm notes.", "chapter": 2},
          {"id": "c", "text": "A furious storm broke over the town.", "chapter": 3}]


def hyperamy(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hyperamy", *args], capture_output=True, text=True, input=stdin,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}, timeout=600)


def outcome(done: subprocess.CompletedProcess) -> str:
    """Exit code and the last line of stderr (the message a user reads), or 'ok' on success."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    if done.returncode == 0:
        return "exit 0"
    tail = lines[-1] if lines else ""
    if any(line.startswith("Traceback") for line in lines):
        tail = "TRACEBACK " + tail
    return f"exit {done.returncode}: {tail}"


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def nested(levels: int):
    value = "x"
    for _ in range(levels):
        value = {"a": value}
    return value


class Trial:
    def __init__(self, root: Path):
        self.root, self.processes = root, []
        self.pristine = root / "pristine"
        corpus = write_jsonl(root / "corpus.jsonl", CORPUS)
        done = hyperamy("index", str(corpus), "-i", str(self.pristine))
        if done.returncode != 0:
            raise SystemExit(f"could not build the trial index: {done.stderr}")

    def fresh(self) -> Path:
        folder = Path(tempfile.mkdtemp(dir=self.root)) / "idx"
        shutil.copytree(self.pristine, folder)
        return folder

    def sound(self, folder: Path, ids: set[str]) -> str:
        """'' when the index opens with exactly `ids` and check is clean, else what is wrong."""
        listed = hyperamy("list", "-i", str(folder), "--json")
        if listed.returncode != 0:
            return f"list fails: {outcome(listed)}"
        found = {json.loads(line)["id"] for line in listed.stdout.splitlines() if line.strip()}
        if found != ids:
            return f"holds {sorted(found)}"
        checked = hyperamy("check", "-i", str(folder))
        return "" if checked.returncode == 0 else f"check: {outcome(checked)}"


def refused(done, words: str, trial: Trial | None = None, folder: Path | None = None, ids=None) -> tuple[bool, str]:
    seen = outcome(done)
    ok = done.returncode != 0 and words in seen and "TRACEBACK" not in seen
    if trial is not None and folder is not None:
        problem = trial.sound(folder, ids)
        ok = ok and not problem
        seen += f"; index {'sound' if not problem else problem}"
    return ok, seen


def cases(trial: Trial):
    """(item, case, expected, run) for every case; run() returns (passed, observed)."""
    root, every = trial.root, {"a", "secret", "c"}

    def deep_after_delete():
        folder = trial.fresh()
        hyperamy("delete", "a", "-i", str(folder))
        corpus = write_jsonl(root / "deep.jsonl", [{"id": "deep", "text": "deep", "m": nested(500)}])
        return refused(hyperamy("index", str(corpus), "-i", str(folder)), "nested more than 32 levels deep",
                       trial, folder, {"secret", "c"})

    def filter_case(where, words):
        def run():
            folder = trial.fresh()
            hyperamy("delete", "secret", "-i", str(folder))
            done = hyperamy("count", "-i", str(folder), "--where", where)
            return refused(done, words)
        return run

    def deleted_not_counted():
        folder = trial.fresh()
        before = hyperamy("count", "-i", str(folder), "--where", "text LIKE '%hunter2%'").stdout.strip()
        hyperamy("delete", "secret", "-i", str(folder))
        after = hyperamy("count", "-i", str(folder), "--where", "text LIKE '%hunter2%'").stdout.strip()
        return (before, after) == ("1", "0"), f"count before delete {before}, after {after}"

    def slow_filter():
        folder = trial.fresh()
        started = time.monotonic()
        slow = subprocess.Popen([sys.executable, "-m", "hyperamy", "count", "-i", str(folder), "--where",
                                 "list_reduce(range(5000000), lambda a, b: a + b) > 0"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "HF_HUB_OFFLINE": "1", "HYPERAMY_FILTER_SECONDS": "4"})
        time.sleep(1.5)
        wrote = hyperamy("delete", "a", "-i", str(folder))
        search = hyperamy("search", "storm", "-i", str(folder), "-k", "1", "--json")
        wrote_while = slow.poll() is None
        _, err = slow.communicate(timeout=120)
        took = time.monotonic() - started
        ok = (wrote.returncode == 0 and search.returncode == 0 and "stopped after 4 s" in err
              and slow.returncode != 0)
        return ok, (f"filter: exit {slow.returncode} after {took:.1f} s ({err.strip().splitlines()[-1][:60]}...); "
                    f"write exit {wrote.returncode} and search exit {search.returncode}"
                    f"{' while the filter still ran' if wrote_while else ' (the filter had ended)'}")

    def check_case(damage, words, repairable=True):
        def run():
            folder = trial.fresh()
            damage(folder)
            checked = hyperamy("check", "-i", str(folder), "--json")
            seen = outcome(checked)
            problems = [p["problem"] for p in json.loads(checked.stdout)["problems"]] if checked.stdout.strip() else []
            named = any(words in p for p in problems)
            repaired = hyperamy("check", "-i", str(folder), "--repair")
            problem = trial.sound(folder, every) if repairable else ""
            ok = checked.returncode != 0 and named and (not repairable or (repaired.returncode == 0 and not problem))
            text = next((p for p in problems if words in p), seen)
            return ok, f"check names: {text[:70]}" + (f"; --repair: {'sound' if not problem else problem}"
                                                         if repairable else "")
        return run

    def manifest(folder):
        return json.loads((folder / "manifest.json").read_text())

    def put_manifest(folder, value):  # signed: consistent bytes, wrong contents, as a faulty writer would leave
        from hyperamy import persist

        persist.write_manifest(folder, value)

    def no_marker(folder):
        segment = manifest(folder)["segments"][0]["name"]
        (folder / "segments" / segment / "complete").unlink()

    def wrong_counts(folder):
        value = manifest(folder)
        value["counts"]["documents"] = 7
        put_manifest(folder, value)

    def low_next_row(folder):
        value = manifest(folder)
        value["next_row"] = 1
        put_manifest(folder, value)

    def emptied(folder):
        value = manifest(folder)
        value["segments"], value["counts"] = [], {"documents": 0, "segments": 0, "deleted": 0}
        put_manifest(folder, value)

    def bit_flips():
        folder = trial.fresh()
        original = (folder / "manifest.json").read_bytes()
        chance, tracebacks, clear = random.Random(7), 0, 0
        for _ in range(40):
            flipped = bytearray(original)
            at = chance.randrange(len(flipped))
            flipped[at] ^= 1 << chance.randrange(8)
            (folder / "manifest.json").write_bytes(bytes(flipped))
            done = hyperamy("count", "-i", str(folder))
            tracebacks += "Traceback" in done.stderr
            clear += done.returncode == 0 or len(done.stderr.strip().splitlines()) == 1
        return tracebacks == 0 and clear == 40, f"{tracebacks} tracebacks, {clear} of 40 one line or a count"

    def bad_record(record, words):
        def run():
            folder = trial.fresh()
            corpus = write_jsonl(root / "bad.jsonl", [record])
            return refused(hyperamy("index", str(corpus), "-i", str(folder)), words, trial, folder, every)
        return run

    def bad_file(name, text, words):
        def run():
            folder = trial.fresh()
            path = root / name
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            return refused(hyperamy("index", str(path), "-i", str(folder)), words, trial, folder, every)
        return run

    def across_runs():
        folder = trial.fresh()
        first = write_jsonl(root / "first.jsonl", [{"id": "x", "text": "one", "Tag": 1}])
        second = write_jsonl(root / "second.jsonl", [{"id": "y", "text": "two", "tag": 2}])
        hyperamy("index", str(first), "-i", str(folder))
        return refused(hyperamy("index", str(second), "-i", str(folder)), "differs only in case",
                       trial, folder, every | {"x"})

    yield 1, "metadata nested 500 deep, after a delete", "refused in one line; index whole", deep_after_delete
    yield 2, "deleted text read back by a substring subquery", "refused: no subqueries", filter_case(
        "(SELECT substr(text, 1, 1) FROM docs WHERE id = 'secret') = 'P'", "subqueries (SELECT, FROM) are not allowed")
    yield 2, "deleted file read by read_parquet", "refused: no subqueries", filter_case(
        "(SELECT count(*) FROM read_parquet('segments/*/docs.parquet')) > 0", "are not allowed")
    yield 2, "settings and catalog: current_setting()", "refused", filter_case(
        "current_setting('allowed_paths') IS NOT NULL", "the function current_setting() is not allowed")
    yield 2, "settings and catalog: duckdb_settings()", "refused", filter_case(
        "(SELECT count(*) FROM duckdb_settings()) > 0", "are not allowed")
    yield 2, "a deleted document in a plain --where", "count 1 before the delete, 0 after", deleted_not_counted
    yield 3, "a slow --where while a delete and a search run", "filter stopped at 4 s; both others exit 0", slow_filter
    yield 4, "'complete' marker deleted", "check names it; --repair restores it", check_case(
        no_marker, "the 'complete' marker is missing")
    yield 4, "manifest counts disagree with the segments", "check names it; --repair derives it", check_case(
        wrong_counts, "the manifest counts 7 documents")
    yield 4, "next_row lowered", "check names it; --repair derives it", check_case(low_next_row, "next_row is 1")
    yield 4, "segment list emptied", "check names it", check_case(
        emptied, "the manifest names no segments", repairable=False)
    yield 4, "40 random bit flips in manifest.json", "no traceback; one line each", bit_flips
    yield 5, "a lone surrogate in a text", "refused in one line", bad_file(
        "surrogate.jsonl", '{"id": "s", "text": "a lone \\ud800 surrogate"}\n', "not valid Unicode")
    yield 5, "an integer of 10**30", "refused in one line", bad_record(
        {"id": "s", "text": "fine", "n": 10 ** 30}, "does not fit in 64 bits")
    yield 5, "nesting 100,000 deep", "refused naming file and line", bad_file(
        "deep100k.jsonl", '{"id": "d", "text": "t", "m": ' + "[" * 100_000 + "]" * 100_000 + "}\n",
        "deep100k.jsonl:1: nested too deeply")
    yield 5, "'Tag' and 'tag' in one record", "refused in one line", bad_record(
        {"id": "s", "text": "fine", "Tag": 1, "tag": 2}, "differ only in case")
    yield 5, "'Tag' in one run, 'tag' in a later one", "refused in one line", across_runs
    yield 5, "a field named ''", "refused in one line", bad_record(
        {"id": "s", "text": "fine", "": 1}, "empty name")
    yield 5, "a field of mixed types", "refused in one line", bad_file(
        "mixed.jsonl", '{"id": "x", "text": "one", "f": 1}\n{"id": "y", "text": "two", "f": "one"}\n',
        "holds int and str values")
    yield 5, "a ragged CSV line", "refused naming the line", bad_file(
        "ragged.csv", "id,text,chapter\n1,first text,1\n2,second text,2,extra\n3,third text,3\n",
        "ragged.csv:3: this row has 4 fields, the header 3")
    yield 5, "an empty id", "refused in one line", bad_record({"id": "", "text": "fine"}, "the id is empty")
    yield from http_cases(trial)


def http_cases(trial: Trial):
    state: dict = {}

    def server():
        if "url" not in state:
            folder = trial.fresh()
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            state["process"] = subprocess.Popen(
                [sys.executable, "-m", "hyperamy", "serve", "-i", str(folder), "--port", str(port)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "HF_HUB_OFFLINE": "1"})
            trial.processes.append(state["process"])
            state["url"] = f"http://127.0.0.1:{port}"
            for _ in range(600):
                try:
                    urllib.request.urlopen(state["url"] + "/health", timeout=1)
                    break
                except (urllib.error.URLError, ConnectionError, OSError):
                    time.sleep(0.2)
        return state["url"]

    def call(method, path, body=None, headers=None):
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        request = urllib.request.Request(server() + path, data=data, method=method,
                                         headers={"content-type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                return reply.status, reply.read().decode(), dict(reply.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), dict(error.headers)

    def ids_validated():
        seen = []
        for bad in ({"a": 1}, [1], True):
            status, text, _ = call("POST", "/documents", {"documents": [{"id": bad, "text": "x"}]})
            seen.append(f"{status}")
        ok = seen == ["400", "400", "400"]
        return ok, f"object, list, true ids: {', '.join(seen)}"

    def slashed_ids():
        added, _, _ = call("POST", "/documents", {"documents": [{"id": "a/b c?", "text": "slashed"}]})
        got, text, _ = call("GET", "/documents/" + urllib.parse.quote("a/b c?", safe="/"))
        removed, _, _ = call("DELETE", "/documents/" + urllib.parse.quote("a/b c?", safe="/"))
        ok = (added, got, removed) == (200, 200, 200) and json.loads(text)["text"] == "slashed"
        return ok, f"add {added}, get {got}, delete {removed}"

    def strict_json():
        status, text, _ = call("GET", "/search?q=storm&emotion_weight=inf")
        ok = status == 400 and "Infinity" not in text and "error" in json.loads(text)
        return ok, f"{status} {text[:70]}"

    def one_error_shape():
        shapes = [sorted(json.loads(call(m, p)[1])) for m, p in (("GET", "/nowhere"), ("PUT", "/documents"),
                                                                  ("GET", "/search"))]
        return shapes == [["error"]] * 3, f"keys: {shapes}"

    def chunked_413():
        import http.client

        address = urllib.parse.urlsplit(server())
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
        connection.putrequest("POST", "/documents")
        connection.putheader("content-type", "application/json")
        connection.putheader("transfer-encoding", "chunked")
        connection.endheaders()
        sent = 0
        try:
            for _ in range(50):  # 50 chunks of 1 MiB, no length declared
                connection.send(b"%x\r\n" % (1024 * 1024) + b"x" * (1024 * 1024) + b"\r\n")
                sent += 1
            connection.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the client sent it all
        reply = connection.getresponse()
        body = reply.read().decode()
        connection.close()
        return reply.status == 413, f"{reply.status} after {sent} MiB sent: {body[:60]}"

    def headers():
        _, _, found = call("GET", "/")
        lowered = {k.lower(): v for k, v in found.items()}
        ok = lowered.get("x-content-type-options") == "nosniff" and "default-src 'self'" in lowered.get(
            "content-security-policy", "")
        return ok, f"nosniff: {lowered.get('x-content-type-options')}; CSP: {lowered.get('content-security-policy', '')[:30]}"

    yield 6, "ids that are an object, a list, true", "400 each, as the CLI", ids_validated
    yield 6, "an id with '/', ' ' and '?'", "added, read and deleted", slashed_ids
    yield 6, "emotion_weight=inf", "400, strict JSON", strict_json
    yield 6, "unknown route, wrong method, missing q", "one shape: {\"error\"}", one_error_shape
    yield 6, "a 50 MB chunked body", "413", chunked_413
    yield 6, "the page's headers", "nosniff and a CSP", headers


def ray_case():
    """Item 7 in a driver of its own (Ray starts in about 10 s): killing an actor prints one line."""
    script = r"""
import sys; sys.path.insert(0, "tests")
from fakes import FakeEncoder
from test_shards import BrokenEncoder
import tempfile
from hyperamy import HyperAmy, shards
from hyperamy.errors import HyperamyError
ray = shards.connect(None, num_cpus=2)
engine = HyperAmy.open(tempfile.mkdtemp() + "/idx", create=True, encoder=FakeEncoder())
try:
    engine.add_distributed([{"id": f"d{i}", "text": f"text {i}"} for i in range(40)], ray, segment_size=10,
                           encoder_factory=BrokenEncoder)
except HyperamyError as error:
    print(f"error: {error}", file=sys.stderr)
    sys.exit(1)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(["tests", os.environ.get("PYTHONPATH", "")])})
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    said = [line for line in done.stdout.splitlines() if line.strip()]
    ok = done.returncode == 1 and len(errors) == 1 and "the index is unchanged" in errors[0]
    return ok, (f"stderr {len(errors)} line: {errors[-1][:75] if errors else ''}; stdout {len(said)} line "
                "(Ray's own notice that a worker died, from its listener thread)")


def run_all(every, as_json: bool) -> list[dict]:
    results = []
    for item, case, expected, run in every:
        started = time.monotonic()
        try:
            passed, observed = run()
        except Exception as error:  # a case that crashes is a failed case, reported as such
            passed, observed = False, f"the case crashed: {type(error).__name__}: {error}"
        results.append({"item": item, "case": case, "expected": expected, "observed": observed,
                        "passed": passed, "seconds": round(time.monotonic() - started, 1)})
        if as_json:
            print(json.dumps(results[-1]), flush=True)
        else:
            print(f"{'PASS' if passed else 'FAIL'} #{item} {case}: {observed}", file=sys.stderr, flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="One JSON object per case instead of a table.")
    parser.add_argument("--no-ray", action="store_true", help="Skip item 7 (a Ray actor killed mid-run).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        trial = Trial(Path(folder))
        every = list(cases(trial))
        if not args.no_ray:
            every.append((7, "a Ray actor killed mid-run", "one error line; index unchanged", ray_case))
        try:
            results = run_all(every, args.json)
        finally:
            for process in trial.processes:
                process.terminate()
                process.wait(10)
    if not args.json:
        print("| # | case | expected | observed | |\n|---|---|---|---|---|")
        for r in results:
            observed = re.sub(r"/tmp/\S+/", "", r["observed"]).replace("|", "\\|")
            print(f"| {r['item']} | {r['case']} | {r['expected']} | {observed} | {'pass' if r['passed'] else 'FAIL'} |")
        print(f"\n{sum(r['passed'] for r in results)} of {len(results)} cases passed")
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
