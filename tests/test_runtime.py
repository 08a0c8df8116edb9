"""Queries through ONNX Runtime: the same numbers as the torch encoder, a graph built once."""
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

    return OnnxQueryEncoder.load()


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
