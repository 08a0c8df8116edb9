import numpy as np
import pytest

from hyperamy.rerank import certainty, contributions, emotion_similarity, evidence, semantic_share, standardize
from hyperamy.config import IndexConfig
from hyperamy.errors import IndexStateError
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
    live = ~np.isin(ids, expected[:2])  # the two best are deleted
    assert index.search(query, 8, live=live)[1].tolist() == expected[2:10].tolist()
    index.save(tmp_path, "v")
    loaded = VectorIndex.read(tmp_path, "v", IndexConfig(vector_index=kind))  # memory-mapped
    assert loaded.mapped and (loaded.graph is not None) == (kind == "hnsw")
    if kind == "hnsw":  # built with vectors.BUILD_BREADTH, not FAISS's 40
        import faiss

        assert faiss.downcast_index(loaded.graph.index).hnsw.efConstruction == 100
    assert loaded.search(query, 8, live=live)[1].tolist() == expected[2:10].tolist()
    assert np.allclose(loaded.vectors(np.array([1003, 1004])), data[3:5])
    both = np.isin(allowed, expected[:2]).any()
    assert both and 1000 + 3 * 0 in allowed  # the filtered search leaves out deleted ones too
    filtered = loaded.search(query, 5, allowed=allowed, live=live)[1]
    assert filtered.tolist() == [i for i in allowed[np.argsort(-(data[::3] @ query))] if i not in expected[:2]][:5]
    with pytest.raises(IndexStateError, match="read-only"):  # FAISS itself would abort the process
        loaded.add(np.array([2000]), data[:1])
    assert len(loaded) == 500


def test_stored_vectors_are_found_by_id_in_new_and_old_files(tmp_path):
    import faiss

    rng = np.random.default_rng(3)
    data = unit(rng, 6, 8)
    ids = np.array([40, 10, 30, 20, 60, 50])  # added out of order: found through their sort order
    index = VectorIndex(8)
    index.add(ids, data)
    assert np.array_equal(index.vectors(np.array([60, 10, 10, 30])), data[[4, 1, 1, 2]])
    with pytest.raises(IndexStateError, match=r"not stored in this index: \[35, 70\]"):
        index.vectors(np.array([10, 35, 70]))
    index.add(np.array([5]), data[:1])  # what is added later is found too
    assert np.array_equal(index.vectors(np.array([5, 40])), data[[0, 0]])
    ordered = VectorIndex(8)
    ordered.add(np.sort(ids), data)
    ordered.save(tmp_path, "new")
    assert type(faiss.read_index(str(tmp_path / "new.faiss"))).__name__ == "IndexIDMap"  # no hash map to build on open
    old = faiss.IndexIDMap2(faiss.IndexFlatIP(8))  # what segments were written with before
    old.add_with_ids(data, np.sort(ids))
    faiss.write_index(old, str(tmp_path / "old.faiss"))
    for name in ("new", "old"):
        loaded = VectorIndex.read(tmp_path, name, IndexConfig())
        assert np.array_equal(loaded.vectors(np.array([60, 20])), data[[5, 1]])
        with pytest.raises(IndexStateError, match="not stored"):
            loaded.vectors(np.array([61]))
    assert len(VectorIndex(8).vectors(np.zeros(0, np.int64))) == 0
    with pytest.raises(IndexStateError, match="not stored"):
        VectorIndex(8).vectors(np.array([1]))


def fused(semantic, lexical, emotion, query_certainty, share, weight):
    """Hybrid scores (the sum of the parts) and the emotion weight the query got."""
    parts, got = contributions("hybrid", semantic, lexical, emotion, query_certainty, share, weight)
    return sum(parts.values()).astype(np.float32), got  # as search.rank sums them


