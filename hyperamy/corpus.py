"""Read JSONL, CSV and Parquet corpora into records, streaming; bad rows are named by file and line."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any, Iterator

from hyperamy.errors import DataFormatError

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "csv",
           ".parquet": "parquet", ".pq": "parquet"}


@dataclasses.dataclass(frozen=True)
class Record:
    """One document: its id, text and every other field as metadata."""

    id: str
    text: str
    metadata: dict[str, Any]
    source: str = ""  # "file:line", for messages
    id_generated: bool = False

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


def read_records(path: str | Path, id_field: str = "id", text_field: str = "text",
                 skipped: Skipped | None = None) -> Iterator[Record]:
    """Yield the records of one corpus file.

    Args:
        path: a .jsonl, .csv or .parquet file.
        id_field: field holding the document id; where absent, the id is a hash of the text.
        text_field: field holding the text.
        skipped: when given, invalid rows are recorded there and skipped instead of raising.

    Raises:
        DataFormatError: naming file and line, for the first invalid row (unless `skipped` is given).
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError("file not found", str(path))
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataFormatError(f"unknown corpus format {path.suffix!r}; use one of {', '.join(sorted(FORMATS))}",
                              str(path))
    rows = _jsonl_rows(path) if kind == "jsonl" else _duckdb_rows(path, kind)
    for line, row in rows:
        try:
            if isinstance(row, DataFormatError):
                raise row
            yield _to_record(row, path, line, id_field, text_field)
        except DataFormatError as error:
            if skipped is None:
                raise
            skipped.add(error)


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open("rb") as handle:
        for line, raw in enumerate(handle, 1):
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
                yield line, DataFormatError(f"malformed JSON: {exc.msg} at column {exc.colno}", str(path), line)


def _duckdb_rows(path: Path, kind: str) -> Iterator[tuple[int, Any]]:
    """CSV and Parquet through DuckDB, fetched in chunks so large files stream."""
    import duckdb

    reader = "read_parquet" if kind == "parquet" else "read_csv_auto"
    connection = duckdb.connect()
    try:
        result = connection.execute(f"SELECT * FROM {reader}(?)", [str(path)])
        columns = [d[0] for d in result.description]
        # a CSV's first data row is file line 2 (after the header); Parquet rows count from 1
        line = 1 if kind == "csv" else 0
        while chunk := result.fetchmany(2048):
            for values in chunk:
                line += 1
                yield line, dict(zip(columns, values))
    except (duckdb.Error, UnicodeDecodeError) as exc:
        raise DataFormatError(f"cannot read {kind}: {str(exc).splitlines()[0]}", str(path)) from None
    finally:
        connection.close()


def _to_record(row: Any, path: Path, line: int, id_field: str, text_field: str) -> Record:
    if not isinstance(row, dict):
        raise DataFormatError(f"expected a JSON object, got {type(row).__name__}", str(path), line)
    text = row.get(text_field)
    if text is None:
        raise DataFormatError(f"missing text field {text_field!r}", str(path), line)
    if not isinstance(text, str):
        raise DataFormatError(f"text field {text_field!r} is {type(text).__name__}, not a string", str(path), line)
    if not text.strip():
        raise DataFormatError(f"text field {text_field!r} is empty", str(path), line)
    raw_id = row.get(id_field)
    generated = raw_id is None or raw_id == ""
    if generated:  # from the text, so the id survives reordering and re-export of the file
        raw_id = "doc-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    elif not isinstance(raw_id, (str, int)) or isinstance(raw_id, bool):
        raise DataFormatError(f"id field {id_field!r} must be a string or integer", str(path), line)
    metadata = {k: v for k, v in row.items() if k not in (id_field, text_field)}
    return Record(id=str(raw_id), text=text, metadata=metadata, source=f"{path}:{line}", id_generated=generated)
