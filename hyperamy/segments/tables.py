"""The Arrow tables behind docs.parquet and mentions.parquet: fixed columns, per-label
intensities, valence/arousal/dominance, and metadata typed as the index's earlier segments."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hyperamy.emotions import AFFECT, LABELS
from hyperamy.encoder.intensity import intensity
from hyperamy.errors import DataFormatError
from hyperamy.segments.layout import INTENSITY_COLUMNS, ROW_GROUP, metadata_column
from hyperamy.segments.records import Documents


def docs_table(documents: Documents, thresholds: np.ndarray, fields: dict[str, str]):
    """The Arrow table of docs.parquet: fixed columns, then metadata, typed as earlier segments."""
    import pyarrow as pa

    chosen = documents.probs >= np.asarray(thresholds)[None, :]
    emotions = [[LABELS[i] for i in np.argsort(-p) if c[i]] for p, c in zip(documents.probs, chosen)]
    columns: dict[str, Any] = {
        "row": pa.array(np.asarray(documents.rows, np.int64)), "id": pa.array(documents.ids, pa.string()),
        "text": pa.array(documents.texts, pa.string()), "hash": pa.array(documents.hashes, pa.string()),
        "kappa": pa.array(np.asarray(documents.kappa, np.float32)),
        "emotion": pa.array([LABELS[i] for i in documents.probs.argmax(1)], pa.string()),
        "emotions": pa.array(emotions, pa.list_(pa.string())),
    }
    if documents.strength is not None:  # for --where: strength > 0.5, intensity_anger > 0.6
        columns.update(strength_columns(documents.strength, documents.probs))
    if documents.affect is not None:  # for --where: arousal > 3.5
        columns.update(affect_columns(documents.affect))
    columns.update(metadata_columns(documents.metadata, fields))
    return pa.table(columns)


def strength_columns(strength: np.ndarray, probs: np.ndarray) -> dict:
    """Arrow arrays of `strength` and each felt label's `intensity_<label>` (docs and mentions tables)."""
    import pyarrow as pa

    intensities = intensity(strength, probs)
    return {"strength": pa.array(np.asarray(strength, np.float32)),
            **{name: pa.array(intensities[:, LABELS.index(name.removeprefix("intensity_"))]) for name in INTENSITY_COLUMNS}}


def metadata_columns(metadata: Sequence[dict], fields: dict[str, str]) -> dict:
    """Arrow arrays of the metadata fields, checked against (and added to) the index's `fields`.

    DuckDB's column names ignore case: a name that differs only in case from another in these
    documents, or from a field the index already has, would be one column with two meanings, and
    is refused (a Record refuses it within one document, limits.py).
    """
    import pyarrow as pa

    sources: dict[str, str] = {}
    folded = {column.lower(): column for column in fields}
    for record in metadata:
        for name in record:
            column = metadata_column(name)
            sources.setdefault(column, name)
            if folded.setdefault(column.lower(), column) != column:
                raise DataFormatError(f"metadata field {name!r} differs only in case from the field "
                                      f"{folded[column.lower()]!r} of this index or of another document; use one "
                                      "spelling")
    columns = {}
    for column, name in sources.items():
        values = [record.get(name) for record in metadata]
        try:
            array = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            kinds = sorted({type(v).__name__ for v in values if v is not None})
            raise DataFormatError(f"metadata field {name!r} holds {' and '.join(kinds)} values in different documents; "
                                  "give it one type in every document (numbers as numbers, or all as text)") from None
        columns[column] = _as_known_type(column, array, fields)
    return columns


def _as_known_type(column: str, array, fields: dict[str, str]):
    import pyarrow as pa

    known = fields.get(column)
    if known is None or known == "null" or known == str(array.type):
        if known in (None, "null"):
            fields[column] = str(array.type)
        return array
    target = _parse_type(known)
    try:
        return array.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        raise DataFormatError(f"metadata field {column!r} holds {known} in this index but {array.type} here; "
                              "give it one type in every document") from None


def _parse_type(name: str):
    """An Arrow type from its string form (the common scalar and list types metadata takes)."""
    import pyarrow as pa

    simple = {"int64": pa.int64(), "int32": pa.int32(), "double": pa.float64(), "float": pa.float32(),
              "string": pa.string(), "large_string": pa.large_string(), "bool": pa.bool_(),
              "timestamp[us]": pa.timestamp("us"), "date32[day]": pa.date32()}
    if name in simple:
        return simple[name]
    if name.startswith("list<item: ") and name.endswith(">"):
        return pa.list_(_parse_type(name[len("list<item: "):-1]))
    return pa.string()


def write_parquet(table, path: Path) -> None:
    import pyarrow.parquet as pq

    # No min/max statistics for the texts: nothing prunes on them, and for one 50 MB text the
    # writer held two more copies of it (peak +341 MB against +104 MB without, measured alone)
    statistics = [name for name in table.column_names if name != "text"]
    pq.write_table(table, path, row_group_size=ROW_GROUP, compression="zstd", write_statistics=statistics)


def affect_columns(affect: np.ndarray) -> dict:
    """Arrow arrays of valence, arousal and dominance (docs and mentions tables), for --where."""
    import pyarrow as pa

    return {name: pa.array(np.asarray(affect[:, i], np.float32)) for i, name in enumerate(AFFECT)}
