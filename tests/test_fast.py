"""The query path (packed layers, fast.py) gives what the batch path gives."""
import numpy as np
import pytest
import torch

from hyperamy.encoder.fast import query_layers, query_precision
from hyperamy.errors import InputError

pytestmark = pytest.mark.model

QUERIES = ["Why does Villefort fear the letter addressed to Noirtier?", "I can't believe they cancelled it, I'm furious",
           "ok"]
NATIVE_BF16 = torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()


def joint_encoder(shipped_encoder, precision, monkeypatch):
    from hyperamy.encoder.joint import SharedTrunkEncoder

    monkeypatch.setenv("HYPERAMY_QUERY_PRECISION", precision)
    return SharedTrunkEncoder.from_backbone(shipped_encoder)


@pytest.mark.parametrize("precision, cosine, kappa_rtol, prob_atol", [
    ("float32", 0.999999, 1e-4, 1e-5),
    pytest.param("bfloat16", 0.9999, 0.02, 0.02, marks=pytest.mark.skipif(
        not NATIVE_BF16, reason="this CPU has no native bfloat16 products (AMX or AVX-512 BF16)")),
])
def test_query_path_matches_the_batch_path(shipped_encoder, monkeypatch, precision, cosine, kappa_rtol, prob_atol):
    joint = joint_encoder(shipped_encoder, precision, monkeypatch)
    spans = [None, "furious", None]
    batch = joint.encode(QUERIES, spans=spans)
    for i, (text, span) in enumerate(zip(QUERIES, spans)):
        one = joint.encode_query(text, span)
        assert one.semantic.shape == (1, 384) and one.semantic.dtype == np.float32
        assert float(one.semantic[0] @ batch.semantic[i]) >= cosine
        assert float(one.emotion.mu[0] @ batch.emotion.mu[i]) >= cosine
        assert one.emotion.kappa[0] == pytest.approx(batch.emotion.kappa[i], rel=kappa_rtol)
        assert np.abs(one.emotion.probs[0] - batch.emotion.probs[i]).max() <= prob_atol
        assert one.emotion.probs[0].argmax() == batch.emotion.probs[i].argmax()
    assert all(type(layer).__name__ == "QueryLayer" for group in joint.query_layers() for layer in group)


def test_query_layer_is_the_library_block_in_float32(backbone):
    _, model = backbone
    layers = model.encoder.layer[:2]
    fast = query_layers(layers, model.config, "float32")
    hidden = torch.randn(1, 17, model.config.hidden_size, generator=torch.Generator().manual_seed(3))
    mask = torch.ones(1, 17, dtype=torch.long)
    with torch.inference_mode():
        from hyperamy.encoder.model import Trunk

        trunk = Trunk(model, 0)
        want, got = trunk.run_layers(hidden, mask, layers), trunk.run_layers(hidden, mask, fast)
    assert torch.allclose(got, want, atol=1e-5)


def test_blocks_of_another_shape_keep_the_plain_layers(backbone):
    _, model = backbone
    other = type(model.config).from_dict({**model.config.to_dict(), "hidden_act": "gelu_new"})
    layers = model.encoder.layer[:1]
    assert query_layers(layers, other, "float32") is layers


def test_precision_setting(monkeypatch):
    monkeypatch.setenv("HYPERAMY_QUERY_PRECISION", "float32")
    assert query_precision() == "float32"
    monkeypatch.setenv("HYPERAMY_QUERY_PRECISION", "fp8")
    with pytest.raises(InputError, match="HYPERAMY_QUERY_PRECISION must be one of auto, bfloat16, float32"):
        query_precision()
    monkeypatch.delenv("HYPERAMY_QUERY_PRECISION")
    assert query_precision() == ("bfloat16" if NATIVE_BF16 else "float32")
