import numpy as np
import pytest

from hyperamy.search import question_meaning


def test_a_map_is_written_and_read_with_the_backbone_it_belongs_to(tmp_path):
    weight = np.arange(9, dtype=np.float32).reshape(3, 3) / 10
    question_meaning.write(tmp_path / "map.safetensors", "some-backbone", weight, {"chosen_on": "a test"})
    backbone, read = question_meaning.read(tmp_path / "map.safetensors")
    assert backbone == "some-backbone"
    assert np.array_equal(read, weight)
    moved = question_meaning.moved(np.asarray([1.0, 0.0, 0.0], np.float32), read)
    # (1, 0, 0) + its row of W, (0, 0.1, 0.2), made unit
    assert np.allclose(moved, np.asarray([1.0, 0.1, 0.2]) / np.sqrt(1.05))


def test_the_shipped_map_moves_questions_only_in_its_own_backbones_space():
    backbone, weight = question_meaning.shipped()
    assert backbone == "all-MiniLM-L6-v2" and weight.shape == (384, 384)
    vector = np.random.default_rng(0).normal(size=384).astype(np.float32)
    vector /= np.linalg.norm(vector)
    question = "Why did the king send for the tailor?"
    moved = question_meaning.for_search(vector, question, "all-MiniLM-L6-v2+0123456789ab")
    assert np.allclose(moved, question_meaning.moved(vector, weight)) and np.linalg.norm(moved) == pytest.approx(1)
    assert float(moved @ vector) < 0.999  # it does move
    assert question_meaning.for_search(vector, question, "some-other-backbone+0123456789ab") is vector
    assert question_meaning.for_search(vector, "The king sent for the tailor.", "all-MiniLM-L6-v2+0123456789ab") is vector


@pytest.mark.model
def test_fitted_hybrid_search_reads_a_question_through_the_map_and_nothing_else(tmp_path):
    from hyperamy.engine import HyperAmy

    engine = HyperAmy.open(tmp_path / "idx", create=True)
    engine.add([{"id": "tailor", "text": "The king sent for the little tailor, for he had heard of his courage."},
                {"id": "mill", "text": "The miller's daughter spun straw into gold by night."}])
    view = engine.refresh()
    vectors = dict(zip((view.fetch([0, 1])[r]["id"] for r in (0, 1)), view.vectors("semantic", np.arange(2))))
    question, statement = "Why did the king send for the tailor?", "The king sent for the tailor."

    def plain(text):
        return engine.query_encoder.encode_query(text).semantic[0]

    moved = question_meaning.moved(plain(question), question_meaning.shipped()[1])
    for hit in engine.search(question, k=2):
        assert hit.fusion == "fitted" and hit.semantic == pytest.approx(float(moved @ vectors[hit.id]), abs=1e-5)
        assert hit.question_map and "the question's meaning moved toward answers" in hit.explain()
    for hit in engine.search(question, k=2, mode="semantic"):  # semantic mode is plain MiniLM
        assert hit.semantic == pytest.approx(float(plain(question) @ vectors[hit.id]), abs=1e-5)
        assert not hit.question_map
    for hit in engine.search(question, k=2, fusion="evidence"):  # and so is the hand-set fusion
        assert hit.semantic == pytest.approx(float(plain(question) @ vectors[hit.id]), abs=1e-5)
        assert not hit.question_map
    for hit in engine.search(statement, k=2):  # a statement is not moved
        assert hit.semantic == pytest.approx(float(plain(statement) @ vectors[hit.id]), abs=1e-5)
        assert not hit.question_map and "moved" not in hit.explain()
    assert float(moved @ vectors["tailor"]) != pytest.approx(float(plain(question) @ vectors["tailor"]), abs=1e-3)
