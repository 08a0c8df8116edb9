"""`hyperamy serve` as users run it: a real uvicorn process over an index built with the real model."""
import json
import re
import os
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from click.testing import CliRunner

from hyperamy.cli import main

pytestmark = pytest.mark.model
TOKEN = "s3cret"
PASSAGES = [
    {"id": "cell", "text": "Dantes sat alone in his dark cell, overcome with despair, and wished to die.", "chapter": 15},
    {"id": "feast", "text": "The marriage feast was full of laughter, music and joyful toasts to the couple.", "chapter": 5},
    {"id": "ship", "text": "The Pharaon entered the harbour of Marseilles at noon on the 24th of February.", "chapter": 1},
    {"id": "rage", "text": "Villefort was furious; he crushed the letter in his fist and swore revenge.", "chapter": 7},
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    corpus = folder / "c.jsonl"
    corpus.write_text("".join(json.dumps(p) + "\n" for p in PASSAGES))
    assert CliRunner().invoke(main, ["index", str(corpus), "--index", str(folder / "idx")]).exit_code == 0
    port = free_port()
    log = open(folder / "serve.log", "w")  # a file, not a pipe: the access log would fill a pipe and block
    process = subprocess.Popen([sys.executable, "-m", "hyperamy", "serve", "--index", str(folder / "idx"),
                                "--port", str(port)], env={**os.environ, "HYPERAMY_TOKEN": TOKEN},
                               stdout=subprocess.DEVNULL, stderr=log, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail(f"the server did not start: {(folder / 'serve.log').read_text()[-2000:]}")
    yield url, folder / "idx"
    process.terminate()
    process.wait(timeout=30)
    log.close()


def cli_ids(index, *args):
    result = CliRunner().invoke(main, ["search", *args, "--index", str(index), "--json"])
    assert result.exit_code == 0, result.stderr
    return [json.loads(line)["id"] for line in result.stdout.splitlines()]


def test_search_gives_the_cli_hits_in_the_cli_order(server):
    url, index = server
    for query, mode in [("a prisoner overcome with despair", "hybrid"), ("harbour", "lexical"),
                        ("joyful celebration", "semantic"), ("I am so angry", "emotion")]:
        body = httpx.get(f"{url}/search", params={"q": query, "mode": mode, "k": 4}).json()
        assert [h["id"] for h in body["hits"]] == cli_ids(index, query, "--mode", mode, "-k", "4"), (query, mode)
    first = httpx.get(f"{url}/search", params={"q": "despair in a cell", "k": 1}).json()["hits"][0]
    assert first["id"] == "cell" and first["metadata"] == {"chapter": 15} and first["fusion"] == "fitted"
    hand_set = httpx.get(f"{url}/search", params={"q": "a prisoner overcome with despair", "fusion": "evidence"}).json()
    assert {h["fusion"] for h in hand_set["hits"]} == {"evidence"}
    assert [h["id"] for h in hand_set["hits"]] == cli_ids(index, "a prisoner overcome with despair", "--set",
                                                          "fusion=evidence")


def test_writes_need_the_token_and_are_searchable_at_once(server):
    url, _ = server
    document = {"id": "storm", "text": "A terrible storm wrecked the little boat off the island of Monte Cristo."}
    refused = httpx.post(f"{url}/documents", json={"documents": [document]})
    assert refused.status_code == 401 and "Authorization: Bearer" in refused.json()["error"]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    added = httpx.post(f"{url}/documents", json={"documents": [document]}, headers=headers)
    assert added.status_code == 200 and added.json()["added"] == 1
    hits = httpx.get(f"{url}/search", params={"q": "storm wrecked boat", "k": 1}).json()["hits"]
    assert hits[0]["id"] == "storm"
    assert httpx.get(f"{url}/documents/storm").json()["text"] == document["text"]
    assert httpx.delete(f"{url}/documents/storm").status_code == 401
    assert httpx.delete(f"{url}/documents/storm", headers=headers).json()["removed"] == ["storm"]
    assert httpx.get(f"{url}/documents/storm").status_code == 404
    listing = httpx.get(f"{url}/documents", params={"where": "chapter > 5"}).json()
    assert listing["total"] == 2 and [d["id"] for d in listing["documents"]] == ["cell", "rage"]


@pytest.mark.parametrize("method, path, kwargs, status, message", [
    ("get", "/search", {}, 422, "q: Field required"),
    ("get", "/search", {"params": {"q": "x", "k": 0}}, 422, "k: Input should be greater than or equal to 1"),
    ("get", "/search", {"params": {"q": "x", "mode": "loud"}}, 422, "mode: Input should be"),
    ("get", "/search", {"params": {"q": "x", "fusion": "magic"}}, 422, "fusion: Input should be 'fitted' or 'evidence'"),
    ("get", "/search", {"params": {"q": "x", "where": "nosuch > 1"}}, 400, "--where 'nosuch > 1': Binder Error"),
    ("get", "/search", {"params": {"q": "x" * 2001}}, 422, "q: String should have at most 2000 characters"),
    ("post", "/documents", {"content": b"{bad", "headers": {"content-type": "application/json"}}, 400,
     "the request body is not valid JSON"),
    ("post", "/documents", {"json": {"documents": [], "extra": 1}}, 422, "extra: Extra inputs are not permitted"),
    ("post", "/documents", {"content": b"x" * (17 * 1024 * 1024)}, 413, "over the limit of 16777216"),
    ("post", "/documents", {"json": {"documents": [{"id": "x", "text": ""}]}, "headers": {"Authorization": f"Bearer {TOKEN}"}},
     400, "record 0 of this batch needs a non-empty string 'text'"),
    ("post", "/predict", {"json": {"texts": []}}, 400, "give 1 to 1000 texts"),
    ("get", "/entities/Nobody", {}, 404, "no entity 'Nobody' is mentioned in this index"),
    ("get", "/search", {"params": {"q": "x", "about": "Nobody"}}, 400, "no entity 'Nobody' is mentioned"),
    ("get", "/search", {"params": {"q": "x", "recency": "chapter"}}, 400, "--recency 'chapter': give FIELD:HALF_LIFE"),
])
def test_bad_requests_get_a_4xx_with_one_clear_line(server, method, path, kwargs, status, message):
    url, _ = server
    response = getattr(httpx, method)(f"{url}{path}", timeout=30, **kwargs)
    assert response.status_code == status, response.text
    assert message in response.json()["error"] and "\n" not in response.json()["error"]


def test_searches_run_while_writes_commit(server):
    url, _ = server
    headers = {"Authorization": f"Bearer {TOKEN}"}
    failures, done = [], threading.Event()

    def searching():
        with httpx.Client() as client:
            while not done.is_set():
                response = client.get(f"{url}/search", params={"q": "despair", "k": 3}, timeout=30)
                if response.status_code != 200:
                    failures.append(response.text)

    threads = [threading.Thread(target=searching) for _ in range(4)]
    for thread in threads:
        thread.start()
    for batch in range(5):
        documents = [{"id": f"w{batch}-{i}", "text": f"Note {i} of batch {batch} about the sea"} for i in range(20)]
        assert httpx.post(f"{url}/documents", json={"documents": documents}, headers=headers, timeout=60).status_code == 200
    done.set()
    for thread in threads:
        thread.join()
    assert failures == []
    assert httpx.get(f"{url}/documents", params={"where": "id LIKE 'w%'"}).json()["total"] == 100


def test_predict_matches_the_cli(server):
    url, _ = server
    body = httpx.post(f"{url}/predict", json={"texts": ["I am absolutely furious about this!"]}).json()
    cli = json.loads(CliRunner().invoke(main, ["predict", "I am absolutely furious about this!", "--json"]).stdout)
    (prediction,) = body["predictions"]
    assert prediction["top"][0]["label"] == cli["top"][0]["label"] == "anger"
    assert prediction["kappa"] == pytest.approx(cli["kappa"], rel=1e-3)
    assert prediction["strength"] == pytest.approx(cli["strength"], abs=1e-3) and prediction["strength"] > 0.8
    assert prediction["intensity"]["anger"] == pytest.approx(cli["intensity"]["anger"], abs=1e-3)


def test_a_non_local_address_needs_a_token(tmp_path):
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--index", str(tmp_path)], env={"HYPERAMY_TOKEN": ""})
    assert result.exit_code == 2 and "refusing to listen on 0.0.0.0 without a token" in result.stderr


@pytest.mark.parametrize("name, value, message", [
    ("HYPERAMY_QUERY_PRECISION", "fp16", "HYPERAMY_QUERY_PRECISION must be one of float32, int8, not 'fp16'"),
    ("HYPERAMY_QUERY_THREADS", "two", "HYPERAMY_QUERY_THREADS must be a whole number of threads, not 'two'")])
def test_a_bad_query_setting_stops_serve_before_it_starts(tmp_path, name, value, message):
    result = CliRunner().invoke(main, ["serve", "--index", str(tmp_path), "--port", "0"], env={name: value})
    assert result.exit_code == 2 and result.stderr.strip() == f"Error: {message}"
    assert "loading" not in result.stderr  # refused before the index or the model


def test_the_page_searches_in_a_real_browser(server):
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if os.path.exists(p)), None)
    if chromium is None:
        pytest.fail("no chromium: .ci/run installs Debian's chromium")
    url, _ = server
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(url + "/")
        page.fill("#q", "a prisoner overcome with despair in his cell")
        page.select_option("#mode", "hybrid")
        page.click("button[type=submit]")
        page.wait_for_selector(".hit")
        assert page.locator(".hit .id").first.inner_text() == "1. cell"
        assert page.locator(".hit .parts span").count() == 3 * page.locator(".hit").count()
        assert "hits in" in page.inner_text("#status")
        page.click(".hit details summary")
        assert page.locator(".hit .explain").first.inner_text().startswith("score ")
        page.select_option("#emotion", "joy")
        page.click("button[type=submit]")
        # waits for the same text as a predicate would, without eval (the page's CSP refuses eval)
        playwright.expect(page.locator(".hit .id").first).to_have_text("1. feast")
        browser.close()


