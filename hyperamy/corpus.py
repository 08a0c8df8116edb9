"""Read JSONL, CSV and Parquet corpora into records, streaming; bad rows are named by file and line."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from pathlib import Path
from typing import Any, Iterator

from hyperamy import limits
from hyperamy.errors import DataFormatError

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "csv",
           ".parquet": "parquet", ".pq": "parquet"}


@dataclasses.dataclass(frozen=True)
class Record:
    """One document: its id, text and every other field as metadata."""

    id: str
    text: str
    metadata: dict[str, Any]
    source: str = ""  # "file:line", for messages
    id_generated: bool = False

    def __post_init__(self) -> None:
        from hyperamy import limits

        wrong = limits.problem(self.id, self.text, self.metadata)
        if wrong:
            raise DataFormatError(f"{self.source}: {wrong}" if self.source else wrong)

    @property
    def content_hash(self) -> str:
        """Hash of text and metadata: an unchanged document is not re-encoded."""
        payload = json.dumps([self.text, self.metadata], sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


@dataclasses.dataclass
class Skipped:
    """Rows left out under --skip-invalid, with the reason for each."""

    rows: list[str] = dataclasses.field(default_factory=list)

    def add(self, error: DataFormatError) -> None:
        self.rows.append(str(error))


STDIN = "-"
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd"}


def corpus_format(path: str | Path) -> tuple[str, str | None]:
    """(format, compression) from a file name: `-` is JSON Lines on standard input."""
    if str(path) == STDIN:
        return "jsonl", None
    suffixes = [s.lower() for s in Path(path).suffixes]
    compression = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    kind_suffix = (suffixes[-2] if len(suffixes) > 1 else "") if compression else (suffixes[-1] if suffixes else "")
    kind = FORMATS.get(kind_suffix)
    if kind is None or (compression and kind == "parquet"):
        known = ", ".join(sorted(FORMATS)) + "; .jsonl, .json, .csv and .tsv may end in .gz or .zst"
        raise DataFormatError(f"unknown corpus format {''.join(Path(path).suffixes)!r}; use one of {known}",
                              str(path))
    return ("json" if kind_suffix == ".json" else kind), compression


def read_records(path: str | Path, id_field: str | None = None, text_field: str = "text",
                 skipped: Skipped | None = None) -> Iterator[Record]:
    """Yield the records of one corpus file.

    Args:
        path: a .jsonl, .json (JSON Lines, or one array of objects), .csv, .tsv or .parquet file,
            the text ones optionally compressed (.gz, .zst); `-` reads JSON Lines from stdin.
        id_field: field holding the document id. None: `id` where present, else a hash of the
            text. A field named here must be in the first record.
        text_field: field holding the text.
        skipped: when given, invalid rows are recorded there and skipped instead of raising.

    Raises:
        DataFormatError: naming file and line, for the first invalid row (unless `skipped` is
            given), a named field the first record lacks, or a file with no records.
    """
    kind, compression = corpus_format(path)
    if str(path) != STDIN and not Path(path).is_file():
        raise DataFormatError("file not found", str(path))
    if kind in ("jsonl", "json"):
        rows = _json_rows(path, compression, kind == "json")
    else:
        rows = _sql_rows(Path(path), kind, compression)
    first = True
    for line, row in rows:
        try:
            if isinstance(row, DataFormatError):
                raise row
            if first and isinstance(row, dict):
                _check_named_fields(row, path, line, id_field, text_field)
            first = False
            yield record_from_row(row, path, line, id_field or "id", text_field)
        except DataFormatError as error:
            if skipped is None:
                error.row = True  # one bad row: a `skipped` would have taken it
                raise
            skipped.add(error)
    if first:
        raise DataFormatError("no records in this file", str(path))


def count_records(path: str | Path) -> int | None:
    """How many records a file holds, cheaply (lines, or DuckDB's row count); None for stdin."""
    kind, compression = corpus_format(path)
    if str(path) == STDIN or not Path(path).is_file():
        return None
    if kind == "jsonl":
        with _open_binary(Path(path), compression) as handle:
            return sum(1 for raw in handle if raw.strip())
    if kind == "json":
        return None  # an array is counted only by parsing it
    from hyperamy.store.files import FileQueryError, value

    try:
        return int(value(f"SELECT count(*) FROM {_source(Path(path), kind, compression)}", [str(path)]))
    except FileQueryError:
        return None


def _check_named_fields(row: dict, path, line: int, id_field: str | None, text_field: str) -> None:
    found = ", ".join(repr(k) for k in row) or "none"
    if id_field is not None and id_field not in row:
        raise DataFormatError(f"no id field {id_field!r} in the first record; its fields are {found}", str(path), line)
    if text_field not in row:
        raise DataFormatError(f"no text field {text_field!r} in the first record; its fields are {found} "
                              "(choose one with --text-field)", str(path), line)


def _open_binary(path: Path, compression: str | None):
    if compression == "gzip":
        import gzip

        return gzip.open(path, "rb")
    if compression == "zstd":
        import zstandard

        return io.BufferedReader(zstandard.open(path, "rb"))  # its reader does not iterate by line
    return path.open("rb")


def _json_rows(path, compression: str | None, may_be_array: bool) -> Iterator[tuple[int, Any]]:
    """JSON Lines, or (for .json) a single array of objects, numbered by line or by item."""
    import sys

    handle = sys.stdin.buffer if str(path) == STDIN else _open_binary(Path(path), compression)
    try:
        if may_be_array:
            data = handle.read()
            if data.lstrip().startswith(b"["):
                yield from _array_items(data, path)
                return
            lines = data.splitlines()
        else:
            lines = handle
        for line, raw in enumerate(lines, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield line, DataFormatError(f"not valid UTF-8 (byte {exc.start})", str(path), line)
                continue
            if not text.strip():
                continue
            try:
                yield line, json.loads(text)
            except json.JSONDecodeError as exc:
                yield line, DataFormatError(_malformed(exc), str(path), line)
            except RecursionError:
                yield line, DataFormatError("nested too deeply to read (thousands of levels)", str(path), line)
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()


def _array_items(data: bytes, path) -> Iterator[tuple[int, Any]]:
    try:
        items = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"not valid UTF-8 (byte {exc.start})", str(path)) from None
    except json.JSONDecodeError as exc:
        raise DataFormatError(_malformed(exc), str(path), exc.lineno) from None
    # items are numbered from 1 in place of lines
    yield from enumerate(items, 1)


def _malformed(exc: json.JSONDecodeError) -> str:
    """The decoder's message without its dangling "at" ("Invalid control character at"), where,
    and what to do about a raw control character."""
    message = f"malformed JSON: {exc.msg.removesuffix(' at')} at column {exc.colno}"
    if exc.msg.startswith("Invalid control character"):
        message += " (a raw tab or line break inside a string: write it as \\t or \\n)"
    return message


def _delimiter(path: Path) -> str:
    return "\t" if ".tsv" in [s.lower() for s in path.suffixes] else ","


def _source(path: Path, kind: str, compression: str | None) -> str:
    """The DuckDB table function that reads a corpus file (its path the query's one parameter).

    A CSV's first line is its header and its delimiter comes from its suffix: left to sniff, DuckDB
    took the widest line of a ragged file for the header and read "no records" (skip = 0, delim).
    """
    if kind == "parquet":
        return "read_parquet(?)"
    return (f"read_csv_auto(?, header = true, skip = 0, delim = '{_delimiter(path)}', "
            f"compression = '{compression or 'auto'}')")


def _ragged_line(path: Path, compression: str | None) -> tuple[int, int, int] | None:
    """(line, fields, header fields) of a CSV's first row whose field count differs from its
    header's, or None; read only to explain a file DuckDB refused."""
    import csv

    with io.TextIOWrapper(_open_binary(path, compression), encoding="utf-8", errors="replace", newline="") as text:
        rows = csv.reader(text, delimiter=_delimiter(path))
        header = next(rows, [])
        for row in rows:
            if row and len(row) != len(header):
                return rows.line_num, len(row), len(header)
    return None


def _sql_rows(path: Path, kind: str, compression: str | None) -> Iterator[tuple[int, Any]]:
    """CSV and Parquet through DuckDB (store/files.py), fetched in chunks so large files stream."""
    from hyperamy.store.files import FileQueryError, rows

    # a CSV's first data row is file line 2 (after the header); Parquet rows count from 1
    line = 1 if kind == "csv" else 0
    try:
        for row in rows(f"SELECT * FROM {_source(path, kind, compression)}", [str(path)], chunk=2048, threads=None):
            line += 1
            yield line, row
    except (FileQueryError, UnicodeDecodeError) as exc:
        ragged = _ragged_line(path, compression) if kind == "csv" and isinstance(exc, FileQueryError) else None
        if ragged:
            line, fields, header = ragged
            raise DataFormatError(f"this row has {fields} fields, the header {header}; quote values that hold "
                                  f"the delimiter", str(path), line) from None
        raise DataFormatError(f"cannot read {kind}: {str(exc).splitlines()[0]}", str(path)) from None


def record_from_row(row: Any, path, line: int, id_field: str, text_field: str) -> Record:
    if not isinstance(row, dict):
        raise DataFormatError(f"expected a JSON object, got {type(row).__name__}", str(path), line)
    text = row.get(text_field)
    if text_field not in row:
        raise DataFormatError(f"missing text field {text_field!r}; this record has "
                              f"{', '.join(repr(k) for k in row) or 'no fields'}", str(path), line)
    if text is None:
        raise DataFormatError(f"text field {text_field!r} is empty", str(path), line)
    if not isinstance(text, str):
        raise DataFormatError(f"text field {text_field!r} is {type(text).__name__}, not a string", str(path), line)
    if not text.strip():
        raise DataFormatError(f"text field {text_field!r} is empty", str(path), line)
    raw_id = row.get(id_field)
    generated = raw_id is None
    if generated:  # from the text, so the id survives reordering and re-export of the file
        raw_id = "doc-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    wrong = limits.id_problem(raw_id)
    if wrong:
        raise DataFormatError(f"id field {id_field!r}: {wrong}", str(path), line)
    metadata = {k: v for k, v in row.items() if k not in (id_field, text_field)}
    return Record(id=str(raw_id), text=text, metadata=metadata, source=f"{path}:{line}", id_generated=generated)
