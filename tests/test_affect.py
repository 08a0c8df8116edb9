"""Valence, arousal and dominance (issue #23) travel from the encoder to every place a document's
feeling is shown or filtered: --where, hits, get, list, export, mentions, and an older index."""
from __future__ import annotations

import json

import numpy as np
import pytest

from hyperamy import HyperAmy
from hyperamy.corpus import Record


@pytest.fixture()
def index(tmp_path):
    from fakes import AffectEncoder

    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=AffectEncoder())
    engine.add([Record("calm", "the harbour at dawn", {"chapter": 1}),
                Record("storm", "a furious storm broke", {"chapter": 2}),
                Record("sad", "she was afraid all evening", {"chapter": 3})])
    return engine


def test_arousal_is_a_column_for_where_and_a_field_of_every_document_and_hit(index, tmp_path):
    assert [d["id"] for d in index.list(where="arousal > 3.5")] == ["storm"]
    assert index.count("arousal BETWEEN 3 AND 3.5") == 1 and index.count("valence < 2") == 1
    document = index.get("storm")
    assert (document["valence"], document["arousal"], document["dominance"]) == pytest.approx((1.9375, 4.25, 3.0))
    assert "arousal" not in document["metadata"]
    hit = index.search("storm", k=1, mode="lexical")[0]
    assert (hit.id, hit.arousal, hit.valence) == ("storm", 4.25, 1.938)
    assert hit.to_dict()["arousal"] == 4.25
    out = tmp_path / "all.jsonl"
    index.export(out)
    exported = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert exported["calm"]["arousal"] == 2.0 and exported["sad"]["arousal"] == 3.25


def test_a_metadata_field_named_like_a_feeling_column_is_kept_under_meta(index):
    index.add([{"id": "x", "text": "fine", "arousal": 5}])
    assert index.get("x")["arousal"] == 2.0 and index.get("x")["metadata"]["meta_arousal"] == 5
    assert index.count("meta_arousal = 5") == 1 and index.count("arousal > 4.5") == 0


def test_an_index_built_without_the_head_shows_none_and_filters_nothing(tmp_path, fake_encoder):
    from hyperamy.errors import InputError

    engine = HyperAmy.open(tmp_path / "old", create=True, encoder=fake_encoder)
    engine.add([Record("storm", "a furious storm broke", {})])
    document = engine.get("storm")
    assert (document["valence"], document["arousal"], document["dominance"]) == (None, None, None)
    assert engine.search("storm", k=1, mode="lexical")[0].arousal is None
    with pytest.raises(InputError, match="arousal"):
        engine.count("arousal > 3.5")


def test_feelings_tables_of_every_width_read_as_33_columns():
    from hyperamy.segments import FEELING_COLUMNS, widen_feelings

    for width in (29, 30, 33):
        table = widen_feelings(np.ones((2, width), np.float32))
        assert table.shape == (2, FEELING_COLUMNS)
        assert np.isnan(table[:, width:]).all() and (table[:, :width] == 1).all()
    with pytest.raises(ValueError, match="expected"):
        widen_feelings(np.ones((2, 31), np.float32))


@pytest.mark.parametrize("field, value, message", [("affect_weight", -1.0, "affect_weight must be 0 or more"),
                                                   ("affect_weight", float("nan"), "affect_weight must be 0 or more"),
                                                   ("affect_holdout", 1.0, "affect_holdout must be between 0 and 1")])
def test_training_settings_for_the_affect_head_are_checked(field, value, message):
    from hyperamy.config import TrainConfig
    from hyperamy.errors import InputError

    with pytest.raises(InputError, match=message):
        TrainConfig(**{field: value})


def test_an_arc_of_valence_arousal_and_dominance_averages_the_ratings_on_their_own_scale(index, tmp_path):
    arc = index.arc(by="chapter", labels="vad")
    assert arc.labels == ("valence", "arousal", "dominance") and arc.affect
    assert arc.values[:, 1].tolist() == pytest.approx([2.0, 4.25, 3.25])  # calm, furious, a feeling word
    assert arc.values[:, 0].tolist() == pytest.approx([2.5, 1.9375, 2.1875])
    assert arc.to_dict()["scale"].startswith("valence, arousal, dominance: 1 to 5")
    whole = index.arc(labels="vad", window=3)
    # a centred window of 3: the ends average the two documents there are
    assert whole.values[:, 1].tolist() == pytest.approx([(2.0 + 4.25) / 2, (2.0 + 4.25 + 3.25) / 3, (4.25 + 3.25) / 2])
    from hyperamy.arcs.plot import plot_arc
    from hyperamy.errors import InputError

    plot_arc(arc, tmp_path / "vad.png")
    assert (tmp_path / "vad.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(InputError, match="ratings, not shares"):
        plot_arc(arc, tmp_path / "areas.png", style="areas")


def test_an_arc_of_ratings_from_an_index_without_them_is_refused(tmp_path, fake_encoder):
    from hyperamy.errors import IndexStateError

    engine = HyperAmy.open(tmp_path / "old", create=True, encoder=fake_encoder)
    engine.add([Record("storm", "a furious storm broke", {})])
    with pytest.raises(IndexStateError, match="no valence, arousal and dominance for 1 of the 1 documents"):
        engine.arc(labels="vad")
    assert engine.arc().labels[0] == "anger"


@pytest.mark.model
def test_the_shipped_encoder_reads_arousal_that_where_can_filter(tmp_path):
    engine = HyperAmy.open(tmp_path / "idx", create=True)  # the shipped model
    engine.add([Record("calm", "Return the number of items in the queue.", {}),
                Record("furious", "I am absolutely furious about this!", {}),
                Record("harbour", "The ships lay quiet in the harbour.", {})])
    assert [d["id"] for d in engine.list(where="arousal > 3.5")] == ["furious"]
    assert [d["id"] for d in engine.list(where="valence < 2.5")] == ["furious"]
    assert engine.get("calm")["arousal"] == pytest.approx(3.0, abs=0.2)
