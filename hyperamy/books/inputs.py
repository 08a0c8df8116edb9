"""What `hyperamy index` reads: corpus files, book files, folders of books and standard input,
as one stream of records, optionally cut into passages.

A re-indexed book (or a cut record) may now have fewer passages than before; `Inputs.kept`
says which ids each source (or parent) has now, so the index can drop the ones it no longer
has (`HyperAmy.remove_others`).
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Iterator, Sequence

from hyperamy.books.chunking import Chunking
from hyperamy.books.formats import BOOK_FORMATS, book_format
from hyperamy.books.records import book_records, chunked_records
from hyperamy.corpus import STDIN, Record, Skipped, count_records, read_records
from hyperamy.errors import DataFormatError

TABLE_FORMATS = ("jsonl", "json", "csv", "parquet")


@dataclasses.dataclass
class Inputs:
    """Records to index, how many (None when unknown before reading), and, filled as the records
    are read, the ids each book source and each cut record's parent has: {field: {value: ids}}."""

    records: Iterator[Record]
    total: int | None
    kept: dict[str, dict[str, set[str]]]


def read_inputs(paths: Sequence[str | Path], chunking: Chunking | None = None, id_field: str | None = None,
                text_field: str = "text", skipped: Skipped | None = None, stdin_format: str = "jsonl") -> Inputs:
    """Records of corpus files (cut into passages when `chunking` is given), book files and folders
    of book files (always cut: `chunking` or the default), `-` as `stdin_format`.

    Raises:
        DataFormatError: a folder with no book files, two books of one name (their ids would
            collide), or an unknown format.
    """
    if stdin_format not in TABLE_FORMATS and stdin_format not in set(BOOK_FORMATS.values()):
        raise DataFormatError(f"unknown --format {stdin_format!r}; use one of "
                              f"{', '.join(TABLE_FORMATS + tuple(sorted(set(BOOK_FORMATS.values()))))}")
    if stdin_format in TABLE_FORMATS and stdin_format != "jsonl" and STDIN in map(str, paths):
        raise DataFormatError(f"--format {stdin_format} on standard input: only jsonl and the book formats "
                              "(txt, md, html, epub) can be read from it")
    books, tables = [], []
    for path in paths:
        if str(path) == STDIN:
            (tables if stdin_format in TABLE_FORMATS else books).append(STDIN)
        elif Path(path).is_dir():
            found = sorted(p for p in Path(path).rglob("*") if p.is_file() and book_format(p))
            if not found:
                raise DataFormatError(f"no book files here (looked for {', '.join(sorted(BOOK_FORMATS))})", str(path))
            books.extend(found)
        elif book_format(path):
            books.append(Path(path))
        else:
            tables.append(path)
    names: dict[str, Path] = {}
    for path in books:
        name = "stdin" if path == STDIN else path.name
        if name in names:
            raise DataFormatError(f"two books named {name!r} ({names[name]} and {path}): their passage ids "
                                  f"would collide; index them one at a time or rename one")
        names[name] = path
    kept: dict[str, dict[str, set[str]]] = {"source": {}, "parent": {}}
    read_books = [list(_book(path, chunking or Chunking(), stdin_format)) for path in books]  # a book is small: count it
    counts = [count_records(path) for path in tables]
    total = None if None in counts or (chunking and tables) else sum(counts) + sum(map(len, read_books))

    def records() -> Iterator[Record]:
        for passages in read_books:
            for record in passages:
                kept["source"].setdefault(record.metadata["source"], set()).add(record.id)
                yield record
        for path in tables:
            rows = read_records(path, id_field, text_field, skipped)
            for record in (chunked_records(rows, chunking) if chunking else rows):
                if chunking:
                    kept["parent"].setdefault(record.metadata["parent"], set()).add(record.id)
                yield record

    return Inputs(records(), total, kept)


def _book(path, chunking: Chunking, stdin_format: str) -> Iterator[Record]:
    if path == STDIN:
        return book_records("stdin", chunking, name="stdin", kind=stdin_format, data=sys.stdin.buffer.read())
    return book_records(path, chunking)
