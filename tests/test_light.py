"""The light query path (NumPy; no torch, no transformers) gives what the full query path gives."""
import json

import numpy as np
import pytest

from hyperamy.encoder.light import LightQueryEncoder, gelu
from hyperamy.errors import InputError

pytestmark = pytest.mark.model

CASES = [("Why does Villefort fear the letter addressed to Noirtier?", None),
         ("I can't believe they cancelled it, I'm furious", "furious"),
         ("Café naïve, 東京 and an emoji 😀 in one line", None),
         ("ok", None),
         ("the long one " * 120, None)]


@pytest.fixture(scope="module")
def pair(shipped_encoder):
    from hyperamy.encoder.joint import SharedTrunkEncoder

    full = SharedTrunkEncoder.from_backbone(shipped_encoder)
    full.query_layers("float32")
    return LightQueryEncoder.load(), full


def test_light_path_equals_the_full_query_path_in_float32(pair):
    light, full = pair
    assert light.model_id == full.model_id and light.query_precision == "float32"
    for text, span in CASES:
        a, b = light.encode_query(text, span), full.encode_query(text, span)
        assert a.semantic.shape == (1, 384) and a.semantic.dtype == np.float32
        assert np.abs(a.semantic - b.semantic).max() < 1e-5
        assert np.abs(a.emotion.mu - b.emotion.mu).max() < 1e-5
        assert a.emotion.kappa[0] == pytest.approx(b.emotion.kappa[0], rel=1e-5)
        assert np.abs(a.emotion.probs - b.emotion.probs).max() < 1e-5
        assert a.truncated == b.truncated
    assert light.encode_query(*CASES[-1]).truncated == 1


def test_gelu_is_the_exact_erf_gelu_to_float32_precision():
    import torch

    x = np.linspace(-12, 12, 100_001, dtype=np.float32)
    exact = torch.nn.functional.gelu(torch.from_numpy(x).double()).numpy()
    got = gelu(x)
    assert got.dtype == np.float32
    assert np.abs(got - exact).max() < 1e-6


def test_tokens_and_offsets_match_the_transformers_tokenizer(pair, shipped_encoder):
    light, _ = pair
    for text, _ in CASES:
        theirs = shipped_encoder.tokenizer(text, truncation=True, max_length=256, return_offsets_mapping=True)
        ours = light.tokenizer.encode(text)
        assert ours.ids == theirs["input_ids"]
        assert [tuple(o) for o in ours.offsets] == [tuple(o) for o in theirs["offset_mapping"]]


def test_bad_queries_and_spans_are_named(pair):
    light, _ = pair
    with pytest.raises(InputError, match="text 0 is empty"):
        light.encode_query("   ")
    with pytest.raises(InputError, match="span 'Danglars' does not occur"):
        light.encode_query("Villefort trembled", "Danglars")
    with pytest.raises(InputError, match="span 'end' .* covers no token within the first 256 tokens"):
        light.encode_query("word " * 300 + "end", "end")


def test_other_backbones_use_the_full_path(tmp_path):
    backbone = tmp_path / "roberta"
    backbone.mkdir()
    (backbone / "config.json").write_text(json.dumps({"model_type": "roberta", "hidden_act": "gelu"}))
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "config.json").write_text(json.dumps({"format_version": 1, "encoder": {"backbone": str(backbone)}}))
    assert LightQueryEncoder.load(weights) is None
