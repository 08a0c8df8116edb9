"""The shared-trunk encoder gives exactly sentence-transformers' vectors and the encoder's emotions."""
import numpy as np
import pytest

pytestmark = pytest.mark.model

TEXTS = ["The count smiled coldly at his old enemy.", "Mercedes wept alone in her room, thinking of Edmond.", "ok"]


@pytest.fixture(scope="module")
def joint(shipped_encoder):
    from hyperamy.encoder.joint import SharedTrunkEncoder

    return SharedTrunkEncoder.from_backbone(shipped_encoder)


def test_semantic_vectors_equal_sentence_transformers(joint):
    from sentence_transformers import SentenceTransformer

    from hyperamy.encoder.weights import resolve_backbone

    plain = SentenceTransformer(str(resolve_backbone("all-MiniLM-L6-v2")), device="cpu")
    expected = plain.encode(TEXTS, normalize_embeddings=True)
    assert np.abs(joint.encode(TEXTS).semantic - expected).max() < 1e-5


def test_emotions_equal_the_standalone_encoder(joint, shipped_encoder):
    together, alone = joint.encode(TEXTS).emotion, shipped_encoder.encode(TEXTS)
    assert np.allclose(together.mu, alone.mu, atol=1e-6) and np.allclose(together.kappa, alone.kappa, rtol=1e-6)
    assert np.allclose(together.probs, alone.probs, atol=1e-6)


def test_texts_past_the_window_are_counted(joint):
    long_text = "word " * 400
    assert joint.encode([long_text, "short", "é" * 100]).truncated == 1
