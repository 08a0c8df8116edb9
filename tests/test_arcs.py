"""Emotion arcs: smoothed intensity in document order, as numbers and as a picture."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from hyperamy.cli import main
from hyperamy.errors import InputError

DOCS = [{"id": "d0", "text": "The ship came in at noon", "chapter": 4},
        {"id": "d1", "text": "He was furious at the harbour", "chapter": 3},
        {"id": "d2", "text": "The clerk wrote in the ledger", "chapter": 2},
        {"id": "d3", "text": "She was happy to see him", "chapter": 1}]


@pytest.fixture()
def engine(tmp_path):
    from fakes import FakeEncoder

    from hyperamy import HyperAmy

    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=FakeEncoder())
    engine.add(DOCS)
    return engine


def test_each_point_is_the_mean_intensity_of_its_window(engine):
    arc = engine.arc(window=2, points=4)
    assert arc.labels == ("anger", "disgust", "fear", "joy", "sadness", "surprise")
    assert arc.ids == ["d0", "d1", "d2", "d3"] and arc.order == "index order" and arc.documents == 4
    anger, joy = arc.values[:, arc.labels.index("anger")], arc.values[:, arc.labels.index("joy")]
    # furious: strength 0.9 x anger 0.9 = 0.81; happy: 0.5 x joy 0.9 = 0.45; a window holds two documents
    assert anger.tolist() == pytest.approx([0.0, 0.405, 0.405, 0.0])
    assert joy.tolist() == pytest.approx([0.0, 0.0, 0.0, 0.225])


def test_an_arc_follows_a_field_and_a_condition(engine):
    by_chapter = engine.arc(by="chapter", window=1, points=4, labels="group")
    assert by_chapter.ids == ["d3", "d2", "d1", "d0"] and by_chapter.order == "chapter"
    assert by_chapter.labels == ("ambiguous", "negative", "positive")
    assert by_chapter.values[:, 1].tolist() == pytest.approx([0, 0, 0.81, 0])
    assert engine.arc(where="chapter >= 3", window=1).ids == ["d0", "d1"]
    with pytest.raises(InputError, match="no documents to draw an arc over"):
        engine.arc(where="chapter > 9")
    with pytest.raises(InputError, match="--by 'nope' is not a field of this index; its fields are id, text"):
        engine.arc(by="nope")


def test_arc_command_draws_a_png_and_prints_json(engine, tmp_path):
    picture = tmp_path / "arc.png"
    result = CliRunner().invoke(main, ["arc", "--index", str(engine.folder), "--window", "2", "--plot", str(picture),
                                       "--style", "areas", "--json"])
    assert result.exit_code == 0, result.output
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 10_000
    payload = json.loads(result.stdout)
    assert [p["id"] for p in payload["points"]] == ["d0", "d1", "d2", "d3"] and payload["window"] == 2
    assert payload["points"][1]["anger"] == pytest.approx(0.405)
    text = CliRunner().invoke(main, ["arc", "--index", str(engine.folder), "--window", "2"])
    assert text.exit_code == 0 and "4 documents in index order, each point the mean of 2:" in text.stdout
    assert "d1" in text.stdout and "anger 0.405" in text.stdout


def test_an_index_without_strength_says_to_rebuild(engine):
    view = engine.refresh()
    for segment in view.segments:
        segment.feelings[:, 29] = np.nan  # as segments written before the intensity head read
    with pytest.raises(Exception, match="stores no strength.*rebuild it with `hyperamy index`"):
        engine.arc()
