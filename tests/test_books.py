"""Books in: .txt, .md, .html and .epub files read into chapters and cut into passages, ids stable,
an edited chapter replacing only its own passages."""
from __future__ import annotations

import zipfile

import pytest

from hyperamy.books import Chunking, book_records, read_book
from hyperamy.books.inputs import read_inputs
from hyperamy.engine import HyperAmy
from hyperamy.errors import DataFormatError, InputError

STORM = ["The wind howled all night. Anna was terrified of the dark sea.",
         "She held her brother close and wept until the storm passed over the little house."]
MORNING = ["At dawn the sky cleared. Anna laughed with joy when she saw her father's boat. "
           "Everyone in the village ran down to the harbour to greet the fishermen."]
HOME = ["They went home together."]
CHAPTERS = [("The Storm", STORM), ("Morning", MORNING), ("Home", HOME)]
# Chunking(24): each paragraph of STORM fits alone, not together; MORNING (33 tokens) is cut
# between its sentences; HOME is one passage.
PASSAGES = [(1, STORM[0]), (1, STORM[1]),
            (2, "At dawn the sky cleared. Anna laughed with joy when she saw her father's boat."),
            (2, "Everyone in the village ran down to the harbour to greet the fishermen."), (3, HOME[0])]


def txt_book() -> str:
    numbers = ["I", "II", "III"]
    body = "".join(f"CHAPTER {n}. {title}\n\n" + "\n\n".join(paragraphs) + "\n\n"
                   for n, (title, paragraphs) in zip(numbers, CHAPTERS))
    return "THE TALE\n\nContents\nChapter I\nChapter II\n\n" + body


def md_book() -> str:
    return "# The Tale\n\n" + "".join(f"## {title}\n\n" + "\n\n".join(paragraphs) + "\n\n```\n# not a heading\n```\n\n"
                                      if title == "Home" else f"## {title}\n\n" + "\n\n".join(paragraphs) + "\n\n"
                                      for title, paragraphs in CHAPTERS)


def html_book() -> str:
    chapters = "".join(f"<section><h2>{title}</h2>" + "".join(f"<p>{p.replace('. ', '.  ')}</p>" for p in paragraphs)
                       + "</section>" for title, paragraphs in CHAPTERS)
    return (f"<!DOCTYPE html><html><head><title>The Tale</title><style>p {{margin: 0}}</style></head>"
            f"<body><h1>The Tale</h1><p>A story <em>for</em> children.</p>{chapters}</body></html>")