def test_relevance_is_a_convex_mix_of_standardised_scores():
    assert standardize(np.array([1.0, 2.0, 3.0])).tolist() == pytest.approx([-1.2247449, 0.0, 1.2247449])
    # no keyword matched: no keyword share; a lone candidate keeps its whole share
    assert standardize(np.array([0.0, 0.0])).tolist() == [0.0, 0.0] and standardize(np.array([0.4])).tolist() == [1.0]
    score, _ = fused(np.array([0.9, 0.5, 0.7]), np.array([3.0, 0.0, 0.0]), np.zeros(3), 0.0, 0.25, 0.5)
    z_semantic, z_keyword = np.array([1.2247449, -1.2247449, 0.0]), np.array([1.4142136, -0.7071068, -0.7071068])
    assert score.tolist() == pytest.approx((0.25 * z_semantic + 0.75 * z_keyword).tolist())


def test_the_semantic_share_follows_each_legs_evidence():
    flat_keywords = np.array([2.0, 1.9, 1.9, 1.8, 1.9])  # a paraphrase: no word picks anything out
    standout_keywords = np.array([9.0, 1.9, 1.9, 1.9, 1.9])  # a quoted phrase: one passage stands out
    semantic = np.array([0.62, 0.55, 0.54, 0.53, 0.52])
    assert evidence(np.array([3.0])) == 0.0 and evidence(np.array([1.0, 1.0])) == 0.0
    assert evidence(standout_keywords) == pytest.approx(2.0)  # one above n - 1 equal ones: sqrt(n - 1)
    weak, strong = semantic_share(semantic, flat_keywords), semantic_share(semantic, standout_keywords)
    assert weak > 0.5 > strong  # keywords get more say only where they pick a passage out
    assert semantic_share(semantic, np.zeros(0)) == 1.0 and semantic_share(np.zeros(0), np.zeros(0)) == 0.5


def test_emotion_similarity_is_the_chance_both_read_as_one_non_neutral_label():
    query = np.zeros(28)
    query[[0, 1]] = 0.5  # half admiration, half amusement
    docs = np.zeros((4, 28))
    docs[0, 0] = 1.0  # admiration alone
    docs[1, 2] = 1.0  # feels something else
    docs[2, [0, 1]] = 0.5  # the same halves
    docs[3, [0, 27]] = 0.5  # half admiration, half neutral
    assert emotion_similarity(query, docs).tolist() == pytest.approx([0.5, 0.0, 0.5, 0.25])
    neutral = np.zeros(28)
    neutral[27] = 1.0  # neutral matches nothing, not even neutral
    assert emotion_similarity(neutral, np.stack([neutral, docs[0]])).tolist() == [0.0, 0.0]


def test_certainty_and_emotion_weight_follow_the_query_kappa():
    assert certainty(np.array([1.0, 26.0, 80.0]), 50.0).tolist() == [0.0, 0.5, 1.0]
    semantic, lexical, emotion = np.array([0.9, 0.8]), np.array([2.0, 1.0]), np.array([0.0, 0.9])
    neutral, weight = fused(semantic, lexical, emotion, 0.0, 0.5, 0.25)
    assert weight == 0.0 and neutral.tolist() == [1.0, -1.0]  # two candidates: z-scores of +1 and -1
    felt, weight = fused(semantic, lexical, emotion, 1.0, 0.5, 3.0)
    assert weight == 3.0 and felt.argmax() == 1  # 3.0 x 0.9 outweighs the relevance gap of 2


def keyword_scorer(texts_by_segment, deleted=(), analyzer="words"):
    from hyperamy.analyzer import analyzer as named
    from hyperamy.lexical import KeywordScorer, TermCounts

    segments, first = [], 0
    for texts in texts_by_segment:
        rows = np.arange(first, first + len(texts)) * 2  # rows need not be contiguous
        first += len(texts)
        segments.append((TermCounts.build(texts, named(analyzer)), rows, ~np.isin(rows, deleted)))
    return KeywordScorer(segments, named(analyzer))


TEXTS = ["the prisoner in his cell, the cell of the prisoner", "a ball at the count's house",
         "the count in the cell", "nothing here matches", "the cell", "a prisoner's ball",
         "prisoners counted the cells"]
QUERIES = ["prisoner cell", "the count the count", "house of the count", "zebra", "cell zebra cell",
           "counting prisoners", "what is in the cell"]


