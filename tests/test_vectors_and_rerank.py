import numpy as np
import pytest

from hyperamy.rerank import certainty, emotion_similarity, fuse, relevance, rescale
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


def test_relevance_is_a_convex_mix_of_rescaled_scores():
    assert rescale(np.array([2.0, 4.0, 3.0])).tolist() == [0.0, 1.0, 0.5]
    assert rescale(np.array([0.0, 0.0])).tolist() == [0.0, 0.0]  # no keyword matched: no keyword share
    score = relevance(np.array([0.9, 0.5, 0.7]), np.array([3.0, 0.0, 0.0]), semantic_share=0.5)
    assert score.tolist() == pytest.approx([1.0, 0.0, 0.25])
    assert relevance(np.array([0.9, 0.5]), np.array([0.0, 3.0]), semantic_share=0.75).tolist() == [0.75, 0.25]


def test_emotion_similarity_is_label_overlap_times_document_certainty():
    query = np.zeros(28)
    query[[0, 1]] = 0.5  # half admiration, half amusement
    docs = np.zeros((3, 28))
    docs[0, [0, 1]] = 0.5  # feels the same
    docs[1, 2] = 1.0  # feels something else
    docs[2, [0, 1]] = 0.5  # feels the same, but vaguely
    similarity = emotion_similarity(query, docs, np.array([51.0, 51.0, 26.0]), alpha=50.0)
    assert similarity.tolist() == pytest.approx([1.0, 0.0, 0.5])


def test_certainty_and_emotion_weight_follow_the_query_kappa():
    assert certainty(np.array([1.0, 26.0, 80.0]), 50.0).tolist() == [0.0, 0.5, 1.0]
    semantic, lexical, emotion = np.array([0.9, 0.8]), np.array([2.0, 1.0]), np.array([0.0, 0.9])
    neutral, weight = fuse("hybrid", semantic, lexical, emotion, 0.0, 0.5, 0.25)
    assert weight == 0.0 and neutral.tolist() == [1.0, 0.0]
    felt, weight = fuse("hybrid", semantic, lexical, emotion, 1.0, 0.5, 2.0)
    assert weight == 2.0 and felt.argmax() == 1


def test_keyword_index_scores_and_keeps_bm25s_quiet(tmp_path):
    import logging

    from hyperamy.lexical import KeywordIndex

    keyword = KeywordIndex.build([(np.array([3, 8]), ["the prisoner in his cell", "a ball at the count's house"])])
    assert logging.getLogger("bm25s").level == logging.NOTSET  # bm25s sets DEBUG on import: a line per build
    scores = keyword.score_all("prisoner cell")
    assert keyword.top(scores, 5)[1].tolist() == [3] and scores[1] == 0.0
    keyword.save(tmp_path / "kw")
    assert KeywordIndex.load(tmp_path / "kw").score_all("prisoner cell").tolist() == scores.tolist()


def test_keyword_scores_are_bm25s_own_and_its_files_stay_readable_by_it(tmp_path):
    import bm25s

    from hyperamy.lexical import KeywordIndex, words

    texts = ["the prisoner in his cell, the cell of the prisoner", "a ball at the count's house",
             "the count in the cell", "nothing here matches"]
    keyword = KeywordIndex.build([(np.arange(4) * 2, texts)])
    keyword.save(tmp_path / "kw")
    theirs = bm25s.BM25.load(str(tmp_path / "kw" / "bm25"))
    reference = bm25s.BM25()
    reference.index([words(t) for t in texts], show_progress=False)
    loaded = KeywordIndex.load(tmp_path / "kw")
    for query in ["prisoner cell", "the count the count", "house of the count", "zebra", "cell zebra cell"]:
        tokens = [t for t in words(query) if t in reference.vocab_dict]
        expected = reference.get_scores(tokens) if tokens else np.zeros(4, np.float32)
        ours = loaded.score_all(query)
        assert ours.dtype == np.float32 and np.allclose(ours, expected, rtol=1e-6, atol=0)
        found = [t for t in words(query) if t in theirs.vocab_dict]
        assert ours.tolist() == (theirs.get_scores(found).tolist() if found else [0.0] * 4)
    assert loaded.score_all("the count the count")[[0, 2]].tolist() != [0.0, 0.0]
    assert loaded.top(loaded.score_all("prisoner cell"), 2)[1].tolist() == [0, 4]


def test_damaged_keyword_files_are_named_not_tracebacks(tmp_path):
    from hyperamy.errors import IndexStateError
    from hyperamy.lexical import KeywordIndex

    KeywordIndex.build([(np.array([0, 1]), ["the prisoner in his cell", "a ball"])]).save(tmp_path / "kw")
    files = tmp_path / "kw" / "bm25"
    (files / "vocab.index.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(IndexStateError, match=r"keyword index .*kw is corrupt: Expecting property name"):
        KeywordIndex.load(tmp_path / "kw")
    (files / "data.csc.index.npy").unlink()
    with pytest.raises(IndexStateError, match=r"index is incomplete: .*data\.csc\.index\.npy is missing"):
        KeywordIndex.load(tmp_path / "kw")
    np.save(tmp_path / "kw" / "rows.npy", np.arange(3))
    KeywordIndex.build([(np.array([0, 1]), ["the prisoner in his cell", "a ball"])]).matrix.save(files)
    with pytest.raises(IndexStateError, match="2 documents for 3 rows"):
        KeywordIndex.load(tmp_path / "kw")
