"""Queries through ONNX Runtime: the float32 graph gives the torch encoder's numbers, the int8 one
(opt-in) reads close to it, and each graph is built once."""
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.model

TEXTS = [("I can't believe they cancelled it, I'm furious", None),
         ("Villefort turned pale, while Albert laughed.", "Albert"),
         ("word " * 400 + "and at the very end a joyful ending", None),  # cut at the token window
         ("ok", None)]


@pytest.fixture(scope="module")
def runtime():
    from hyperamy.encoder.runtime import OnnxQueryEncoder

    return OnnxQueryEncoder.load(precision="float32")


@pytest.fixture(scope="module")
def torch_encoder():
    from hyperamy.encoder.joint import SharedTrunkEncoder

    return SharedTrunkEncoder.load(precision="float32")  # the graph is float32: compared like for like


@pytest.mark.parametrize("text, span", TEXTS)
def test_the_runtime_gives_what_torch_gives(runtime, torch_encoder, text, span):
    ours = runtime.encode_query(text, span)
    theirs = torch_encoder.encode([text], [span])
    assert float(ours.semantic[0] @ theirs.semantic[0]) >= 0.9999
    assert float(ours.emotion.mu[0] @ theirs.emotion.mu[0]) >= 0.9999
    assert ours.emotion.kappa[0] == pytest.approx(theirs.emotion.kappa[0], rel=1e-4)
    assert np.abs(ours.emotion.probs - theirs.emotion.probs).max() < 1e-4
    assert ours.emotion.strength[0] == pytest.approx(theirs.emotion.strength[0], abs=1e-4)
    assert ours.truncated == theirs.truncated and ours.semantic.dtype == np.float32


FELT = ["I can't believe they cancelled it, I'm furious", "Thank you so much, this made my day!",
        "I miss her every single day since she died", "That spider in the bath terrified me",
        "Wow, I never expected that to happen!", "The meeting is at 3 pm in room 4."]


def test_the_int8_graph_on_request_reads_what_float32_reads(runtime, monkeypatch):
    from hyperamy.encoder.graph import GRAPH_FILE, QUERY_GRAPH_FILE
    from hyperamy.encoder.runtime import OnnxQueryEncoder
    from hyperamy.errors import InputError

    monkeypatch.delenv("HYPERAMY_QUERY_PRECISION", raising=False)
    assert OnnxQueryEncoder.load().precision == "float32"  # the default
    monkeypatch.setenv("HYPERAMY_QUERY_PRECISION", "int8")
    int8 = OnnxQueryEncoder.load()
    assert int8.precision == "int8" and runtime.precision == "float32"
    assert int8.graph.name == QUERY_GRAPH_FILE and runtime.graph.name == GRAPH_FILE
    for text in FELT:
        ours, full = int8.encode_query(text), runtime.encode_query(text)
        assert float(ours.semantic[0] @ full.semantic[0]) > 0.97, text
        assert float(ours.emotion.mu[0] @ full.emotion.mu[0]) > 0.97, text
        assert ours.emotion.top(0, 1)[0][0] == full.emotion.top(0, 1)[0][0], text
    assert [int8.encode_query(t).emotion.top(0, 1)[0][0] for t in FELT] == [
        "anger", "gratitude", "sadness", "fear", "surprise", "neutral"]
    graphs = {p.name: p.stat().st_size for p in int8.graph.parent.iterdir()}
    assert graphs[QUERY_GRAPH_FILE] < graphs[GRAPH_FILE + ".data"] / 3  # int8 weights: about a quarter
    assert OnnxQueryEncoder.load(precision="float32").precision == "float32"  # predict's, whatever the setting
    monkeypatch.setenv("HYPERAMY_QUERY_PRECISION", "float16")
    with pytest.raises(InputError, match="HYPERAMY_QUERY_PRECISION must be one of float32, int8, not 'float16'"):
        OnnxQueryEncoder.load()