@pytest.mark.parametrize("analyzer", ["words", "english"])
@pytest.mark.parametrize("split", [[7], [2, 5], [1, 1, 1, 4]])
def test_keyword_scores_over_segments_equal_one_bm25s_index_of_the_live_documents(split, analyzer):
    import bm25s

    from hyperamy.analyzer import analyzer as named

    terms = named(analyzer).terms
    deleted = [2]  # row 2 is the second text: a deleted document counts in no statistic
    live_texts = [t for i, t in enumerate(TEXTS) if i * 2 not in deleted]
    reference = bm25s.BM25(k1=named(analyzer).k1, b=named(analyzer).b)  # Lucene's variant
    reference.index([terms(t) for t in live_texts], show_progress=False)
    parts, start = [], 0
    for size in split:
        parts.append(TEXTS[start:start + size])
        start += size
    scorer = keyword_scorer(parts, deleted, analyzer)
    live_rows = np.array([i * 2 for i in range(len(TEXTS)) if i * 2 not in deleted])
    for query in QUERIES:
        tokens = [t for t in terms(query) if t in reference.vocab_dict]
        expected = reference.get_scores(tokens) if tokens else np.zeros(len(live_texts), np.float32)
        rows, scores = scorer.scores(query)
        ours = np.zeros(len(live_rows), np.float32)
        ours[np.searchsorted(live_rows, rows)] = scores
        assert np.allclose(ours, expected, rtol=1e-5, atol=1e-7), query
        assert set(rows.tolist()) == set(live_rows[expected > 0].tolist())


def test_keyword_top_and_lookup():
    from hyperamy.lexical import lookup, top

    rows, scores = keyword_scorer([TEXTS[:6]]).scores("prisoner cell")
    assert rows.tolist() == [0, 4, 8, 10]  # "the cell" and "a prisoner's ball" match one word each
    assert top(rows, scores, 2)[1].tolist() == [0, 10]  # prisoner is rarer than cell
    assert top(rows, scores, 5, allowed=np.array([4, 8, 6]))[1].tolist() == [8, 4]  # shorter first
    assert lookup(rows, scores, np.array([6, 0])).tolist() == [0.0, scores[0]]


def test_damaged_term_files_are_named_not_tracebacks(tmp_path):
    from hyperamy.analyzer import analyzer
    from hyperamy.errors import IndexStateError
    from hyperamy.lexical import TermCounts

    TermCounts.build(["the prisoner in his cell", "a ball"], analyzer("words")).save(tmp_path)
    assert TermCounts.load(tmp_path, 2).postings("cell")[0].tolist() == [0]
    with pytest.raises(IndexStateError, match="its arrays disagree"):
        TermCounts.load(tmp_path, 3)
    (tmp_path / "terms.json").write_text("[oops", encoding="utf-8")
    with pytest.raises(IndexStateError, match=r"keyword data in .* is corrupt: Expecting value"):
        TermCounts.load(tmp_path, 2)


def test_the_fitted_fusion_is_a_sum_of_weighted_features_grouped_by_leg():
    from hyperamy.rerank import FEATURES, LEG, features, fitted_contributions, fitted_weights

    semantic, lexical = np.asarray([0.9, 0.5, 0.1]), np.asarray([3.0, 0.0, 1.0])
    feeling, strength = np.asarray([0.2, 0.8, 0.0]), np.asarray([0.5, 0.9, 0.1])
    columns = features(semantic, lexical, feeling, 0.6, 0.4, strength, asked=True)
    assert columns.shape == (3, len(FEATURES)) and set(LEG) == set(FEATURES)
    at = {name: j for j, name in enumerate(FEATURES)}
    assert columns[:, at["no_keyword"]].tolist() == [0.0, 1.0, 0.0]
    assert columns[:, at["keywords_best"]].tolist() == [1.0, 0.0, 0.0]
    assert np.allclose(columns[:, at["emotion"]], 0.6 * feeling)
    assert np.allclose(columns[:, at["meaning_calm"]], 0.4 * standardize(semantic))
    assert np.allclose(columns[:, at["strength_asked"]], strength)
    assert not columns[:, at["question_meaning"]:].any()  # not asked as a question: those columns are 0
    single, pair = np.asarray([0.5, 0.0, 1.0]), np.asarray([1.0, 0.0, 1.0])
    asked = features(semantic, lexical, feeling, 0.6, 0.4, strength, True, single, pair, question=True)
    plain = features(semantic, lexical, feeling, 0.6, 0.4, strength, True, single, pair)
    assert np.allclose(plain[:, at["together"]], single) and np.allclose(plain[:, at["together_pair_rank"]],
                                                                          standardize(pair))
    assert np.allclose(asked[:, at["question_meaning"]:], plain[:, :at["question_meaning"]])
    assert not asked[:, :at["question_meaning"]].any() and not plain[:, at["question_meaning"]:].any()
    weights = fitted_weights()
    for question in (False, True):
        shown = asked if question else plain
        parts = fitted_contributions(semantic, lexical, feeling, 0.6, 0.4, strength, True, 0.5, single, pair,
                                     question)
        assert np.allclose(sum(parts.values()), shown @ np.asarray([weights[f] for f in FEATURES]))
        doubled = fitted_contributions(semantic, lexical, feeling, 0.6, 0.4, strength, True, 1.0, single, pair,
                                       question)
        assert np.allclose(doubled["emotion"], 2 * parts["emotion"])
        assert np.allclose(doubled["semantic"], parts["semantic"])


