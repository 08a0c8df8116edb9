"""What one record may hold: checked before anything is written, one line naming what is wrong.

A `corpus.Record` checks itself with `problem` when it is made, so every write path (files, the
Python API, HTTP, Ray) refuses such a record before it reaches a segment, and a file's bad row
is named by file and line and can be skipped (`--skip-invalid`) like any other. `id_problem`
checks an id as given, before it becomes a string.

Refused, and why:
- text, ids, field names or values that are not valid Unicode (a lone surrogate such as
  "\\ud800"): they cannot be written as UTF-8;
- an id that is empty, or not a string or integer;
- metadata nested deeper than MAX_DEPTH (DuckDB refuses such Parquet files), integers outside
  64 bits (Parquet has no larger integer), an empty field name, two names that differ only
  in case (DuckDB's columns ignore case: `Tag` and `tag` would be one column), and names
  beginning with `meta_` that the reserved names take (`row` is stored as `meta_row`).
"""
from __future__ import annotations

from typing import Any

MAX_DEPTH = 32  # levels of nested objects and lists in one metadata value
INT64 = (-(2 ** 63), 2 ** 63 - 1)


def id_problem(id_: Any) -> str | None:
    """What is wrong with an id as given (a string or an integer), in one line, or None."""
    if isinstance(id_, bool) or not isinstance(id_, (str, int)):
        return f"the id must be a string or integer, not {type(id_).__name__}"
    if isinstance(id_, str) and not id_.strip():
        return "the id is empty (leave the id field out of a file's record to have one made from the text)"
    if not _encodable(str(id_)):
        return "the id is not valid Unicode (it holds a lone surrogate)"
    return None


def problem(id_: Any, text: Any, metadata: dict) -> str | None:
    """What is wrong with a record, in one line, or None."""
    from hyperamy.segments import RESERVED

    wrong = id_problem(id_)
    if wrong:
        return wrong
    if isinstance(text, str) and not _encodable(text):
        return "the text is not valid Unicode (it holds a lone surrogate)"
    folded: dict[str, str] = {}
    for name, value in metadata.items():
        if not isinstance(name, str) or not name.strip():
            return "a metadata field has an empty name"
        if not _encodable(name):
            return f"the metadata field name {name.encode('utf-8', 'backslashreplace').decode()!r} is not valid Unicode"
        if name.lower() in folded:
            return (f"metadata fields {folded[name.lower()]!r} and {name!r} differ only in case, and are one column "
                    "in an index; rename one of them")
        folded[name.lower()] = name
        if name.lower().startswith("meta_") and name.lower()[5:] in RESERVED:
            return (f"the metadata field name {name!r} is taken: the reserved field {name[5:]!r} is stored under "
                    "it; rename it")
        wrong = _value_problem(value, 0)
        if wrong:
            return f"metadata field {name!r}: {wrong}"
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _value_problem(value: Any, depth: int) -> str | None:
    """Iterative, so a value nested 100,000 levels deep is refused, not a RecursionError."""
    stack = [(value, depth)]
    while stack:
        item, level = stack.pop()
        if level > MAX_DEPTH:
            return f"nested more than {MAX_DEPTH} levels deep"
        if isinstance(item, bool) or item is None or isinstance(item, float):
            continue
        if isinstance(item, int):
            if not INT64[0] <= item <= INT64[1]:
                return f"the integer {str(item)[:24]}... does not fit in 64 bits (give it as text)"
        elif isinstance(item, str):
            if not _encodable(item):
                return "a value is not valid Unicode (it holds a lone surrogate)"
        elif isinstance(item, dict):
            for key, inner in item.items():
                if not isinstance(key, str) or not _encodable(key):
                    return "a nested field name is not valid Unicode text"
                stack.append((inner, level + 1))
        elif isinstance(item, (list, tuple)):
            stack.extend((inner, level + 1) for inner in item)
    return None