def test_an_int8_graph_that_cannot_be_made_leaves_queries_in_float32(monkeypatch, caplog):
    from hyperamy.encoder import runtime as module
    from hyperamy.errors import ExportError

    def fails(weights, model):
        raise ExportError("could not quantize the query graph x: ValueError: no")

    monkeypatch.setattr(module, "ensure_query_graph", fails)
    monkeypatch.setenv("HYPERAMY_QUERY_PRECISION", "int8")
    loaded = module.OnnxQueryEncoder.load()
    assert loaded.precision == "float32" and loaded.graph.name == "encoder.onnx"
    assert "could not quantize the query graph x: ValueError: no; queries run the float32 graph instead" in caplog.text
    assert loaded.encode_query("I am so happy").emotion.top(0, 1)[0][0] == "joy"


def test_a_damaged_cached_graph_is_named_and_searches_go_on_with_torch(tmp_path, monkeypatch, caplog):
    import re
    import shutil

    from hyperamy import HyperAmy
    from hyperamy.encoder.graph import QUERY_GRAPH_FILE, ensure_query_graph, graph_folder
    from hyperamy.encoder.runtime import OnnxQueryEncoder
    from hyperamy.encoder.weights import model_id
    from hyperamy.errors import ExportError

    source = ensure_query_graph(None, model_id()).parent  # the session's cache: copied, then damaged
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    copy = graph_folder(model_id())
    shutil.copytree(source, copy)
    (copy / QUERY_GRAPH_FILE).write_bytes(b"not a graph")
    monkeypatch.setenv("HYPERAMY_QUERY_PRECISION", "int8")
    with pytest.raises(ExportError, match=re.escape(f"the cached query graph {copy / QUERY_GRAPH_FILE} cannot be "
                                                    f"loaded (InvalidProtobuf); delete {copy} and it is built "
                                                    "again on first use")):
        OnnxQueryEncoder.load()
    engine = HyperAmy.open(tmp_path / "idx", create=True)
    engine.add([{"id": "a", "text": "The sailor wept with joy."}])
    assert [h.id for h in engine.search("a joyful sailor", k=1)] == ["a"]  # torch encoded the query
    assert "queries are encoded by the torch encoder instead" in caplog.text


def test_a_search_process_imports_neither_torch_nor_transformers(runtime, tmp_path):
    from hyperamy import HyperAmy

    HyperAmy.open(tmp_path / "idx", create=True).add([{"id": "a", "text": "The sailor wept with joy."}])
    code = ("import sys; from hyperamy import HyperAmy; "
            f"hit = HyperAmy.open({str(tmp_path / 'idx')!r}).search('a joyful sailor', k=1)[0]; "
            "print(hit.id, 'torch' in sys.modules, 'transformers' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["a", "False", "False"], done.stderr[-2000:]


def test_two_processes_build_one_graph_once(tmp_path):
    code = ("from hyperamy.encoder.runtime import OnnxQueryEncoder; "
            "print(OnnxQueryEncoder.load().encode_query('I am so happy').emotion.top(0, 1)[0][0])")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    runs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert [out.strip() for out, _ in outputs] == ["joy", "joy"]
    assert sum("building the encoder's ONNX graph once" in err for _, err in outputs) == 1
    cache = tmp_path / "hyperamy" / "graphs"
    (graph,) = cache.glob("*/encoder.onnx")
    assert (graph.parent / "encoder.onnx.data").stat().st_size > 50 * 2**20  # the weights, beside the graph
    assert not list(cache.glob(".*"))  # no half-built folder left


def test_two_processes_share_one_int8_graph(tmp_path):
    code = ("from hyperamy.encoder.runtime import OnnxQueryEncoder; "
            "print(OnnxQueryEncoder.load().encode_query('I am so happy').emotion.top(0, 1)[0][0])")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "HYPERAMY_QUERY_PRECISION": "int8"}
    runs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert [out.strip() for out, _ in outputs] == ["joy", "joy"]
    assert not any("pre-processing" in err for _, err in outputs)  # the quantizer's advice is not the user's
    assert sum("quantizing the query graph to int8 once" in err for _, err in outputs) == 1
    (folder,) = (tmp_path / "hyperamy" / "graphs").glob("*-v*[0-9]")
    assert sorted(p.name for p in folder.iterdir()) == ["encoder.int8.onnx", "encoder.onnx", "encoder.onnx.data"]
