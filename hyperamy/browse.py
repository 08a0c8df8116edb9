"""Everyday reads of an index's documents: get by id, list, count and export."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from hyperamy.emotions import AFFECT
from hyperamy.errors import InputError
from hyperamy.segments import INTENSITY_COLUMNS

PAGE = 2048
FORMATS = ("jsonl", "csv", "parquet")
SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet",
            ".pq": "parquet"}


def format_of(path: str | Path, format: str | None = None) -> str:
    """The export format: the one given, else the one OUTPUT's suffix names.

    Raises:
        InputError: no format given and the suffix names none (never a silent guess).
    """
    if format is not None:
        if format not in FORMATS:
            raise InputError(f"export format must be one of {', '.join(FORMATS)}, not {format!r}")
        return format
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"cannot tell the export format from {str(path)!r}: name the file .jsonl, .csv or "
                         f".parquet, or give --format ({', '.join(FORMATS)})")
    return SUFFIXES[suffix]


def matching_rows(view, where: str | None = None) -> np.ndarray:
    """Live rows in ascending order, only those passing `where` when it is given."""
    if where:
        return view.alive(view.store.filter_rows(where))
    return view.live_rows()


def documents(view, rows: np.ndarray) -> Iterator[dict]:
    """Each row's document: id, text, kappa, emotion, emotions, strength, intensity, valence, arousal,
    dominance and its metadata.

    strength and intensity (the 27 felt labels, in label order) are None where the index was
    built without an intensity head.
    """
    fixed = ("_row", "id", "text", "kappa", "emotion", "emotions")
    for start in range(0, len(rows), PAGE):
        found, names = view.store.documents(rows[start:start + PAGE])
        for values in found:
            fields = dict(zip(names, values))
            document = {name: fields.pop(name) for name in fixed}
            document["row"] = document.pop("_row")
            document["strength"] = fields.pop("strength", None)
            intensities = {name.removeprefix("intensity_"): fields.pop(name, None) for name in INTENSITY_COLUMNS}
            document["intensity"] = None if document["strength"] is None else intensities
            for name in AFFECT:  # None: built without that head
                document[name] = fields.pop(name, None)
            document["metadata"] = fields
            yield document


def get(view, ids: Sequence[str]) -> dict[str, dict]:
    """{id: document} of the ids that are in the index."""
    rows = view.alive(np.asarray(sorted(row for _, row, _ in view.versions(list(ids))), np.int64))
    return {document["id"]: document for document in documents(view, rows)}


def export(view, path: str | Path, format: str | None = None, vectors: bool = False,
           where: str | None = None) -> int:
    """Write the live documents (optionally with their semantic and emotion vectors) to a JSON
    Lines, CSV or Parquet file (`format`, else from the file's suffix).

    Returns how many were written. The file is written beside its final name and renamed, so an
    interrupted export leaves no half file.
    """
    from hyperamy.files import atomic_path
    from hyperamy.jsontext import dumps

    format = format_of(path, format)
    rows = matching_rows(view, where)
    with atomic_path(Path(path)) as tmp:
        if format == "jsonl":
            with open(tmp, "w", encoding="utf-8") as handle:
                for start in range(0, len(rows), PAGE):
                    for document in _with_vectors(view, rows[start:start + PAGE], vectors):
                        handle.write(dumps(document) + "\n")
        elif format == "csv":
            _export_csv(view, rows, tmp, vectors)
        else:
            _export_parquet(view, rows, tmp, vectors)
    return len(rows)


def _export_csv(view, rows: np.ndarray, path: Path, vectors: bool) -> None:
    """One row a document: its fields, `intensity_<label>` columns, then metadata by name; lists
    and objects as JSON text."""
    import csv

    from hyperamy.jsontext import dumps, plain

    def flat(document: dict) -> dict:
        intensity = document.pop("intensity") or {}
        metadata = document.pop("metadata")
        out = {**document, **{f"intensity_{k}": v for k, v in intensity.items()}, **metadata}
        return {k: dumps(v) if isinstance(v, (list, dict, tuple)) else plain(v) for k, v in out.items()}

    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = None
        for start in range(0, len(rows), PAGE):
            for document in _with_vectors(view, rows[start:start + PAGE], vectors):
                row = flat(document)
                if writer is None:
                    writer = csv.DictWriter(handle, fieldnames=list(row))  # every document has these columns
                    writer.writeheader()
                writer.writerow(row)
        if writer is None:
            handle.write("id,text\n")


def _with_vectors(view, rows: np.ndarray, vectors: bool) -> Iterator[dict]:
    found = list(documents(view, rows))
    if vectors and found:
        semantic, mu = view.vectors("semantic", rows), view.vectors("emotion", rows)
        for document, s, m in zip(found, semantic, mu):
            document["semantic"], document["mu"] = s.tolist(), m.tolist()
    return iter(found)


def _export_parquet(view, rows: np.ndarray, path: Path, vectors: bool) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    try:
        for start in range(0, max(len(rows), 1), PAGE):
            page = list(_with_vectors(view, rows[start:start + PAGE], vectors))
            for document in page:
                document.update(document.pop("metadata"))  # stored names: never those of the fixed fields
            table = pa.Table.from_pylist(page) if page else pa.table({"id": pa.array([], pa.string())})
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