@pytest.mark.parametrize("query, expected", [("How did the girl feel when the wolf came?", True),
                                             ("where is she most afraid", True), ("What a day!", False),
                                             ("so angry at the customer service", False),
                                             ("the girl who cried", False), ("", False)])
def test_questions_are_told_from_statements(query, expected):
    from hyperamy.rerank import asks_question

    assert asks_question(query) is expected


def test_proximity_weighs_the_query_words_one_sentence_and_two_in_a_row_hold():
    from hyperamy.analyzer import analyzer
    from hyperamy.search.proximity import together

    weights = {"wolf": 2.0, "girl": 1.0, "afraid": 1.0}  # {term: IDF}, english analyzer terms
    texts = ["The wolf came. The girl was afraid.", "When the wolf came, the girl was afraid.",
             "The girl slept. Nothing else. The wolf came.", "", "A wolf! " * 5000 + "girl afraid"]
    single, pair = together(texts, weights, analyzer("english"))
    assert single.tolist() == [0.5, 1.0, 0.5, 0.0, 0.5]  # the last: read up to proximity.READ characters
    assert pair.tolist() == [1.0, 1.0, 0.5, 0.0, 0.5]
    assert [v.tolist() for v in together(texts[:2], {}, analyzer("english"))] == [[0.0, 0.0], [0.0, 0.0]]


def test_the_shipped_fusion_never_lowers_a_score_for_query_words_held_together():
    from hyperamy.rerank import NON_NEGATIVE, fitted_weights

    weights = fitted_weights()
    assert {name: weights[name] for name in weights if name.removeprefix("question_") in NON_NEGATIVE
            and weights[name] < 0} == {}
    assert len([name for name in weights if name.removeprefix("question_") in NON_NEGATIVE]) == 8


def test_a_query_is_ranked_with_blas_and_openmp_on_one_thread_of_the_calling_thread_only():
    import threading

    import faiss

    from hyperamy.search import single_threaded
    from hyperamy.search.ranking import _thread_pools

    pools = _thread_pools()  # the libraries loaded by the first search: FAISS's OpenMP, NumPy's and FAISS's BLAS
    assert {"openmp", "openblas"} <= {p["internal_api"] for p in pools.info()}
    faiss.omp_set_num_threads(2)
    before = [p["num_threads"] for p in pools.info()]
    seen_elsewhere = []

    def another_thread():
        other = threading.Thread(target=lambda: seen_elsewhere.append(faiss.omp_get_max_threads()))
        other.start()
        other.join()

    another_thread()
    with single_threaded():
        assert {p["num_threads"] for p in pools.info()} == {1}
        assert faiss.omp_get_max_threads() == 1
        another_thread()
    assert seen_elsewhere[1] == seen_elsewhere[0]  # another thread's OpenMP searches keep their threads
    assert [p["num_threads"] for p in pools.info()] == before and faiss.omp_get_max_threads() == 2
