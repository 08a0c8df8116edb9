"""Every command and Python block of README.md runs as written, on the shipped data, in a fresh folder."""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

# What each README command must print (a regex searched in stdout), by the command's start.
EXPECTED = {
    "hyperamy index data/books": r"indexes/book: 492 added, 0 updated, 0 unchanged; 492 documents",
    "hyperamy search \"someone terrified of the magistrate": r"^  1\. monte_cristo_1-12\.txt#\d+ .*\(fear",
    "hyperamy arc --by chapter": r"^492 documents by chapter, each point the mean of the documents of one chapter .*\n  chapter 0 +8 documents(.*\n)*  chapter 12 +\d+ documents",
    "hyperamy books": r"^book +passages +chapters.*\nmonte_cristo_1-12\.txt +492 +12 ",
    "hyperamy index ": r"indexes/default: 10000 added, 0 updated, 0 unchanged; 10000 documents",
    "hyperamy search \"a prisoner": r"^  1\. chunk_\d+  score [\d.]+  kappa [\d.]+ .*\n.*\n     score [\d.]+ = meaning",
    "hyperamy search \"a betrayal": r"^\{\"rank\": 1, \"id\": \"chunk_\d+\"",
    "hyperamy search \"the harbour": r"^  1\. chunk_\d+",
    "hyperamy search \"someone terrified": r"fear",
    "hyperamy list": r"^chunk_\d+  kappa [\d.]+ \(grief",
    "hyperamy count": r"^\d+\n$",
    "hyperamy get": r"^\{\"id\": \"chunk_4200\"",
    "hyperamy info": r"documents  10000",
    "hyperamy arc --window": r"^10,000 documents in index order, each point the mean of 200 documents around it \(intensity 0-1\):\n  document       0  chunk_0 ",
    "hyperamy entities": r"^entity +mentions +documents +felt most.*\n(.*\n)*Dantès +\d",
    "hyperamy entity Villefort": r"^Villefort: \d+ mentions in \d+ documents",
    "hyperamy search \"Villefort afraid": r"^  1\. chunk_\d+.*\n.*\n     Villefort here \('",
    "hyperamy arc --entity": r"^\d+ mentions of Mercédès in index order, each point the mean of 20 mentions around it \(intensity 0-1\):",
    "hyperamy check": r"every file matches its checksum",
    "hyperamy predict \"Villefort": r"\"span\": \"Villefort\"",
    "hyperamy predict \"I am": r"strength 0\.[89]\d.*\n  anger ",
    "head -n 500": r"^500$",
    "hyperamy search \"a quarrel": r"^  1\. chunk_\d+",
    "hyperamy eval": r"macro-F1",
    "hyperamy serve": r"^\{\"query\": \"a prisoner in despair\", \"mode\": \"hybrid\", \"warning\": null, \"hits\": \[\{\"rank\": 1",
}


def blocks(kind):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"```{kind}\n(.*?)```", text, flags=re.S)


