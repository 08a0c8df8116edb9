"""The books in an index: for each source, its chapters and passages and how it is felt."""
from __future__ import annotations

import numpy as np

from hyperamy.errors import InputError
from hyperamy.segments import INTENSITY_COLUMNS, metadata_column
from hyperamy.store import identifier

FELT = [name.removeprefix("intensity_") for name in INTENSITY_COLUMNS]


def books(view, top: int = 3) -> list[dict]:
    """One entry per `source` among the live documents, in name order: passages, chapters (with
    headings), characters, mean strength and the `top` emotions by mean intensity (0-1)."""
    if not view.segments:
        return []
    fields = view.store.columns()
    source, chapter = metadata_column("source"), metadata_column("chapter")
    if source not in fields:
        raise InputError("this index holds no books: its documents have no `source` field (index .txt, .md, .html "
                         "or .epub files to get one)")
    chapters = (f"count(DISTINCT {identifier(chapter)}) FILTER (WHERE {identifier(chapter)} > 0)"
                if chapter in fields else "0")
    means = ", ".join(f"avg({identifier(c)})" for c in INTENSITY_COLUMNS)
    found, _ = view.store.query(
        f"SELECT CAST({identifier(source)} AS VARCHAR), count(*), {chapters}, sum(length(text)), avg(strength), "
        f"{means} FROM documents WHERE _row NOT IN (SELECT unnest(?::BIGINT[])) AND {identifier(source)} IS NOT NULL "
        f"GROUP BY 1 ORDER BY 1", [[int(r) for r in view.tombstones]])
    shelf = []
    for name, passages, chapter_count, characters, strength, *felt in found:
        felt = np.asarray([np.nan if v is None else v for v in felt], np.float64)
        order = [int(i) for i in np.argsort(-np.nan_to_num(felt, nan=-1.0))[:top]]
        known = strength is not None and not np.isnan(strength)
        shelf.append({"source": name, "passages": int(passages), "chapters": int(chapter_count),
                      "characters": int(characters), "strength": round(float(strength), 4) if known else None,
                      "emotions": [{"label": FELT[i], "intensity": round(float(felt[i]), 4)} for i in order]
                      if known else []})
    return shelf
