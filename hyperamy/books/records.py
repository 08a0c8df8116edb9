"""Passages as index records: a book's (`file#n`) and long records cut up (`id#n`).

Ids number passages from 1 in reading order, so re-indexing an unchanged file gives the same
ids and contents (nothing is re-encoded), and an edited file changes only the passages whose
text or place moved. Each record carries where it came from: a book passage `source`,
`chapter` (its number among the chapters found, 0 for text before the first heading), `chapter_title`, `position`
(its number) and `start`/`end` (character offsets, see formats); a cut record `parent` (the
original id), `position`, `start`/`end`, and the original's metadata.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from hyperamy.books.chunking import Chunking
from hyperamy.books.formats import Book, read_book
from hyperamy.corpus import Record


def book_records(path: str | Path, chunking: Chunking | None = None, name: str | None = None,
                 kind: str | None = None, data: bytes | None = None) -> Iterator[Record]:
    """The passages of a book file; `name` (default: the file's name) is their `source` and id prefix."""
    chunking = chunking or Chunking()
    name = name or Path(path).name
    yield from passages_of(read_book(path, kind, data), chunking, name)


def passages_of(book: Book, chunking: Chunking, name: str) -> Iterator[Record]:
    position = 0
    for number, chapter in enumerate(book.chapters):
        # chapter 0 is text before any heading; a book whose first chapter has a heading starts at 1
        chapter_number = number + (1 if book.chapters[0].title else 0)
        for start, end in chunking.split(book.text, chapter.start, chapter.end):
            position += 1
            yield Record(id=f"{name}#{position}", text=book.text[start:end],
                         metadata={"source": name, "chapter": chapter_number, "chapter_title": chapter.title,
                                   "position": position, "start": start, "end": end},
                         source=f"{name}, passage {position}")


def chunked_records(records: Iterable[Record], chunking: Chunking) -> Iterator[Record]:
    """Each record cut into passages `id#1`, `id#2`, ... with `parent`, `position`, `start` and
    `end` added to its metadata (a record that fits is one passage, `id#1`)."""
    for record in records:
        spans = chunking.split(record.text)
        for position, (start, end) in enumerate(spans, 1):
            yield Record(id=f"{record.id}#{position}", text=record.text[start:end],
                         metadata={**record.metadata, "parent": record.id, "position": position, "start": start,
                                   "end": end},
                         source=record.source)
