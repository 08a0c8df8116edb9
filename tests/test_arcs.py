"""Emotion arcs: smoothed intensity in document order, as numbers and as a picture."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from hyperamy.cli import main
from hyperamy.errors import IndexStateError, InputError

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
    assert arc.x == [0, 1, 2, 3] and arc.counts.tolist() == [2, 2, 2, 2]
    anger, joy = arc.values[:, arc.labels.index("anger")], arc.values[:, arc.labels.index("joy")]
    # furious: strength 0.9 x anger 0.9 = 0.81; happy: 0.5 x joy 0.9 = 0.45; a window holds two documents
    assert anger.tolist() == pytest.approx([0.0, 0.405, 0.405, 0.0])
    assert joy.tolist() == pytest.approx([0.0, 0.0, 0.0, 0.225])


def test_an_arc_follows_a_field_and_a_condition(engine):
    by_chapter = engine.arc(by="chapter", labels="group")
    assert by_chapter.x == [1, 2, 3, 4] and by_chapter.order == "chapter" and by_chapter.axis == "number"
    assert by_chapter.labels == ("ambiguous", "negative", "positive")
    assert by_chapter.values[:, 1].tolist() == pytest.approx([0, 0, 0.81, 0])
    assert by_chapter.counts.tolist() == [1, 1, 1, 1]
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
    assert text.exit_code == 0 and "4 documents in index order, each point the mean of 2 documents around it (intensity 0-1):" in text.stdout
    assert "d1" in text.stdout and "anger 0.405" in text.stdout


def test_an_index_without_strength_says_to_rebuild(engine):
    view = engine.refresh()
    for segment in view.segments:
        segment.feelings = np.array(segment.feelings)  # the loaded one is memory-mapped, read-only
        segment.feelings[:, 29] = np.nan  # as segments written before the intensity head read
    with pytest.raises(IndexStateError, match="stores no strength.*rebuild it with `hyperamy index`"):
        engine.arc()


@pytest.fixture()
def gappy(tmp_path):
    """Chapters 1, 2 and 5 (none in 3 and 4); dates over three months, none in February."""
    from fakes import FakeEncoder

    from hyperamy import HyperAmy

    engine = HyperAmy.open(tmp_path / "gappy", create=True, encoder=FakeEncoder())
    engine.add([{"id": "a", "text": "She was furious", "chapter": 1, "posted": "2024-01-03"},
                {"id": "b", "text": "She was happy", "chapter": 1, "posted": "2024-01-20"},
                {"id": "c", "text": "The road was long", "chapter": 2, "posted": "2024-01-21"},
                {"id": "d", "text": "He was terrified", "chapter": 5, "posted": "2024-03-09"}])
    return engine


def test_a_chapter_with_no_documents_is_a_gap_not_a_line(gappy):
    arc = gappy.arc(by="chapter")
    assert arc.x == [1, 2, 3, 4, 5] and arc.counts.tolist() == [2, 1, 0, 0, 1]
    anger, joy, fear = (arc.values[:, arc.labels.index(n)] for n in ("anger", "joy", "fear"))
    assert anger[:2].tolist() == pytest.approx([0.405, 0.0]) and joy[0] == pytest.approx(0.225)
    assert np.isnan(anger[2:4]).all() and fear[4] == pytest.approx(0.81)
    rows = arc.to_dict()["points"]
    assert [(r["chapter"], r["documents"], r["anger"]) for r in rows] == [
        (1, 2, 0.405), (2, 1, 0.0), (3, 0, None), (4, 0, None), (5, 1, 0.0)]
    smoothed = gappy.arc(by="chapter", smooth=3)  # neighbours averaged, the empty ones left out and kept empty
    assert smoothed.values[0, smoothed.labels.index("anger")] == pytest.approx((0.405 + 0.0) / 2)
    assert np.isnan(smoothed.values[2:4]).all() and "averaged with 2 neighbouring points" in smoothed.describe()


def test_dates_are_a_time_axis_binned_with_empty_bins_as_gaps(gappy):
    months = gappy.arc(by="posted", bin="month")
    assert months.axis == "date" and [d.isoformat() for d in months.x] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert months.counts.tolist() == [3, 0, 1] and np.isnan(months.values[1]).all()
    assert gappy.arc(by="posted", points=10).bin == "week"  # the finest bin giving at most 10 points
    assert len(gappy.arc(by="posted", points=100).x) == 67 and gappy.arc(by="posted", points=100).bin == "day"


def test_an_entity_arc_in_index_order_breaks_where_it_goes_unmentioned(tmp_path):
    from fakes import FakeEncoder

    from hyperamy import HyperAmy

    engine = HyperAmy.open(tmp_path / "long", create=True, encoder=FakeEncoder())
    engine.find_mentions([["Anna"]], detect=False)
    texts = ["Anna was furious."] * 5 + ["The road went on."] * 60 + ["Anna was happy."] * 5
    engine.add([{"id": f"p{i}", "text": t} for i, t in enumerate(texts)])
    arc = engine.arc(entity="Anna", window=2)
    assert arc.mentions == 10 and arc.x == [0, 1, 2, 3, 4, 34, 65, 66, 67, 68, 69]
    assert arc.ids[5] is None and np.isnan(arc.values[5]).all()  # the gap: no line across 60 passages
    joy = arc.values[:, arc.labels.index("joy")]
    # windows stop at the gap: p65's is p65 alone (happy, 0.5 x 0.9), not half an angry mention before it
    assert joy[4] == pytest.approx(0.0) and joy[6] == pytest.approx(0.45)


def test_plots_along_chapters_and_dates_are_drawn(gappy, tmp_path):
    for args in (["--by", "chapter"], ["--by", "posted", "--bin", "month"], ["--entity", "nobody"]):
        picture = tmp_path / "p.png"
        result = CliRunner().invoke(main, ["arc", "--index", str(gappy.folder), "--plot", str(picture), *args])
        if args[0] == "--entity":
            assert result.exit_code != 0
            continue
        assert result.exit_code == 0, result.output
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = CliRunner().invoke(main, ["arc", "--index", str(gappy.folder), "--by", "chapter"])
    assert "chapter 3                 0 documents  (none)" in text.stdout
    refused = CliRunner().invoke(main, ["arc", "--index", str(gappy.folder), "--smooth", "3"])
    assert refused.exit_code == 2 and "give --by too" in refused.output


def test_a_point_between_two_gaps_is_marked_not_lost():
    from hyperamy.arcs.plot import _isolated

    column = np.array([0.1, np.nan, 0.2, np.nan, np.nan, 0.3, 0.4, np.nan, 0.5])
    # a line needs two neighbours; these three would vanish from the picture without a marker
    assert _isolated(column).tolist() == [True, False, True, False, False, False, False, False, True]


def test_stacked_areas_are_drawn_whole(engine):
    """The axis of a stacked picture reaches the top of the stack, not of the highest single
    emotion (the top of every stack was cut off before)."""
    from hyperamy.arcs.plot import y_range

    drawn = engine.arc(window=4, points=4)  # each window holds the furious and the happy document
    stack = float(np.nanmax(np.nansum(drawn.values, axis=1)))
    single = float(np.nanmax(drawn.values))
    assert stack > single  # anger and joy are felt in the same windows
    assert y_range(drawn, "areas") == (0.0, stack * 1.15)
    assert y_range(drawn, "lines") == (0.0, single * 1.15)
