import numpy as np
import pytest

from hyperamy.rerank import certainty, fuse, ranks, relevance
from hyperamy.vectors import VectorIndex


def unit(rng, n, d):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_vector_search_matches_numpy_brute_force(kind, tmp_path):
    rng = np.random.default_rng(7)
    data, query = unit(rng, 500, 16), unit(rng, 1, 16)[0]
    ids = np.arange(1000, 1500)
    index = VectorIndex(16, kind)
    index.add(ids, data)
    expected = ids[np.argsort(-(data @ query))[:10]]
    assert index.search(query, 10)[1].tolist() == expected.tolist()
    allowed = ids[::3]
    sub = np.argsort(-(data[::3] @ query))[:5]
    assert index.search(query, 5, allowed=allowed)[1].tolist() == allowed[sub].tolist()
    index.remove(expected[:2])
    assert index.search(query, 8)[1].tolist() == expected[2:10].tolist()
    index.save(tmp_path, "v")
    loaded = VectorIndex.load(tmp_path, "v", kind)
    assert loaded.search(query, 8)[1].tolist() == expected[2:10].tolist()
    assert np.allclose(loaded.vectors(np.array([1003, 1004])), data[3:5])


def test_ranks_and_relevance():
    assert ranks(np.array([0.1, 0.9, 0.5])).tolist() == [3, 1, 2]
    score = relevance(np.array([0.9, 0.5]), np.array([3.0, 0.0]), k=60)
    assert score[0] == pytest.approx(1.0)  # first in both legs
    assert score[1] == pytest.approx((1 / 62) / (2 / 61))  # second by meaning, no keyword match


def test_certainty_and_emotion_weight_follow_the_query_kappa():
    assert certainty(np.array([1.0, 26.0, 80.0]), 50.0).tolist() == [0.0, 0.5, 1.0]
    semantic, lexical, emotion = np.array([0.9, 0.8]), np.array([2.0, 1.0]), np.array([-0.5, 0.9])
    neutral, weight = fuse("hybrid", semantic, lexical, emotion, 0.0, 60, 0.25)
    assert weight == 0.0 and neutral.argmax() == 0
    felt, weight = fuse("hybrid", semantic, lexical, emotion, 1.0, 60, 0.25)
    assert weight == 0.25 and felt.argmax() == 1