def epub_book(path, chapters=CHAPTERS) -> None:
    """A minimal EPUB 3: mimetype, container, package with a spine, nav, one XHTML file a chapter."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml",
                         '<?xml version="1.0"?><container version="1.0" '
                         'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
                         '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
                         '</rootfiles></container>')
        items = "".join(f'<item id="c{i}" href="text/c{i}.xhtml" media-type="application/xhtml+xml"/>'
                        for i in range(len(chapters)))
        spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
        archive.writestr("OEBPS/content.opf",
                         '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
                         '<metadata/><manifest><item id="nav" href="nav.xhtml" properties="nav" '
                         f'media-type="application/xhtml+xml"/>{items}</manifest><spine>{spine}</spine></package>')
        links = "".join(f'<li><a href="text/c{i}.xhtml">{title}</a></li>' for i, (title, _) in enumerate(chapters))
        archive.writestr("OEBPS/nav.xhtml", '<html xmlns="http://www.w3.org/1999/xhtml"><body>'
                                            f'<nav><ol>{links}</ol></nav></body></html>')
        for i, (title, paragraphs) in enumerate(chapters):
            body = "".join(f"<p>{p}</p>" for p in paragraphs)
            archive.writestr(f"OEBPS/text/c{i}.xhtml", '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">'
                                                       f"<head><title>{title}</title></head><body>"
                                                       f"<h2>Chapter {i + 1}</h2>{body}</body></html>")


@pytest.fixture()
def books(tmp_path):
    (tmp_path / "tale.txt").write_text(txt_book(), encoding="utf-8")
    (tmp_path / "tale.md").write_text(md_book(), encoding="utf-8")
    (tmp_path / "tale.html").write_text(html_book(), encoding="utf-8")
    epub_book(tmp_path / "tale.epub")
    return tmp_path


@pytest.mark.parametrize("name, titles, front, last", [
    ("tale.txt", ["CHAPTER I. The Storm", "CHAPTER II. Morning", "CHAPTER III. Home"],
     "THE TALE\n\nContents\nChapter I\nChapter II", HOME[0]),
    # a "#" line inside a code block is text, not a chapter
    ("tale.md", ["The Storm", "Morning", "Home"], "# The Tale", HOME[0] + "\n\n```\n# not a heading\n```"),
    ("tale.html", ["The Storm", "Morning", "Home"], "The Tale\n\nA story for children.", HOME[0]),
    ("tale.epub", ["The Storm", "Morning", "Home"], None, HOME[0]),
])
def test_each_format_gives_its_chapters_passages_offsets_and_ids(books, name, titles, front, last):
    records = list(book_records(books / name, Chunking(24)))
    text = read_book(books / name).text
    expected = ([(0, "", front)] if front else []) + [(c, titles[c - 1], t) for c, t in PASSAGES[:-1]]
    expected.append((3, titles[2], last))
    assert [(r.metadata["chapter"], r.metadata["chapter_title"], r.text) for r in records] == expected
    assert [r.id for r in records] == [f"{name}#{n}" for n in range(1, len(expected) + 1)]
    assert [r.metadata["position"] for r in records] == list(range(1, len(expected) + 1))
    assert all(r.metadata["source"] == name for r in records)
    for record in records:  # offsets point at the passage in the book's text (the file itself for .txt/.md)
        assert text[record.metadata["start"]:record.metadata["end"]] == record.text
    if name in ("tale.txt", "tale.md"):
        assert (books / name).read_text(encoding="utf-8") == text
    assert [r.id for r in book_records(books / name, Chunking(24))] == [r.id for r in records]  # stable


def test_the_default_keeps_paragraphs_and_chapters_whole_and_overlap_repeats_whole_sentences(books):
    records = list(book_records(books / "tale.txt"))
    assert [r.text for r in records][1:] == ["\n\n".join(STORM), MORNING[0], HOME[0]]
    overlapped = [r.text for r in book_records(books / "tale.txt", Chunking(24, 8))]
    assert overlapped[2] == "Anna was terrified of the dark sea.\n\n" + STORM[1]


def test_a_sentence_longer_than_a_passage_is_cut_between_words():
    text = " ".join(["word"] * 50) + ". Short one."
    spans = Chunking(16).split(text)
    pieces = [text[a:b] for a, b in spans]
    assert pieces == [" ".join(["word"] * 16)] * 3 + ["word word.", "Short one."]


def test_abbreviations_and_initials_do_not_end_sentences():
    text = "M. Morrel met Mrs. Bennet. J. R. wrote back. It rained."
    from hyperamy.sentences import sentences

    assert [text[a:b] for a, b in sentences(text)] == [
        "M. Morrel met Mrs. Bennet.", "J. R. wrote back.", "It rained."]


@pytest.mark.parametrize("value, message", [("8", "choose 16 to 8192"), ("100:80", "half the passage"),
                                            ("ten", "expected TOKENS or TOKENS:OVERLAP")])
def test_bad_chunk_settings_are_refused(value, message):
    with pytest.raises(InputError, match=message):
        Chunking.parse(value)


def test_unreadable_books_are_named(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"latin1.txt.*not valid UTF-8"):
        list(book_records(tmp_path / "latin1.txt"))
    (tmp_path / "broken.epub").write_bytes(b"PK not really")
    with pytest.raises(DataFormatError, match=r"broken.epub.*not a readable EPUB"):
        list(book_records(tmp_path / "broken.epub"))
    (tmp_path / "empty.md").write_text("\n\n  \n")
    with pytest.raises(DataFormatError, match="no text in this book"):
        list(book_records(tmp_path / "empty.md"))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "same.txt").write_text("One.")
    (tmp_path / "b" / "same.txt").write_text("Two.")
    with pytest.raises(DataFormatError, match="two books named 'same.txt'"):
        read_inputs([tmp_path / "a", tmp_path / "b"])


def test_long_records_of_any_corpus_are_cut_with_their_parent(tmp_path):
    import json

    corpus = tmp_path / "reviews.jsonl"
    corpus.write_text(json.dumps({"id": "r1", "text": "\n\n".join(STORM), "stars": 2}) + "\n"
                      + json.dumps({"id": "r2", "text": HOME[0], "stars": 5}) + "\n")
    inputs = read_inputs([corpus], Chunking(24))
    records = list(inputs.records)
    assert [(r.id, r.text, r.metadata) for r in records] == [
        ("r1#1", STORM[0], {"stars": 2, "parent": "r1", "position": 1, "start": 0, "end": len(STORM[0])}),
        ("r1#2", STORM[1], {"stars": 2, "parent": "r1", "position": 2, "start": len(STORM[0]) + 2,
                            "end": len(STORM[0]) + 2 + len(STORM[1])}),
        ("r2#1", HOME[0], {"stars": 5, "parent": "r2", "position": 1, "start": 0, "end": len(HOME[0])})]
    assert inputs.kept == {"source": {}, "parent": {"r1": {"r1#1", "r1#2"}, "r2": {"r2#1"}}}


class CountingEncoder:
    """The fake encoder, remembering every text it was asked to encode."""

    def __init__(self, inner):
        self.inner, self.texts = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode(self, texts, *args, **kwargs):
        self.texts += list(texts)
        return self.inner.encode(texts, *args, **kwargs)


def _index(engine, paths, chunking=None):
    inputs = read_inputs(paths, chunking)
    report = engine.add(inputs.records)
    removed = [i for field, kept in inputs.kept.items() for i in engine.remove_others(field, kept)]
    return report, removed


def test_reindexing_an_edited_chapter_encodes_only_its_passages_and_drops_what_is_gone(tmp_path, fake_encoder):
    book = tmp_path / "tale.txt"
    book.write_text(txt_book(), encoding="utf-8")
    encoder = CountingEncoder(fake_encoder)
    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=encoder)
    report, _ = _index(engine, [book], Chunking(24))
    assert (report.added, len(engine)) == (6, 6)
    before = {d["id"]: d for d in engine.list()}

    encoder.texts.clear()
    report, removed = _index(engine, [book], Chunking(24))
    assert (report.added, report.updated, report.unchanged, removed, encoder.texts) == (0, 0, 6, [], [])

    edited = "At dawn the sky cleared and Anna was happy. Everyone in the village ran down to the harbour."
    book.write_text(txt_book().replace(MORNING[0], edited), encoding="utf-8")
    encoder.texts.clear()
    report, removed = _index(engine, [book], Chunking(24))
    assert encoder.texts == [edited]  # chapter 2 is now one passage; only it was encoded
    assert (report.added, report.updated, report.reused, report.unchanged) == (0, 2, 1, 3)
    assert removed == ["tale.txt#6"]  # the book now has five passages
    after = {d["id"]: d for d in engine.list()}
    assert sorted(after) == [f"tale.txt#{n}" for n in range(1, 6)]
    assert after["tale.txt#4"]["text"] == edited and after["tale.txt#4"]["emotion"] == "joy"
    moved = after["tale.txt#5"]  # chapter 3's passage: same text, new place, feeling carried over
    assert (moved["text"], moved["metadata"]["chapter"]) == (HOME[0], 3)
    assert moved["metadata"]["start"] == txt_book().replace(MORNING[0], edited).index(HOME[0])
    assert moved["metadata"]["start"] != before["tale.txt#6"]["metadata"]["start"]
    assert moved["intensity"] == before["tale.txt#6"]["intensity"] and moved["kappa"] == before["tale.txt#6"]["kappa"]
    assert [h.id for h in engine.search("went home together", k=1, mode="lexical")] == ["tale.txt#5"]
    assert [h.id for h in engine.search("went home together", k=1, mode="semantic")] == ["tale.txt#5"]


def test_a_folder_of_books_indexes_each_under_its_own_name(books, fake_encoder, tmp_path):
    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=fake_encoder)
    inputs = read_inputs([books])
    assert inputs.total == 4 + 4 + 4 + 3  # front matter (not in the EPUB) + three chapters each, at 128 tokens
    engine.add(inputs.records)
    sources = [d["metadata"]["source"] for d in engine.list()]
    assert sorted(set(sources)) == ["tale.epub", "tale.html", "tale.md", "tale.txt"]
    found = engine.search("terrified", k=4, mode="lexical", where="chapter = 1")
    assert sorted(h.id for h in found) == ["tale.epub#1", "tale.html#2", "tale.md#2", "tale.txt#2"]


def test_the_shelf_lists_each_book_with_its_chapters_and_feeling(books, fake_encoder, tmp_path):
    from click.testing import CliRunner

    from hyperamy.cli import main

    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=fake_encoder)
    engine.add(read_inputs([books / "tale.txt", books / "tale.epub"]).records)
    engine.remove(["tale.txt#3"])  # chapter 2's passage: a deleted passage no longer counts
    shelf = engine.books()
    assert [(b["source"], b["passages"], b["chapters"]) for b in shelf] == [("tale.epub", 3, 3), ("tale.txt", 3, 2)]
    # the fake encoder: "terrified" is fear 0.9 at strength 0.9 = 0.81, in one of the txt's three passages
    assert shelf[1]["emotions"][0] == {"label": "fear", "intensity": pytest.approx(0.81 / 3, abs=1e-4)}
    assert shelf[1]["characters"] == sum(len(d["text"]) for d in engine.list(where="source = 'tale.txt'"))
    shown = CliRunner().invoke(main, ["books", "--index", str(engine.folder)])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[2].startswith("tale.txt          3         2")
    plain = HyperAmy.open(tmp_path / "plain", create=True, encoder=fake_encoder)
    plain.add([{"id": "x", "text": "No source here"}])
    with pytest.raises(InputError, match="holds no books"):
        plain.books()
