"""Entity mentions: found at index time, felt where they stand, asked about by name."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from hyperamy.cli import main
from hyperamy.errors import IndexStateError, InputError
from hyperamy.entities.detect import Finder, detect
from hyperamy.entities.names import MentionSettings, read_entity_file

DOCS = [
    {"id": "a", "text": "That night Danglars was happy, while Villefort was terrified of the letter.", "chapter": 1},
    {"id": "b", "text": "At noon Danglars was terrified, while Villefort was happy with the letter.", "chapter": 2},
    {"id": "c", "text": "Danglars walked to the harbour with M. de Villefort.", "chapter": 3},
    {"id": "d", "text": "Each evening Mercédès waited for Edmond at the Catalans.", "chapter": 4},
    {"id": "e", "text": "Yes. Later the letter reached Madame Danglars, and Mercédès was furious.", "chapter": 5},
]


def found(text):
    return [(text[f.start:f.end], f.entity, f.initial) for f in detect(text)]


def test_detection_keys_names_without_male_titles_and_marks_sentence_starts():
    assert found("“Villefort,” said M. de Villefort to Madame Danglars.") == [
        ("Villefort", "Villefort", True), ("M. de Villefort", "Villefort", False),
        ("Madame Danglars", "Madame Danglars", False)]
    assert found("The Count of Monte Cristo sailed past the Château d’If to Marseilles.") == [
        ("Count of Monte Cristo", "Monte Cristo", False), ("Château d’If", "Château d’If", False),
        ("Marseilles", "Marseilles", False)]
    # sentence words, headings, days and possessives are not names; "Then" does not start one
    assert found("CHAPTER 1. Yes, Morrel’s ship came on Monday. Then Dantès smiled.") == [
        ("Morrel", "Morrel", False), ("Dantès", "Dantès", False)]
    assert found("Mme. Danglars met Mlle. Eugénie") == [("Mme. Danglars", "Madame Danglars", False),
                                                        ("Mlle. Eugénie", "Mademoiselle Eugénie", False)]


def test_chat_words_contractions_and_common_words_are_not_names_but_places_and_brands_are():
    comments = ["lol Yeah I moved to Canada and Im never going back",
                "Edit: thanks, You're right, Hope you enjoy Walmart",
                "Sorry but we met Captain Hope at the Louvre"]
    found = [[f.entity for f in detect(text)] for text in comments]
    # "Yeah", "Im", "Edit", "You're", "Hope" alone are refused; a title makes "Hope" a name again
    assert found == [["Canada"], ["Walmart"], ["Hope", "Louvre"]]


def test_listed_names_and_a_metadata_field_win_over_detection(tmp_path):
    listing = tmp_path / "people.txt"
    listing.write_text("# who is who\nDantès | Edmond Dantès | Sinbad\n\nMercédès\n", encoding="utf-8")
    names = read_entity_file(listing)
    assert names == (("Dantès", "Edmond Dantès", "Sinbad"), ("Mercédès",))
    finder = Finder(MentionSettings(names, field="cast", detect=True))
    text = "Edmond Dantès, called Sinbad, met Mercédès and Caderousse near Fernand"
    spans = [(text[f.start:f.end], f.entity, f.source) for f in finder.find(text, {"cast": ["Fernand"]})]
    assert spans == [("Edmond Dantès", "Dantès", "list"), ("Sinbad", "Dantès", "list"), ("Mercédès", "Mercédès", "list"),
                     ("Caderousse", "Caderousse", "auto"), ("Fernand", "Fernand", "field")]
    twice = tmp_path / "twice.txt"
    twice.write_text("Dantès | Sinbad\nBertuccio | sinbad\n", encoding="utf-8")
    with pytest.raises(InputError, match="'sinbad' is already an alias of 'Dantès'"):
        read_entity_file(twice)
    (tmp_path / "empty.txt").write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(InputError, match="lists no entities"):
        read_entity_file(tmp_path / "empty.txt")


@pytest.fixture()
def engine(tmp_path):
    from fakes import FakeEncoder

    from hyperamy import HyperAmy

    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=FakeEncoder())
    engine.add(DOCS, commit_every=2)  # three segments, merged after the add
    return engine


def test_entities_are_counted_with_their_dominant_feeling(engine):
    listed = {e["name"]: e for e in engine.entities()}
    # "Edmond" is seen once inside a sentence: too little evidence to count
    assert list(listed) == ["Danglars", "Villefort", "Mercédès"]
    assert (listed["Danglars"]["mentions"], listed["Danglars"]["documents"]) == (3, 3)
    assert listed["Villefort"]["mentions"] == 3 and listed["Villefort"]["source"] == "auto"
    # Mercédès: neutral where she waits, furious in her own clause of "e" (strength 0.9 x anger 0.9)
    assert listed["Mercédès"]["emotion"] == "anger"
    assert listed["Mercédès"]["emotions"][0]["intensity"] == pytest.approx(0.81 / 2)
    assert engine.entities(min_mentions=3, limit=1)[0]["name"] == "Danglars"


def test_an_entity_profile_finds_where_it_is_felt_most(engine):
    profile = engine.entity("villefort")  # case and accents do not matter
    assert (profile["name"], profile["mentions"], profile["documents"]) == ("Villefort", 3, 3)
    fear = next(e for e in profile["emotions"] if e["label"] == "fear")
    assert fear["passages"][0]["id"] == "a" and fear["passages"][0]["mention"] == "Villefort"
    assert fear["passages"][0]["snippet"] == "That night Danglars was happy, while [Villefort] was terrified of the letter."
    assert {"name": "Madame Danglars", "mentions": 1} not in profile["also"]  # seen once: not an entity
    assert engine.entity("Mercedes")["name"] == "Mercédès"
    with pytest.raises(InputError, match="no entity 'Dantès' is mentioned in this index"):
        engine.entity("Dantès")


def test_about_ranks_by_how_the_entity_is_felt_not_the_whole_passage(engine):
    # "b" reads as fear as a whole (its first feeling word), but Villefort is happy there
    hits = engine.search("someone afraid of a letter", about="Villefort", k=5)
    assert hits[0].id == "a" and sorted(h.id for h in hits) == ["a", "b", "c"]  # only those naming him
    assert hits[0].mention["text"] == "Villefort" and hits[0].mention["top_emotions"][0]["label"] == "fear"
    b = next(h for h in hits if h.id == "b")
    assert b.mention["top_emotions"][0]["label"] == "joy" and b.top_emotions[0][0] == "fear"
    assert hits[0].emotion_match == pytest.approx(0.81) and b.emotion_match == 0.0  # fear 0.9 x 0.9; fear vs joy: nothing (neutral matches nothing)
    assert "emotion read from the mention 'Villefort' of Villefort" in hits[0].explain()
    assert [h.id for h in engine.search("letter", about="Mercédès", where="chapter > 4")] == ["e"]
    with pytest.raises(InputError, match="no entity 'Nobody'"):
        engine.search("letter", about="Nobody")


def test_deleted_and_merged_documents_keep_mentions_consistent(engine):
    engine.delete(["a"])
    assert {e["name"]: e["mentions"] for e in engine.entities()}["Villefort"] == 2
    assert sorted(h.id for h in engine.search("afraid", about="Villefort")) == ["b", "c"]
    engine.compact()
    assert len(engine.snapshot.segments) == 1
    mentions = engine.snapshot.segments[0].mentions()
    assert sorted(set(mentions.entity)) == ["Danglars", "Edmond", "Madame Danglars", "Mercédès", "Villefort"]  # not "Later"
    assert np.all(np.diff(mentions.rows) >= 0) and 0 not in mentions.rows  # row 0 was "a"
    assert {e["name"]: e["mentions"] for e in engine.entities()}["Villefort"] == 2


def test_an_entity_arc_follows_its_mentions(engine):
    arc = engine.arc(entity="Villefort", window=1, labels="ekman")
    assert arc.entity == "Villefort" and arc.mentions == 3 and arc.ids == ["a", "b", "c"]
    fear, joy = arc.labels.index("fear"), arc.labels.index("joy")
    assert arc.values[:, fear].tolist() == pytest.approx([0.81, 0.0, 0.0])
    assert arc.values[:, joy].tolist() == pytest.approx([0.0, 0.45, 0.0])
    along = engine.arc(entity="Villefort", by="chapter", where="chapter >= 2")
    assert along.x == [2, 3, 4, 5] and along.counts.tolist() == [1, 1, 0, 0]  # not mentioned in 4 and 5: gaps
    assert along.values[:2, joy].tolist() == pytest.approx([0.45, 0.0]) and np.isnan(along.values[2:]).all()


def test_recency_fades_older_documents_and_says_so(engine):
    plain = engine.search("letter", k=5)
    faded = engine.search("letter", k=5, recency="chapter:1")
    assert [h.id for h in faded][0] == "e"  # the newest chapter
    assert faded[0].recency == 1.0 and faded[0].age == 0
    older = next(h for h in faded if h.id == "a")
    assert older.recency == pytest.approx(0.5 ** 4) and older.age == 4
    assert older.score == pytest.approx(older.semantic_part + older.lexical_part + older.emotion_part
                                        + older.recency_part, abs=1e-4)
    assert older.recency_part == pytest.approx(np.log(0.5 ** 4))
    assert "+ recency -2.7726 (relevance e^score times the decay 0.062, age 4 chapter below the largest (5): " \
           "the score plus its log)" in older.explain()
    assert all(h.recency is None for h in plain)
    for spec, message in [("chapter", "give FIELD:HALF_LIFE"), ("nope:3", "'nope' is not a field"),
                          ("chapter:3d", "holds numbers"), ("chapter:0", "positive number")]:
        with pytest.raises(InputError, match=message):
            engine.search("letter", recency=spec)


def test_recency_on_dates_needs_a_unit(tmp_path):
    from fakes import FakeEncoder

    from hyperamy import HyperAmy

    engine = HyperAmy.open(tmp_path / "dated", create=True, encoder=FakeEncoder())
    engine.add([{"id": "old", "text": "the letter arrived", "published": "2020-01-01"},
                {"id": "new", "text": "the letter arrived", "published": "2026-11-01"}])
    hits = engine.search("letter", recency="published:365d")
    assert [h.id for h in hits] == ["new", "old"] and hits[1].recency < hits[0].recency < 1
    assert hits[1].age_unit == "days" and f"age {hits[1].age:g} days: the score" in hits[1].explain()
    with pytest.raises(InputError, match="needs a unit"):
        engine.search("letter", recency="published:30")
    with pytest.raises(InputError, match="'text' holds text that is not a date, such as 'the letter arrived'"):
        engine.search("letter", recency="text:30d")


def test_an_index_without_mentions_says_how_to_get_them(tmp_path):
    from fakes import FakeEncoder

    from hyperamy import HyperAmy

    engine = HyperAmy.open(tmp_path / "plain", create=True, encoder=FakeEncoder())
    engine.find_mentions(detect=False)
    engine.add(DOCS)
    with pytest.raises(IndexStateError, match="holds no entity mentions"):
        engine.entities()
    reopened = HyperAmy.open(tmp_path / "plain", encoder=FakeEncoder())
    assert not reopened.mention_settings.enabled  # later writes keep the index's choice


def test_damaged_mentions_are_named_and_repaired(engine):
    from hyperamy import HyperAmy

    segment = engine.snapshot.segments[0]
    path = segment.folder / "mention_feelings.npy"
    path.write_bytes(path.read_bytes()[:-8] + b"\x00" * 8)
    fresh = HyperAmy.open(engine.folder, encoder=engine.encoder)
    with pytest.raises(IndexStateError, match="mention_feelings.npy is damaged"):
        fresh.entities()
    report = fresh.check(repair=True)
    assert report["repaired"] and not report["unrepairable"]
    assert {e["name"]: e["mentions"] for e in HyperAmy.open(engine.folder, encoder=engine.encoder).entities()} == {
        "Danglars": 3, "Villefort": 3, "Mercédès": 2}


def test_entity_commands(engine, tmp_path):
    runner = CliRunner()
    index = ["--index", str(engine.folder)]
    listed = runner.invoke(main, ["entities", *index, "--json"])
    assert listed.exit_code == 0, listed.output
    assert [json.loads(line)["name"] for line in listed.stdout.splitlines()] == ["Danglars", "Villefort", "Mercédès"]
    picture = tmp_path / "v.png"
    one = runner.invoke(main, ["entity", "Villefort", *index, "--json", "--plot", str(picture)])
    assert one.exit_code == 0, one.output
    payload = json.loads(one.stdout)
    assert payload["mentions"] == 3 and payload["arc"]["entity"] == "Villefort"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 10_000
    plain = json.loads(runner.invoke(main, ["entity", "Villefort", *index, "--json"]).stdout)
    assert [p["id"] for p in plain["arc"]["points"]] == ["a", "b", "c"] and plain["arc"]["mentions"] == 3
    text = runner.invoke(main, ["entity", "Villefort", *index])
    assert text.exit_code == 0 and "Villefort: 3 mentions in 3 documents" in text.stdout
    missing = runner.invoke(main, ["entity", "Nobody", *index])
    assert missing.exit_code == 2 and "no entity 'Nobody'" in missing.output
    arc = runner.invoke(main, ["arc", *index, "--entity", "Villefort", "--window", "1"])
    assert arc.exit_code == 0 and "3 mentions of Villefort in index order" in arc.stdout


def test_about_searches_what_the_query_says_besides_the_name(engine):
    from hyperamy.search import without_names

    assert without_names("Villefort’s fear of M. de Villefort", ["Villefort", "M. de Villefort"]) == "fear of"
    assert without_names("villefort", ["Villefort"]) == "villefort"  # nothing would be left: the query stays
    hits = engine.search("Villefort afraid of a letter", about="villefort")
    assert hits[0].id == "a" and hits[0].searched == "afraid of a letter"
    assert "meaning and keywords of 'afraid of a letter', the query without the name" in hits[0].explain()
    assert engine.search("afraid of a letter", about="Villefort")[0].searched is None


def test_the_mention_leg_proposes_the_documents_whose_mention_feels_nearest(engine):
    from hyperamy import entities

    villefort = entities.about(engine.refresh(), "Villefort")
    fear = np.zeros(8, np.float32)
    fear[2] = 1.0  # the fake encoder's fear axis
    rows = villefort.search(fear, 1)
    assert [engine.snapshot.fetch(rows)[int(r)]["id"] for r in rows] == ["a"]  # terrified there
    joy = np.zeros(8, np.float32)
    joy[1] = 1.0
    assert [engine.snapshot.fetch(villefort.search(joy, 1))[int(r)]["id"] for r in villefort.search(joy, 1)] == ["b"]


def test_a_listed_name_matches_across_a_line_break():
    finder = Finder(MentionSettings((("Dantès", "Edmond Dantès"),), detect=False))
    text = "Then Edmond\nDantès smiled"
    assert [(text[f.start:f.end], f.entity) for f in finder.find(text)] == [("Edmond\nDantès", "Dantès")]


def test_a_long_text_full_of_names_is_indexed_and_only_the_window_is_searched_for_them(tmp_path):
    from fakes import FakeEncoder

    from hyperamy import HyperAmy
    from hyperamy.encoder.tokens import CHARS_PER_TOKEN
    from hyperamy.entities.detect import _without_overlaps

    # ~200,000 names in 4 MB: finding them all and dropping overlaps pairwise took hours
    text = "Dantès met Mercédès at the harbour. " * 110_000
    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=FakeEncoder())
    engine.find_mentions([["Dantès"], ["Mercédès"]], detect=True)
    engine.add([{"id": "long", "text": text}])
    reach = FakeEncoder().emotion.config.max_length * CHARS_PER_TOKEN
    stored = {e["name"]: e["mentions"] for e in engine.entities()}
    assert stored == {"Dantès": text[:reach].count("Dantès"), "Mercédès": text[:reach].count("Mercédès")}
    # overlaps: the earlier-listed (more trusted) mention wins, the result is in text order
    finder = Finder(MentionSettings((("Edmond Dantès",),), detect=True))
    kept = finder.find("Edmond Dantès smiled; Edmond Dantès left")
    assert [(f.start, f.end, f.source) for f in kept] == [(0, 13, "list"), (22, 35, "list")]
    assert _without_overlaps([]) == []
