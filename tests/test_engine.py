import json

import pytest

from hyperamy import persist
from hyperamy.corpus import Record
from hyperamy.emotions import LABELS
from hyperamy.engine import HyperAmy
from hyperamy.config import IndexConfig
from hyperamy.errors import DataFormatError, IndexStateError, InputError

WEIGHT = IndexConfig().emotion_weight

DOCS = [
    Record("storm", "The ship fought the storm all night near the harbour", {"chapter": 1, "who": "crew"}),
    Record("rage", "The count was furious and swore revenge on the traitor", {"chapter": 2, "who": "count"}),
    Record("garden", "Mercedes was delighted to walk in the garden", {"chapter": 3, "who": "mercedes"}),
    Record("cell", "The prisoner was terrified alone in the dark cell", {"chapter": 4, "who": "dantes"}),
    Record("harbour", "The harbour was calm and the ship arrived at noon", {"chapter": 5, "who": "crew"}),
]


@pytest.fixture()
def engine(tmp_path, fake_encoder):
    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=fake_encoder)
    engine.add(DOCS)
    return engine


def ids(hits):
    return [h.id for h in hits]


def test_lexical_and_semantic_modes_rank_by_their_own_signal(engine):
    # only matching documents; "calm" is in one of them, so it leads
    assert ids(engine.search("harbour calm", mode="lexical")) == ["harbour", "storm"]
    # equal matches: BM25's length normalisation prefers the shorter text, counted without its
    # function words ("harbour calm ship arrived noon" against "ship fought storm all night near harbour")
    assert ids(engine.search("harbour ship", mode="lexical")) == ["harbour", "storm"]
    assert ids(engine.search("The harbour was calm", mode="semantic", k=1)) == ["harbour"]


def test_emotion_mode_ranks_by_feeling(engine):
    assert ids(engine.search("I am so angry", mode="emotion", k=1)) == ["rage"]
    assert ids(engine.search("afraid", mode="emotion", k=1)) == ["cell"]


def test_a_felt_query_lets_emotion_reorder_a_neutral_one_does_not(engine):
    from hyperamy.rerank import fitted_emotion_weight

    neutral = engine.search("the ship and the harbour and the count", k=5, fusion="evidence")
    assert {h.emotion_weight for h in neutral} == {0.0} and {h.fusion for h in neutral} == {"evidence"}
    felt = engine.search("the ship and the harbour and the furious count", k=5, fusion="evidence")
    assert felt[0].emotion_weight == pytest.approx(WEIGHT * 0.8)
    assert felt[0].id == "rage" and ids(neutral)[0] != "rage"
    fitted = engine.search("the ship and the harbour and the furious count", k=5)  # the default fusion
    assert fitted[0].fusion == "fitted" and fitted[0].id == "rage"
    assert fitted[0].emotion_weight == pytest.approx(fitted_emotion_weight(0.8, WEIGHT))
    calm = engine.search("the ship and the harbour and the count", k=5)
    assert calm[0].emotion_weight == pytest.approx(fitted_emotion_weight(0.0, WEIGHT))
    assert calm[0].emotion_weight < fitted[0].emotion_weight


def test_a_fixed_semantic_share_means_the_evidence_fusion_and_a_bad_fusion_is_refused(engine):
    assert {h.fusion for h in engine.search("the furious count", semantic_share=0.7)} == {"evidence"}
    with pytest.raises(InputError, match="fusion must be 'fitted' or 'evidence', not 'magic'"):
        engine.search("x", fusion="magic")


def test_hits_explain_their_scores(engine):
    hit = engine.search("the furious count", k=1, fusion="evidence")[0]
    # both read as anger 0.9 (and neutral 0.1, which matches nothing): 0.9 x 0.9; the weight is the
    # query's certainty, (41 - 1) / 50
    assert (hit.id, hit.emotion_match, hit.emotion_weight) == ("rage", pytest.approx(0.81), pytest.approx(WEIGHT * 0.8))
    assert hit.emotion_part == pytest.approx(WEIGHT * 0.8 * 0.81)
    # "dark" is the cell's word too: the keyword leg has two matches (a lone one gets no share of its
    # own under the hand-set fusion, rerank.evidence), and the count's passage leads it
    top, *others = engine.search("the furious count in the dark", k=5, fusion="evidence")
    assert top.id == "rage" and all(top.lexical_part > o.lexical_part > -1 for o in others)
    assert hit.metadata == {"chapter": 2, "who": "count"}
    assert hit.top_emotions[0] == ("anger", pytest.approx(0.9))
    assert hit.kappa == 41.0 and hit.query_kappa == 41.0
    assert hit.explain().startswith(f"score {hit.score:.4f} = meaning ")
    assert json.loads(json.dumps(hit.to_dict()))["top_emotions"][0]["label"] == "anger"


