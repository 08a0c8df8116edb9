"""`hyperamy index / search / info / delete` with the real shipped encoder."""
import json
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from hyperamy.cli import main
from hyperamy.indexing import FIRST_COMMIT

pytestmark = pytest.mark.model

PASSAGES = [
    {"id": "cell", "text": "Dantes sat alone in his dark cell, overcome with despair, and wished to die.", "chapter": 15},
    {"id": "feast", "text": "The marriage feast was full of laughter, music and joyful toasts to the couple.", "chapter": 5},
    {"id": "ship", "text": "The Pharaon entered the harbour of Marseilles at noon on the 24th of February.", "chapter": 1},
    {"id": "rage", "text": "Villefort was furious; he crushed the letter in his fist and swore revenge.", "chapter": 7},
]


def write_corpus(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def built(tmp_path_factory, shipped_encoder):
    folder = tmp_path_factory.mktemp("cli")
    corpus = write_corpus(folder / "corpus.jsonl", PASSAGES)
    result = run("index", corpus, "--index", folder / "idx", "--json")
    assert result.exit_code == 0, result.stderr
    return folder, json.loads(result.stdout)


def test_index_reports_counts_as_json(built):
    _, report = built
    assert (report["added"], report["updated"], report["unchanged"], report["documents"]) == (4, 0, 0, 4)


def test_search_json_lines_rank_the_despairing_prisoner_first(built):
    folder, _ = built
    result = run("search", "a prisoner overcome with despair in his cell", "--index", folder / "idx", "--json", "-k", "2")
    assert result.exit_code == 0, result.stderr
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert [h["id"] for h in hits][0] == "cell" and len(hits) == 2
    assert {"id", "score", "semantic", "lexical", "emotion", "query_kappa", "kappa", "top_emotions", "snippet",
            "metadata"} <= set(hits[0])
    assert hits[0]["metadata"] == {"chapter": 15}


def test_search_explain_and_where(built):
    folder, _ = built
    result = run("search", "harbour", "--index", folder / "idx", "--where", "chapter < 3", "--explain")
    assert result.exit_code == 0 and result.stdout.splitlines()[0].lstrip().startswith("1. ship")
    assert "score " in result.stdout and "kappa" in result.stdout
    bad = run("search", "harbour", "--index", folder / "idx", "--where", "chapter <")
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: --where 'chapter <'")


def test_info_reports_documents_and_models(built):
    folder, _ = built
    result = run("info", "--index", folder / "idx", "--json")
    details = json.loads(result.stdout)
    assert details["documents"] == 4 and details["metadata_fields"] == ["chapter"]
    assert details["models"]["encoder"].startswith("all-MiniLM-L6-v2+") and len(details["models"]["thresholds"]) == 28
    assert details["config"]["analyzer"] == "english"
    found = run("search", "swearing revenges", "--index", folder / "idx", "--mode", "lexical", "--json").stdout
    assert [json.loads(line)["id"] for line in found.splitlines()] == ["rage"]  # "swore revenge": one stem matches


def test_bad_line_names_file_and_line_and_changes_nothing(built, tmp_path):
    folder, _ = built
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text(json.dumps({"id": "new", "text": "fine"}) + "\n{broken\n")
    result = run("index", corpus, "--index", folder / "idx")
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: {corpus}:2: malformed JSON: Expecting property name enclosed in " \
                                    "double quotes at column 2; --skip-invalid skips such rows and lists them"
    assert json.loads(run("info", "--index", folder / "idx", "--json").stdout)["documents"] == 4
    skipped = run("index", corpus, "--index", tmp_path / "other", "--skip-invalid", "--json")
    report = json.loads(skipped.stdout)
    assert (report["added"], report["skipped"]) == (1, 1) and report["skipped_rows"][0].startswith(f"{corpus}:2:")


def test_missing_index_says_how_to_create_one(tmp_path):
    result = run("search", "anything", "--index", tmp_path / "nothing")
    assert result.exit_code == 1
    assert "no index at" in result.stderr and "create one with `hyperamy index" in result.stderr


def test_delete_then_search(tmp_path):
    corpus = write_corpus(tmp_path / "c.jsonl", PASSAGES)
    assert run("index", corpus, "--index", tmp_path / "idx", "--analyzer", "words").exit_code == 0
    assert json.loads(run("info", "--index", tmp_path / "idx", "--json").stdout)["config"]["analyzer"] == "words"
    assert run("search", "revenges", "--index", tmp_path / "idx", "--mode", "lexical", "--json").stdout == ""
    result = run("delete", "rage", "nope", "--index", tmp_path / "idx")
    assert result.stdout.strip() == "removed 1 of 2 ids; 3 documents left"
    assert result.stderr.strip() == "not found: nope"
    hits = run("search", "furious revenge", "--index", tmp_path / "idx", "--json", "-k", "10").stdout.splitlines()
    assert "rage" not in [json.loads(h)["id"] for h in hits]


def test_a_killed_build_keeps_its_commits_and_a_rerun_finishes(tmp_path):
    corpus = write_corpus(tmp_path / "small.jsonl", PASSAGES)
    assert run("index", corpus, "--index", tmp_path / "idx").exit_code == 0
    big = write_corpus(tmp_path / "big.jsonl", [{"id": f"x{i}", "text": f"Passage number {i} about the sea and "
                                                 "the sailors who crossed it in the spring."} for i in range(3000)])
    process = subprocess.Popen([sys.executable, "-m", "hyperamy", "index", str(big), "--index", str(tmp_path / "idx"),
                                "--commit-every", "200"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and json.loads((tmp_path / "idx" / "manifest.json").read_text())["commit"] < 3:
        time.sleep(0.05)
    assert process.poll() is None, "the build finished before it could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait()
    info = json.loads(run("info", "--index", tmp_path / "idx", "--json").stdout)
    assert (info["documents"] - 4) % 200 == 0 and 400 <= info["documents"] - 4 < 3000
    hits = run("search", "a prisoner overcome with despair in his cell", "--index", tmp_path / "idx", "--json",
               "-k", "1").stdout
    assert json.loads(hits)["id"] == "cell"
    again = json.loads(run("index", big, "--index", tmp_path / "idx", "--json").stdout)
    assert (again["unchanged"], again["added"]) == (info["documents"] - 4, 3004 - info["documents"])
    assert again["documents"] == 3004


def test_ctrl_c_says_what_was_kept_and_the_first_commit_does_not_wait_for_commit_every(tmp_path):
    big = write_corpus(tmp_path / "big.jsonl", [{"id": f"x{i}", "text": f"Passage number {i} about the sea and "
                                                 "the sailors who crossed it in the spring."} for i in range(3000)])
    # the default --commit-every (2048) would keep nothing for the whole first 2,048 documents
    # SIGINT as a terminal gives it: a suite started in the background (`... &`) has SIGINT ignored,
    # and a child would inherit that and never see the Ctrl-C this test sends
    process = subprocess.Popen([sys.executable, "-m", "hyperamy", "index", str(big), "--index", str(tmp_path / "idx")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    manifest = tmp_path / "idx" / "manifest.json"
    while time.time() < deadline and not (manifest.exists() and json.loads(manifest.read_text())["next_row"]):
        time.sleep(0.05)
    assert process.poll() is None, "the build finished before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-3000:]
    kept = json.loads(run("info", "--index", tmp_path / "idx", "--json").stdout)["documents"]
    assert kept == FIRST_COMMIT  # SIGINT came while the second commit was being encoded
    assert stderr.splitlines()[-1] == (
        f"Interrupted: what was committed is kept; the index holds {kept:,} documents (0 when this run began). "
        "Run the same command again to add the rest: what was committed is skipped as unchanged.")


def test_a_delete_never_loads_the_model(built, tmp_path):
    folder, _ = built
    copy = tmp_path / "idx"
    shutil.copytree(folder / "idx", copy)
    before = json.loads((copy / "manifest.json").read_text())
    script = ("import sys, json; from hyperamy import HyperAmy; "
              f"removed = HyperAmy.open({str(copy)!r}).delete(['cell']); "
              "print(json.dumps([removed, [m for m in ('torch', 'transformers') if m in sys.modules]]))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [1, []]
    after = json.loads((copy / "manifest.json").read_text())
    assert after["models"] == before["models"]
    assert after["counts"]["documents"] == before["counts"]["documents"] - 1


def test_a_search_process_never_imports_the_heavy_libraries(built):
    folder, _ = built
    heavy = ["torch", "transformers", "sentence_transformers", "bm25s", "scipy", "pyarrow"]
    script = ("import sys, json; from hyperamy import HyperAmy; "
              f"hits = HyperAmy.open({str(folder / 'idx')!r}).search('a prisoner overcome with despair', k=1); "
              f"print(json.dumps([hits[0].id, [m for m in {heavy!r} if m in sys.modules]]))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["cell", []]


def test_index_search_and_serve_need_neither_the_training_extra_nor_the_test_references(tmp_path):
    """`pip install hyperamy` without [train] (scipy) or the test references (sentence-transformers,
    bm25s): indexing, searching and serving run; the training commands name the extra they need."""
    corpus = write_corpus(tmp_path / "c.jsonl", PASSAGES)
    script = f"""
import json, sys
for name in ("scipy", "sentence_transformers", "bm25s"):
    sys.modules[name] = None  # as if not installed: importing it fails, find_spec finds nothing
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hyperamy.cli import main
from hyperamy.serve import build_app
runner = CliRunner()
indexed = runner.invoke(main, ["index", {str(corpus)!r}, "--index", {str(tmp_path / "idx")!r}])
found = runner.invoke(main, ["search", "a prisoner overcome with despair", "--index", {str(tmp_path / "idx")!r},
                             "--json", "-k", "1"])
served = TestClient(build_app({str(tmp_path / "idx")!r}, None, None)).get(
    "/search", params={{"q": "a prisoner overcome with despair", "k": 1}})
training = "hyperamy.training" in sys.modules
evaluated = runner.invoke(main, ["eval"])
print(json.dumps([indexed.exit_code, json.loads(found.stdout)["id"], served.json()["hits"][0]["id"], training,
                  evaluated.exit_code, evaluated.stderr.strip()]))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == [
        0, "cell", "cell", False, 1,
        'Error: `hyperamy eval` needs the training extra (scipy missing): pip install "hyperamy[train]"']


def test_an_index_built_with_other_weights_is_searched_with_them(tmp_path):
    from safetensors.numpy import load_file, save_file

    from hyperamy.encoder.weights import SHIPPED, WEIGHTS_FILE, fingerprint

    weights = tmp_path / "weights"
    shutil.copytree(SHIPPED, weights)
    tensors = load_file(str(weights / WEIGHTS_FILE))
    tensors["prototypes"] = tensors["prototypes"][::-1].copy()  # another model: labels swap prototypes
    save_file(tensors, str(weights / WEIGHTS_FILE), metadata={"format_version": "1"})
    corpus = write_corpus(tmp_path / "c.jsonl", PASSAGES)
    built = run("index", corpus, "--index", tmp_path / "idx", "--weights", weights, "--json")
    assert built.exit_code == 0, built.stderr
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["models"]["encoder"] == f"all-MiniLM-L6-v2+{fingerprint(weights)}"

    found = run("search", "a prisoner overcome with despair", "--index", tmp_path / "idx", "--weights", weights,
                "--json", "-k", "1")
    assert found.exit_code == 0, found.stderr
    assert json.loads(found.stdout)["id"] == "cell"
    shipped = run("search", "a prisoner overcome with despair", "--index", tmp_path / "idx")
    assert shipped.exit_code == 1
    assert "use the weights it was built with (--weights or $HYPERAMY_WEIGHTS)" in shipped.stderr


def test_input_mistakes_are_usage_errors_that_name_what_exists(tmp_path):
    corpus = write_corpus(tmp_path / "c.jsonl", PASSAGES)
    typo = run("index", corpus, "--index", tmp_path / "idx", "--id-field", "ident")
    assert typo.exit_code == 2 and "no id field 'ident' in the first record; its fields are 'id', 'text', " \
                                   "'chapter'" in typo.stderr
    (tmp_path / "empty.jsonl").write_text("")
    empty = run("index", tmp_path / "empty.jsonl", "--index", tmp_path / "idx")
    assert empty.exit_code == 2 and empty.stderr.strip() == f"Error: {tmp_path / 'empty.jsonl'}: no records in this file"
    assert not (tmp_path / "idx").exists()
    unknown = run("index", tmp_path / "c.xml", "--index", tmp_path / "idx")
    assert unknown.exit_code == 2 and "unknown corpus format '.xml'" in unknown.stderr


def test_index_from_stdin_then_get_list_count_export_compact_check(tmp_path):
    lines = "".join(json.dumps(r) + "\n" for r in PASSAGES)
    built = CliRunner().invoke(main, ["index", "-", "--index", str(tmp_path / "idx"), "--json"], input=lines)
    assert built.exit_code == 0, built.stderr
    assert json.loads(built.stdout)["added"] == 4
    index = ["--index", tmp_path / "idx"]
    got = run("get", "rage", "nope", *index, "--json")
    assert got.exit_code == 1 and got.stderr.strip() == "Error: not found: nope"
    assert json.loads(got.stdout)["metadata"] == {"chapter": 7}
    listed = run("list", *index, "--where", "chapter > 5", "--json")
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == ["cell", "rage"]
    plain = run("get", "rage", *index).stdout.splitlines()  # heading, metadata, the text once
    assert re.fullmatch(r"rage  kappa [\d.]+ \(\w+(, \w+)*\)", plain[0])
    assert plain[1:] == ["chapter=7", "", PASSAGES[3]["text"], ""]
    shown = run("list", *index, "--where", "chapter > 5").stdout.splitlines()  # text as written, not a repr
    assert [line.split("  ")[-1] for line in shown] == [PASSAGES[0]["text"], PASSAGES[3]["text"]]
    as_csv = run("list", *index, "--csv", "-n", "1")
    assert as_csv.stdout.splitlines()[0] == "id,text,kappa,emotion,emotions,chapter"
    assert run("count", *index, "--where", "chapter < 6").stdout.strip() == "2"
    deleted = run("delete", "cell", "gone", *index, "--json")
    assert json.loads(deleted.stdout) == {"removed": ["cell"], "missing": ["gone"], "documents": 3}
    exported = run("export", tmp_path / "out.parquet", *index, "--vectors")
    assert exported.exit_code == 0 and exported.stderr.strip() == f"wrote 3 documents to {tmp_path / 'out.parquet'}"
    compacted = run("compact", *index, "--json")
    assert json.loads(compacted.stdout)["after"] == {"segments": 1, "deleted": 0}
    checked = run("check", *index)
    assert checked.exit_code == 0 and "every file matches its checksum" in checked.stdout


def test_a_book_file_and_a_book_on_stdin_are_indexed_searched_listed_and_drawn_by_chapter(tmp_path):
    book = ("MY YEAR\n\nChapter 1. Winter\n\nI sat alone in the cold flat, overcome with grief; I missed her every "
            "hour.\n\nChapter 2. Spring\n\nThe day the letter came I laughed and danced with joy in the kitchen.\n")
    (tmp_path / "memoir.txt").write_text(book, encoding="utf-8")
    index = ["--index", tmp_path / "idx"]
    built = run("index", tmp_path / "memoir.txt", *index, "--json")
    assert built.exit_code == 0, built.stderr
    assert json.loads(built.stdout)["added"] == 3
    first = json.loads(run("search", "grieving and lonely", *index, "-k", "1", "--json").stdout)
    assert first["id"] == "memoir.txt#2" and first["metadata"]["chapter_title"] == "Chapter 1. Winter"
    assert book[first["metadata"]["start"]:first["metadata"]["end"]] == first["text"]
    chapters = json.loads(run("arc", *index, "--by", "chapter", "--json").stdout)["points"]
    assert [(p["chapter"], p["documents"]) for p in chapters] == [(0, 1), (1, 1), (2, 1)]
    assert chapters[1]["sadness"] > 0.3 and chapters[2]["joy"] > 0.3
    stdin = CliRunner().invoke(main, ["index", "-", "--format", "md", *map(str, index), "--json"],
                               input="# Notes\n\n## Monday\n\nA calm, ordinary day.\n\n## Tuesday\n\nA storm.\n")
    assert stdin.exit_code == 0, stdin.stderr
    shelf = [json.loads(line) for line in run("books", *index, "--json").stdout.splitlines()]
    assert [(b["source"], b["passages"], b["chapters"]) for b in shelf] == [("memoir.txt", 3, 2), ("stdin", 3, 2)]