def test_the_server_says_where_it_listens_and_logs_each_request(server):
    url, index = server
    assert httpx.get(f"{url}/search", params={"q": "despair", "k": 2}).status_code == 200
    assert httpx.get(f"{url}/entities/Nobody").status_code == 404
    time.sleep(0.3)
    log = (index.parent / "serve.log").read_text()
    assert f"loading {index} and the emotion model..." in log
    assert f"hyperamy is serving {index} (4 documents) at {url}/ (the page; the API's docs at /docs)" in log
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d 127\.0\.0\.1 GET /search\?q=despair&k=2 200 \d+ ms$", log, re.M)


def test_a_port_in_use_is_said_at_once(server, tmp_path):
    url, index = server
    started = time.time()
    taken = subprocess.run([sys.executable, "-m", "hyperamy", "serve", "--index", str(index), "--port",
                            url.rsplit(":", 1)[1]], capture_output=True, text=True, timeout=60)
    assert taken.returncode == 1 and time.time() - started < 20  # before any model loads (was 36 s, exit 3)
    assert taken.stderr.strip().endswith("is already in use (another hyperamy serve?); stop that, or choose "
                                         "another with --port")


def browse(server, address, look):
    """Open `address` in Chromium with every request off this server refused (as offline), then `look`."""
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if os.path.exists(p)), None)
    if chromium is None:
        pytest.fail("no chromium: .ci/run installs Debian's chromium")
    url, _ = server
    refused = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url)
                   else (refused.append(route.request.url), route.abort()))
        page.goto(url + address)
        look(page, playwright.expect)
        browser.close()
    return refused