def test_explained_parts_add_up_to_each_score_with_their_weights(engine):
    import re

    for mode in ("hybrid", "semantic", "lexical", "emotion"):
        for hit in engine.search("the furious count near the harbour", k=5, mode=mode):
            assert hit.semantic_part + hit.lexical_part + hit.emotion_part == pytest.approx(hit.score, abs=1e-6)
            if mode == "hybrid":
                printed = [float(x) for x in re.findall(r"(?:meaning|keywords|emotion) (-?[\d.]+) \(", hit.explain())]
                assert sum(printed) == pytest.approx(hit.score, abs=2e-4)
                assert f"{hit.emotion_weight:.3f} x {hit.emotion_match:.3f}" in hit.explain()
    only = engine.search("revenge traitor", k=5, mode="hybrid", where="who = 'count'")
    assert len(only) == 1 and only[0].score > 0.99  # a lone candidate keeps its whole share: not 0.0000


def test_emotion_takes_a_string_or_a_list(engine):
    assert ids(engine.search("the", emotion="joy")) == ids(engine.search("the", emotion=["joy"])) == ["garden"]


def test_emotion_mode_warns_when_the_query_feels_nothing(engine):
    hits = engine.search("the ship and the harbour", mode="emotion")
    assert hits[0].warning.startswith("the query reads as neutral (kappa 1.0): emotion mode ranks only by feeling")
    assert hits[0].to_dict()["warning"] == hits[0].warning
    assert engine.search("I am so angry", mode="emotion")[0].warning is None
    assert engine.search("the ship and the harbour")[0].warning is None


def test_where_and_emotion_filters(engine):
    assert ids(engine.search("ship", where="who = 'crew'", mode="lexical")) == ["harbour", "storm"]  # the shorter
    assert ids(engine.search("the", where="chapter >= 4 AND kappa > 20")) == ["cell"]
    assert ids(engine.search("the", emotion=["joy"])) == ["garden"]
    assert engine.search("the", where="chapter > 99") == []
    # the tokenizer counts bytes: an accent before a ')' once read as unbalanced parentheses
    assert engine.count(where="who IN ('mercédès', 'crew') AND (chapter > 0)") == engine.count(where="who = 'crew'")


