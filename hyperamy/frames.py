"""pandas in and out (the only import of pandas): a DataFrame of texts becomes records, and every
list of results (hits, documents, entities, books) becomes a DataFrame with one column per value.
"""
from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np

# Columns a row's nested values are spread into; a metadata field that would clash gets `meta_`.
_SPREAD = ("intensity", "metadata")


class Results(list):
    """A list of results (search hits, documents, entities, books) that `.to_pandas()` turns into
    a DataFrame: one row each, `intensity` spread into `intensity_<label>` columns and metadata
    into its own columns (`meta_<name>` where a name is taken)."""

    def to_pandas(self):
        import pandas as pd

        rows = [_flat(item.to_dict() if hasattr(item, "to_dict") else item) for item in self]
        return pd.DataFrame(rows)


def _flat(row: dict) -> dict:
    out = {key: value for key, value in row.items() if key not in _SPREAD}
    for label, value in (row.get("intensity") or {}).items():
        out[f"intensity_{label}"] = value
    for name, value in (row.get("metadata") or {}).items():
        out[f"meta_{name}" if name in out or name in _SPREAD else name] = value
    return out


def is_frame(value: Any) -> bool:
    """Whether `value` is a pandas DataFrame, without importing pandas when it was never imported."""
    import sys

    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


def frame_records(frame, id_field: str = "id", text_field: str = "text") -> Iterator:
    """The rows of a DataFrame as records: `text_field` is the text, `id_field` the id (a column, or
    the index when it is named so; absent: made from the text), every other column metadata.
    Missing values (NaN, NaT, None) are left out of a row's metadata rather than stored as NaN. A bad
    row is named by its position, as a file's bad line is."""
    from hyperamy.corpus import record_from_row
    from hyperamy.errors import InputError

    columns = [str(c) for c in frame.columns]
    if text_field not in columns:
        raise InputError(f"the DataFrame has no {text_field!r} column (it has {', '.join(columns) or 'none'}); "
                         "name the text column with text_field=")
    if len(set(columns)) != len(columns):
        raise InputError("the DataFrame has two columns with one name")
    from_index = id_field not in columns and frame.index.name == id_field
    for position, (index, values) in enumerate(zip(frame.index, frame.itertuples(index=False, name=None))):
        row = {name: _plain(value) for name, value in zip(columns, values)}
        row = {name: value for name, value in row.items() if value is not None or name == text_field}
        if from_index:
            row[id_field] = _plain(index)
        yield record_from_row(row, "DataFrame", position + 1, id_field, text_field)


def _plain(value):
    """A cell as a plain Python value (None for missing)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    import pandas as pd

    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value