def test_the_api_docs_work_offline(server):
    def look(page, expect):
        expect(page.locator(".opblock-summary-path").first).to_be_visible(timeout=20000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert {"/search", "/documents", "/predict", "/arc.png"} <= {p.replace("\u200b", "") for p in paths}

    assert browse(server, "/docs", look) == []  # nothing asked of a CDN


def test_a_page_address_runs_its_search_and_a_search_changes_the_address(server):
    def look(page, expect):
        expect(page.locator(".hit .id").first).to_have_text("1. feast", timeout=20000)
        assert page.input_value("#q") == "laughter and music" and page.input_value("#emotion") == "joy"
        assert page.locator(".hit").count() == 1  # k=1 from the address
        page.fill("#q", "a prisoner overcome with despair in his cell")
        page.select_option("#emotion", "")
        page.click("button[type=submit]")
        expect(page.locator(".hit .id").first).to_have_text("1. cell")
        assert "q=a+prisoner+overcome" in page.url and "emotion=" not in page.url
        assert page.get_attribute("#q", "placeholder").startswith("e.g. ")  # words of this index, not Monte Cristo
        expect(page.locator("#picture")).to_have_attribute("src", "arc.png?by=chapter")

    browse(server, "/?q=laughter+and+music&mode=hybrid&emotion=joy&k=1", look)
    picture = httpx.get(f"{server[0]}/arc.png", params={"by": "chapter"})
    assert picture.status_code == 200 and picture.content[:8] == b"\x89PNG\r\n\x1a\n"
