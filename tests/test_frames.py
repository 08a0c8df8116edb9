"""pandas in and out: a DataFrame is indexed as records, and every list of results becomes a DataFrame."""
import datetime
import math

import numpy as np
import pandas as pd
import pytest

from hyperamy.errors import DataFormatError, InputError


@pytest.fixture
def engine(tmp_path):
    from fakes import FakeEncoder

    from hyperamy import HyperAmy

    return HyperAmy.open(tmp_path / "idx", create=True, encoder=FakeEncoder())


def frame():
    return pd.DataFrame({
        "id": ["r1", "r2", "r3"],
        "text": ["The courier was late and I am furious", "Delighted with the gift", "The parcel came on Monday"],
        "stars": [1, 5, np.nan],  # a missing value stays missing, not NaN in the index
        "posted": pd.to_datetime(["2024-01-03", "2024-02-10", "2024-03-09"]),
        "team": ["delivery", "gifts", None],
    })


def test_a_dataframe_is_indexed_row_by_row_with_its_columns_as_metadata(engine):
    report = engine.add(frame())
    assert (report.added, engine.count()) == (3, 3)
    assert engine.get("r1")["metadata"] == {"stars": 1.0, "posted": datetime.datetime(2024, 1, 3), "team": "delivery"}
    assert engine.get("r3")["metadata"] == {"stars": None, "posted": datetime.datetime(2024, 3, 9), "team": None}  # null, not NaN
    assert engine.count(where="stars > 2") == 1 and engine.count(where="posted >= '2024-02-01'") == 2


def test_ids_come_from_a_named_index_or_from_the_text(engine):
    reviews = frame().drop(columns="id").set_index(pd.Index(["a", "b", "c"], name="review"))
    engine.add(reviews, id_field="review")
    assert sorted(d["id"] for d in engine.list()) == ["a", "b", "c"]
    engine.add(pd.DataFrame({"body": ["A quiet afternoon"]}), text_field="body")
    assert [d["id"] for d in engine.list(where="starts_with(id, 'doc-')")] == ["doc-" + __import__("hashlib").sha256(
        b"A quiet afternoon").hexdigest()[:16]]


def test_a_bad_frame_is_refused_by_name_before_anything_is_written(engine):
    with pytest.raises(InputError, match="no 'text' column .*it has id, body"):
        engine.add(pd.DataFrame({"id": ["x"], "body": ["words"]}))
    with pytest.raises(DataFormatError, match=r"DataFrame:2: text field 'text' is empty"):
        engine.add(pd.DataFrame({"id": ["x", "y"], "text": ["fine", "  "]}), commit_every=1000)
    assert engine.count() == 0


def test_hits_documents_entities_and_books_turn_into_frames(engine):
    engine.add(frame())
    hits = engine.search("furious courier", k=2)
    table = hits.to_pandas()
    assert list(table["id"]) == [h.id for h in hits] and table.loc[0, "id"] == "r1"
    assert table.loc[0, "emotion"] == "anger" and table.loc[0, "intensity_anger"] == pytest.approx(0.9 * 0.9, abs=0.02)
    assert table.loc[0, "team"] == "delivery" and table.loc[0, "stars"] == 1
    assert {"score", "semantic_part", "lexical_part", "emotion_part", "strength"} <= set(table.columns)
    documents = engine.list().to_pandas()
    assert list(documents["id"]) == ["r1", "r2", "r3"] and math.isnan(documents.loc[2, "stars"])
    assert documents.loc[1, "emotion"] == "joy" and "intensity_neutral" not in documents.columns
    assert len(engine.entities().to_pandas()) == 0  # no names in these texts


def test_an_arc_is_a_frame_indexed_by_its_places(engine):
    engine.add(frame())
    by_date = engine.arc(by="posted", bin="month").to_pandas()
    assert list(by_date.index) == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01"), pd.Timestamp("2024-03-01")]
    assert list(by_date["documents"]) == [1, 1, 1] and by_date.loc["2024-01-01", "anger"] > 0.5
    in_order = engine.arc(window=1).to_pandas()
    assert in_order.index.name == "position" and list(in_order["id"]) == ["r1", "r2", "r3"]


def test_an_emotion_batch_is_a_frame_of_texts():
    from fakes import FakeEncoder

    texts = ["I am terrified", "a table"]
    table = FakeEncoder().encode(texts).emotion.to_pandas(texts)
    assert list(table["text"]) == texts and list(table["emotion"]) == ["fear", "neutral"]
    assert table.loc[0, "prob_fear"] > 0.89 and table.loc[0, "strength"] == pytest.approx(0.9)
    assert len([c for c in table.columns if c.startswith("prob_")]) == 28
    assert len([c for c in table.columns if c.startswith("intensity_")]) == 27


def test_no_pandas_import_for_plain_use():
    import subprocess
    import sys

    code = "import sys, hyperamy.engine, hyperamy.frames; print('pandas' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_dates_stay_dates():
    from hyperamy.frames import _plain

    assert _plain(pd.Timestamp("2024-01-03")) == datetime.datetime(2024, 1, 3)
    assert _plain(np.int64(3)) == 3 and type(_plain(np.int64(3))) is int and _plain(pd.NaT) is None
