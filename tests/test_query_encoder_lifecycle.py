"""Issue #29, items 9 and 11, with the real shipped model: the query encoder is loaded once, a
failed ONNX export falls back to torch, a search process that fails early exits cleanly."""
from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from hyperamy import HyperAmy

pytestmark = pytest.mark.model

PASSAGES = [{"id": "cell", "text": "Dantes sat alone in his dark cell, overcome with despair, and wished to die."},
            {"id": "feast", "text": "The marriage feast was full of laughter, music and joyful toasts to the couple."}]


@pytest.fixture(scope="module")
def index(tmp_path_factory, shipped_encoder):
    from hyperamy.encoder.joint import SharedTrunkEncoder

    folder = tmp_path_factory.mktemp("queries") / "idx"
    HyperAmy.open(folder, create=True, encoder=SharedTrunkEncoder.from_backbone(shipped_encoder)).add(PASSAGES)
    return folder


def test_9_concurrent_first_searches_load_the_query_encoder_once(index, monkeypatch):
    from hyperamy.encoder import runtime

    loads, real = [], runtime.OnnxQueryEncoder.load.__func__

    def counted(cls, *args, **kwargs):  # the real load, counted
        loads.append(threading.current_thread().name)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(runtime.OnnxQueryEncoder, "load", classmethod(counted))
    engine = HyperAmy.open(index)
    found = []
    threads = [threading.Thread(target=lambda: found.append(engine.search("despair in a cell", k=1)[0].id))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == ["cell"] * 4 and len(loads) == 1


def test_9_a_model_whose_onnx_export_fails_searches_with_torch(index, monkeypatch, caplog):
    from hyperamy.encoder import runtime
    from hyperamy.errors import ExportError

    def export_fails(cls, *args, **kwargs):  # what graph.export raises when torch cannot export a model
        raise ExportError("could not export the encoder of a custom backbone to ONNX: UnsupportedOp")

    monkeypatch.setattr(runtime.OnnxQueryEncoder, "load", classmethod(export_fails))
    engine = HyperAmy.open(index)
    assert engine.search("despair in a cell", k=1)[0].id == "cell"
    assert type(engine.query_encoder).__name__ == "SharedTrunkEncoder"
    assert "queries are encoded by the torch encoder instead" in caplog.text


def test_9_a_killed_graph_build_leaves_no_temporary_folder(tmp_path, monkeypatch):
    from hyperamy.encoder.graph import ensure_graph, graph_folder

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = graph_folder("all-MiniLM-L6-v2+test")
    folder.parent.mkdir(parents=True)
    stale = folder.parent / f".{folder.name}.killed"  # what a build killed mid-export leaves
    stale.mkdir()
    (stale / "encoder.onnx.data").write_bytes(b"\0" * 1024)
    assert ensure_graph(None, "all-MiniLM-L6-v2+test").is_file()
    assert not stale.exists() and sorted(p.name for p in folder.parent.iterdir() if p.is_dir()) == [folder.name]


@pytest.mark.parametrize("args, message", [
    (["--emotion", "feer"], "unknown emotion 'feer'"),
    (["--where", "nosuch > 1"], "--where 'nosuch > 1'"),
])
def test_11_a_search_that_fails_while_the_encoder_loads_exits_cleanly(index, args, message):
    """The query encoder loads in a thread while the index opens; a search that fails before it
    is needed used to end the process while ONNX Runtime was loading (exit 134, "terminate called
    without an active exception", 3 of 15 runs). Five runs each, every one exit 2 and one line."""
    for _ in range(5):
        result = subprocess.run([sys.executable, "-m", "hyperamy", "search", "despair", "--index", str(index),
                                 *args], capture_output=True, text=True, timeout=300)
        assert result.returncode == 2, (result.returncode, result.stderr[-500:])
        assert message in result.stderr and "terminate called" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_11_a_search_process_still_answers(index):
    result = subprocess.run([sys.executable, "-m", "hyperamy", "search", "despair in a cell", "--index", str(index),
                             "--json", "-k", "1"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and json.loads(result.stdout)["id"] == "cell"