def commands():
    found = []
    for block in blocks("bash"):
        if "pip install" in block:  # the set-up block: CI runs it (.ci/run)
            continue
        found += [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    return found


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    base = tmp_path_factory.mktemp("readme")
    (base / "project").mkdir()
    (base / "shared").symlink_to(SHARED)
    (base / "project" / "data").symlink_to(ROOT / "data")  # the shipped book
    return base / "project"


def run(command, folder, python=False):
    argv = [sys.executable, "-c", command] if python else ["bash", "-c", command]
    return subprocess.run(argv, cwd=folder, env=environment(folder), capture_output=True, text=True, timeout=900)


def serve(command, folder):
    """Start the README's server, ask it one search, stop it; its answer stands in for stdout."""
    import httpx

    process = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=folder, env=environment(folder),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 180
        while time.time() < deadline and process.poll() is None:
            try:
                answer = httpx.get("http://127.0.0.1:8000/search", params={"q": "a prisoner in despair"}, timeout=30)
                return subprocess.CompletedProcess(command, 0, answer.text, "")
            except httpx.HTTPError:
                time.sleep(0.5)
        return subprocess.CompletedProcess(command, 1, "", process.communicate(timeout=30)[1])
    finally:
        process.terminate()
        process.wait(timeout=30)


def python_lines(block, folder):
    result = run(block, folder, python=True)
    assert result.returncode == 0, f"{block}\n{result.stderr[-3000:]}"
    return result.stdout.splitlines()


def environment(folder):
    """The test session's environment: its cache (conftest.py: the ONNX query graph other tests
    built already, ~14 s a build; eval reports), no default index."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("HYPERAMY_INDEX", None)
    return env


def shipped_model_beats_its_baselines(printed):
    """`hyperamy eval`'s printed figures: the shipped weights beat each baseline it prints beside them."""
    def figure(pattern):
        return float(re.search(pattern, printed).group(1))

    assert re.search(r"^GoEmotions test \(n=5427\):", printed, flags=re.M)
    assert re.search(r"^Entity targets, held out \(n=360\):", printed, flags=re.M)
    assert figure(r"macro-F1 ([\d.]+)   micro") > 0.44 and figure(r"largest label share Spearman ([\d.]+)") > 0.40
    assert figure(r"  top-1 accuracy ([\d.]+)   top-3") > figure(r"majority 'neutral' baseline ([\d.]+)") + 0.2
    assert figure(r"4-group accuracy ([\d.]+)") > figure(r"4-group accuracy [\d.]+ \(majority ([\d.]+)") + 0.2
    assert figure(r"Ekman accuracy ([\d.]+)") > figure(r"Ekman accuracy [\d.]+ \(majority ([\d.]+)") + 0.2
    # the entity labels are 87% neutral: reading characters as feeling something costs a little top-1
    # against always-neutral and is what the non-neutral macro-F1 (0 for always-neutral) rewards
    entity_top1 = r"held out \(n=\d+\):\n  top-1 accuracy ([\d.]+)"
    assert figure(entity_top1) >= figure(entity_top1 + r" \(majority baseline ([\d.]+)") - 0.03
    assert figure(r"macro-F1 over non-neutral targets ([\d.]+)") > 0.12


def test_every_readme_command_and_python_block_runs(folder):
    listed = commands()
    starts = [next((start for start in EXPECTED if command.startswith(start)), command) for command in listed]
    assert sorted(starts) == sorted(EXPECTED)  # each README command has its expectation, once
    for command in listed:
        result = serve(command, folder) if command.startswith("hyperamy serve") else run(command, folder)
        assert result.returncode == 0, f"{command}\n{result.stderr[-2000:]}"
        expected = next(pattern for start, pattern in EXPECTED.items() if command.startswith(start))
        assert re.search(expected, result.stdout, flags=re.M), f"{command}\n{result.stdout[:2000]}"
        if command.startswith("hyperamy eval"):
            shipped_model_beats_its_baselines(result.stdout)
        if "--json" in command and command.startswith("hyperamy search"):
            assert len([json.loads(line) for line in result.stdout.splitlines()]) == 5
    first, frames, langchain, llamaindex, mcp = blocks("python")
    lines = python_lines(first, folder)
    assert len(lines) == 6 and lines[0].startswith("note-1 ")
    assert re.fullmatch(r"10001 1 \[('\w+'(, )?)+\]", lines[3])
    assert lines[4].startswith("(2, 64) [") and lines[4].endswith("(2, 28)")
    assert re.fullmatch(r"\[0\.\d+ +0\.\d+\] \(2, 28\)", lines[5])
    lines = python_lines(frames, folder)  # three tables: hits, the arc by chapter, the two reviews
    assert lines[0].split() == ["id", "score", "emotion", "intensity_fear", "chapter"] and len(lines) == 4 + 6 + 3
    assert lines[4].split() == ["documents", "fear", "joy"] and lines[6].split()[:2] == ["0", "8"]
    assert lines[-2].split()[:2] == ["0", "r1"] and lines[-2].split()[-1] == "1"
    assert lines[-1].split()[:3] == ["1", "r2", "gratitude"] and lines[-1].split()[-1] == "5"
    lines = python_lines(langchain, folder)
    assert len(lines) == 3 and all(re.match(r"monte_cristo_1-12\.txt#\d+ (\d+) ", line) for line in lines)
    assert all(int(line.split()[1]) >= 5 for line in lines)
    lines = python_lines(llamaindex, folder)
    assert len(lines) == 3 and all(int(line.split()[1]) <= 3 for line in lines)
    lines = python_lines(mcp, folder)
    assert lines[0] == str(sorted(["add", "arc", "delete", "entities", "entity", "info", "predict", "search"]))
    assert re.fullmatch(r"\['monte_cristo_1-12\.txt#\d+', 'monte_cristo_1-12\.txt#\d+'\]", lines[1])
    assert run("hyperamy count", folder).stdout.strip() == "10000"
    assert (folder / "villefort.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    listed = [json.loads(line) for line in run("hyperamy entities -n 30 --json", folder).stdout.splitlines()]
    assert {"Dantès", "Villefort", "Mercédès", "Danglars", "Fernand"} <= {e["name"] for e in listed}
