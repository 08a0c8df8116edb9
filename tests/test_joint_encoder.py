"""The shared-trunk encoder gives, in float32, exactly sentence-transformers' vectors and the
encoder's emotions; in bfloat16 (where the CPU computes it natively) the same to a cosine of 0.9999."""
import numpy as np
import pytest

pytestmark = pytest.mark.model

TEXTS = ["The count smiled coldly at his old enemy.", "Mercedes wept alone in her room, thinking of Edmond.", "ok"]


@pytest.fixture(scope="module")
def joint(shipped_encoder):
    from hyperamy.encoder.joint import SharedTrunkEncoder

    return SharedTrunkEncoder.from_backbone(shipped_encoder, precision="float32")


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


def test_bfloat16_documents_read_as_float32_ones(joint, shipped_encoder):
    from hyperamy.encoder.joint import SharedTrunkEncoder

    half = SharedTrunkEncoder.from_backbone(shipped_encoder, precision="bfloat16")
    assert half.precision == "bfloat16" and joint.precision == "float32"
    full, reduced = joint.encode(TEXTS), half.encode(TEXTS)
    cosine = lambda a, b: np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)  # noqa: E731
    assert cosine(full.semantic, reduced.semantic).min() > 0.9999
    assert cosine(full.emotion.mu, reduced.emotion.mu).min() > 0.9999
    # near-ties may swap (the top label agreed for 99.9% of 10,000 passages, document_precision.py)
    assert np.abs(full.emotion.probs - reduced.emotion.probs).max() < 0.02
    assert reduced.semantic.dtype == np.float32 and reduced.emotion.kappa.dtype == np.float32


def test_the_precision_is_the_cpus_unless_asked(monkeypatch):
    from hyperamy.encoder.precision import _native_bfloat16, document_precision
    from hyperamy.errors import InputError

    monkeypatch.delenv("HYPERAMY_PRECISION", raising=False)
    assert document_precision() == ("bfloat16" if _native_bfloat16() else "float32")
    monkeypatch.setenv("HYPERAMY_PRECISION", "float32")
    assert document_precision() == "float32" and document_precision("bfloat16") == "bfloat16"
    monkeypatch.setenv("HYPERAMY_PRECISION", "fp8")
    with pytest.raises(InputError, match="HYPERAMY_PRECISION must be one of auto, bfloat16, float32, not 'fp8'"):
        document_precision()