@pytest.mark.parametrize("where, message", [
    ("chapter >", "--where 'chapter >': syntax error: something is missing at the end of the condition"),
    ("1=1; DROP TABLE docs", "one boolean expression"),
    ("nosuchfield = 1", "nosuchfield"),
    ("(SELECT count(*) FROM read_csv('/etc/passwd')) > 0", "subqueries .SELECT, FROM. are not allowed"),
])
def test_where_is_a_read_only_filter_with_clean_errors(engine, where, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        engine.search("ship", where=where)
    assert len(engine) == 5


def test_upsert_skips_unchanged_replaces_changed_and_counts_duplicates(engine):
    changed = Record("garden", "Mercedes was afraid in the garden", {"chapter": 3, "who": "mercedes"})
    seen = []
    report = engine.add([DOCS[0], changed, Record("new", "A new furious text", {}), Record("new", "Last wins", {})],
                        progress=seen.append)
    assert (report.added, report.updated, report.unchanged, report.duplicates) == (1, 1, 1, 1)
    assert sum(seen) == 4  # every record read counts once: encoded, unchanged or superseded
    assert len(engine) == 6
    assert ids(engine.search("afraid", mode="emotion", k=2)) == ["cell", "garden"]
    assert engine.search("Last wins", mode="lexical", k=1)[0].text == "Last wins"


def test_delete_and_reopen_give_identical_hits(engine, fake_encoder):
    assert engine.delete(["storm", "missing"]) == 1
    before = [h.to_dict() for h in engine.search("the ship in the harbour", k=4)]
    reopened = HyperAmy.open(engine.folder, encoder=fake_encoder)
    assert len(reopened) == 4
    assert [h.to_dict() for h in reopened.search("the ship in the harbour", k=4)] == before


def test_each_rows_feeling_is_read_back_at_its_row(engine, fake_encoder):
    import numpy as np

    engine.delete(["rage"])  # leaves a gap in the row numbers
    view = engine.refresh()
    stored, _ = view.store.query("SELECT _row, text FROM documents ORDER BY _row")
    rows = view.alive(np.asarray([row for row, _ in stored]))
    assert len(rows) == 4 and rows.tolist() == view.live_rows().tolist()
    texts = {row: text for row, text in stored}
    kappa, probs, strength, _ = view.feelings(rows)
    felt = fake_encoder.encode([texts[r] for r in rows]).emotion
    assert kappa.tolist() == felt.kappa.tolist()
    assert strength.tolist() == felt.strength.tolist() == np.float32([0.0, 0.9, 0.9, 0.0]).tolist()
    assert (probs == felt.probs).all()
    assert [LABELS[i] for i in probs.argmax(1)] == ["neutral", "joy", "fear", "neutral"]


def test_a_failed_add_leaves_the_previous_index_intact(engine, fake_encoder):
    def records():
        yield Record("extra", "A furious extra document", {})
        raise DataFormatError("malformed JSON", "c.jsonl", 2)

    before = json.loads((engine.folder / "manifest.json").read_text())
    with pytest.raises(DataFormatError, match="c.jsonl:2: malformed JSON$"):
        engine.add(records())
    assert len(engine) == 5 and json.loads((engine.folder / "manifest.json").read_text()) == before
    assert [p.name for p in (engine.folder / "segments").iterdir()] == [before["segments"][0]["name"]]
    assert "extra" not in ids(HyperAmy.open(engine.folder, encoder=fake_encoder).search("extra", k=10))


def test_a_failed_add_keeps_the_chunks_it_committed_and_a_rerun_skips_them(engine, fake_encoder):
    rows = [Record(f"n{i}", f"Note number {i} about the harbour", {}) for i in range(5)]

    def records():
        yield from rows
        raise DataFormatError("malformed JSON", "c.jsonl", 6)

    with pytest.raises(DataFormatError, match=r"c.jsonl:6: malformed JSON \(4 documents before it were committed"):
        engine.add(records(), commit_every=2)
    assert len(HyperAmy.open(engine.folder, encoder=fake_encoder)) == 9
    report = engine.add(rows, commit_every=2)
    assert (report.added, report.unchanged) == (1, 4) and len(engine) == 10


def test_missing_and_empty_indexes_say_how_to_create_one(tmp_path, fake_encoder):
    with pytest.raises(IndexStateError, match=r"no index at .*; create one with `hyperamy index CORPUS.jsonl"):
        HyperAmy.open(tmp_path / "none")
    nothing = HyperAmy.open(tmp_path / "empty", create=True, encoder=fake_encoder)
    nothing.add([])
    assert not (tmp_path / "empty").exists()  # an add of nothing creates no index
    emptied = HyperAmy.open(tmp_path / "emptied", create=True, encoder=fake_encoder)
    emptied.add(DOCS[:1])
    emptied.delete([DOCS[0].id])
    with pytest.raises(IndexStateError, match="is empty; add documents with `hyperamy index"):
        HyperAmy.open(tmp_path / "emptied", encoder=fake_encoder).search("x")


def test_other_format_versions_and_disagreeing_counts_are_refused(engine, fake_encoder):
    manifest_path = engine.folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    persist.write_manifest(engine.folder, {**manifest, "counts": {"documents": 6}})  # signed, as a faulty writer would
    with pytest.raises(IndexStateError, match="inconsistent: the manifest says 6 documents, its segments hold 5"):
        HyperAmy.open(engine.folder, encoder=fake_encoder)
    manifest_path.write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(IndexStateError, match="format version 99"):
        HyperAmy.open(engine.folder, encoder=fake_encoder)


def test_an_index_built_by_another_encoder_is_refused(engine, fake_encoder):
    other = type(fake_encoder)()
    other.model_id = "another-model"
    with pytest.raises(IndexStateError, match="built with encoder 'fake-encoder', not 'another-model'"):
        HyperAmy.open(engine.folder, encoder=other).search("ship")


def test_hnsw_index_finds_the_same_documents(tmp_path, fake_encoder):
    from hyperamy.config import IndexConfig

    approximate = HyperAmy.open(tmp_path / "h", create=True, encoder=fake_encoder, config=IndexConfig(vector_index="hnsw"))
    approximate.add(DOCS)
    assert ids(approximate.search("The harbour was calm", mode="semantic", k=2))[0] == "harbour"
    assert HyperAmy.open(tmp_path / "h", encoder=fake_encoder).info()["config"]["vector_index"] == "hnsw"


def test_a_failed_first_build_leaves_no_folder_but_keeps_one_it_did_not_make(tmp_path, fake_encoder):
    fresh = HyperAmy.open(tmp_path / "new", create=True, encoder=fake_encoder)
    with pytest.raises(InputError, match="record 0 of this batch needs a non-empty string 'text'"):
        fresh.add([{"id": 1, "text": ""}])
    assert not (tmp_path / "new").exists()
    (tmp_path / "mine").mkdir()
    with pytest.raises(InputError):
        HyperAmy.open(tmp_path / "mine", create=True, encoder=fake_encoder).add([{"id": 1, "text": ""}])
    assert (tmp_path / "mine").is_dir() and not any((tmp_path / "mine").iterdir())


def test_add_takes_plain_dicts_and_names_bad_ones(tmp_path, fake_encoder):
    engine = HyperAmy.open(tmp_path / "d", create=True, encoder=fake_encoder)
    report = engine.add([{"id": 1, "text": "The harbour at dawn", "chapter": 9}])
    assert report.added == 1 and engine.search("harbour", k=1)[0].metadata == {"chapter": 9}
    with pytest.raises(InputError, match="record 1 of this batch needs a non-empty string 'text'"):
        engine.add([{"id": 2, "text": "fine"}, {"id": 3, "text": ""}])
    assert len(engine) == 1


def test_ranking_settings_change_at_open_time_storage_settings_do_not(engine, fake_encoder):
    from hyperamy.config import IndexConfig

    from hyperamy.rerank import fitted_emotion_weight

    stronger = HyperAmy.open(engine.folder, encoder=fake_encoder, config=IndexConfig(emotion_weight=1.0))
    assert stronger.search("the furious count", k=1)[0].emotion_weight == pytest.approx(fitted_emotion_weight(0.8, 1.0))
    with pytest.raises(InputError, match="built with vector_index='flat'; build a new index to use vector_index='hnsw'"):
        HyperAmy.open(engine.folder, encoder=fake_encoder, config=IndexConfig(vector_index="hnsw"))


def test_ranking_settings_per_search(engine):
    default = engine.search("the furious count", k=1)[0]
    stronger = engine.search("the furious count", k=1, emotion_weight=1.0)[0]
    assert stronger.emotion_weight == pytest.approx(2 * default.emotion_weight)
    assert engine.search("the furious count", k=1, semantic_share=1.0)[0].semantic_share == 1.0
    assert engine.config.emotion_weight == WEIGHT  # the index's own settings are unchanged
    with pytest.raises(InputError, match="unknown ranking setting\\(s\\) vector_index; known: candidates, semantic_share"):
        engine.search("x", vector_index="hnsw")
    with pytest.raises(InputError, match="semantic_share must be in \\[0, 1\\]"):
        engine.search("x", semantic_share=2.0)


def test_commits_come_about_every_30_seconds_of_encoding_whatever_commit_every_says():
    from hyperamy.indexing import Pace

    pace = Pace(2048)
    assert pace() == 256  # before the pace is known
    pace.measured(256, 16.0)  # 16 documents a second: 30 s is 480 documents
    assert pace() == 480
    pace.measured(480, 0.5)  # fast now: commit_every caps it
    assert pace() == 2048
    pace.measured(10, 60.0)  # very slow texts: never under 64 a commit
    assert pace() == 64
    small = Pace(20)
    assert small() == 20 and (small.measured(20, 1.0) or small()) == 20


def test_building_the_onnx_graph_in_a_thread_leaves_the_process_stdout_alone(tmp_path, monkeypatch):
    """The query encoder's graph is built in a loader thread; swapping sys.stdout there (as a
    redirect did) sent what the main thread printed meanwhile to stderr, and put back a stale
    stdout when it ended."""
    import sys
    import threading

    from hyperamy.encoder import graph

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    original, seen = sys.stdout, []

    def export(weights, path):
        seen.append(sys.stdout is original)
        path.write_bytes(b"graph")

    monkeypatch.setattr(graph, "export", export)
    builder = threading.Thread(target=graph.ensure_graph, args=(None, "all-MiniLM-L6-v2+stdout"))
    builder.start()
    builder.join()
    assert seen == [True] and sys.stdout is original
    assert (graph.graph_folder("all-MiniLM-L6-v2+stdout") / graph.GRAPH_FILE).read_bytes() == b"graph"


def test_a_new_index_reads_english_words_by_their_stems_and_drops_function_words(engine):
    assert engine.info()["config"]["analyzer"] == "english"
    assert ids(engine.search("walking", mode="lexical")) == ["garden"]  # "walk" in the text
    assert ids(engine.search("ships arriving", mode="lexical")) == ["harbour", "storm"]  # ship + arrived
    assert engine.search("what was the", mode="lexical") == []  # nothing but function words


def test_an_index_from_before_analyzers_keeps_reading_words_as_written(tmp_path, fake_encoder):
    old = HyperAmy.open(tmp_path / "old", create=True, encoder=fake_encoder, config=IndexConfig(analyzer="words"))
    old.add(DOCS)
    manifest = json.loads((old.folder / "manifest.json").read_text())
    del manifest["config"]["analyzer"]  # as written before analyzers existed
    persist.write_manifest(old.folder, manifest)
    reopened = HyperAmy.open(old.folder, encoder=fake_encoder)
    assert reopened.info()["config"]["analyzer"] == "words"
    assert reopened.search("walking", mode="lexical") == []
    assert ids(reopened.search("walk", mode="lexical")) == ["garden"]
    reopened.add([Record("walked", "They walked to the harbour", {})])  # a new segment, its words as written
    assert ids(reopened.search("walked", mode="lexical")) == ["walked"]
    assert ids(HyperAmy.open(old.folder, encoder=fake_encoder).search("walked the", mode="lexical"))[0] == "walked"
    with pytest.raises(InputError, match="built with analyzer='words'; build a new index to use analyzer='english'"):
        HyperAmy.open(old.folder, encoder=fake_encoder, config=IndexConfig(analyzer="english"))
    with pytest.raises(InputError, match="analyzer must be one of english, words, not 'french'"):
        IndexConfig(analyzer="french")


def test_a_question_finds_the_passage_that_holds_its_words_in_one_sentence(tmp_path, fake_encoder):
    """The same words either way (equal BM25, equal bag-of-words meaning): only where they stand differs."""
    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=fake_encoder)
    engine.add([Record("apart", "The miller sang. The storm came. Of the golden key lost.", {}),
                Record("together", "The storm came. The miller sang of the lost golden key.", {}),
                Record("other", "A fox ran into the wood.", {})])
    asked = engine.search("Why was the golden key lost by the miller?", k=2)
    assert ids(asked) == ["together", "apart"] and asked[0].fusion == "fitted"
    assert asked[0].lexical == pytest.approx(asked[1].lexical) and asked[0].semantic == pytest.approx(asked[1].semantic)
    assert asked[0].lexical_part > asked[1].lexical_part  # sentences are read by the keyword part
    assert asked[0].semantic_part == pytest.approx(asked[1].semantic_part)
    # the hand-set fusion does not read sentences: the two tie, and the first added comes first
    assert ids(engine.search("Why was the golden key lost by the miller?", k=2, fusion="evidence")) == [
        "apart", "together"]


def test_emotion_mode_reads_ten_times_as_many_candidates_as_a_leg_of_hybrid(tmp_path, fake_encoder):
    """Emotion mode has one leg, found by the reading's direction, which is not the match it ranks by."""
    import dataclasses

    from hyperamy.search import Query, candidates
    from hyperamy.search.ranking import EMOTION_POOL

    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=fake_encoder)
    engine.add([Record(f"d{i}", f"a furious sailor, number {i}", {}) for i in range(30)])
    view, settings = engine.refresh(), dataclasses.replace(engine.settings, candidates=2)
    read = fake_encoder.encode_query("furious")
    query = Query("furious", read.semantic[0], read.emotion.mu[0], read.emotion.probs[0], float(read.emotion.kappa[0]))
    assert EMOTION_POOL == 10
    assert len(candidates(view, settings, 50.0, query, 1, "emotion", None).rows) == 20
    assert len(candidates(view, settings, 50.0, query, 1, "hybrid", None).rows) <= 6  # three legs of 2
    assert len(engine.search("furious", k=25, mode="emotion", candidates=2)) == 25  # k is more than 2: 25 x 10
