"""Emotion arcs: how feeling moves through an index, in document order, smoothed over a window.

Each document contributes its per-label intensity (strength x probability, summed into the
chosen label set's classes); the arc is the mean over a centred window of documents, sampled at
evenly spaced points. Neutral is never felt, so it has no curve.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from hyperamy.emotions import label_set
from hyperamy.errors import IndexStateError, InputError


@dataclasses.dataclass(frozen=True)
class Arc:
    """An arc: at each point, the smoothed intensity of each class of a label set."""

    labels: tuple[str, ...]
    positions: np.ndarray  # (points,) index of the document in the arc's order
    ids: list[str]  # the document at each point
    values: np.ndarray  # (points, len(labels)) mean intensity over the window around each point
    window: int
    order: str  # "index order" or the metadata field that ordered the documents
    documents: int
    entity: str | None = None  # an entity's arc: each point averages its mentions, not whole documents
    mentions: int = 0  # how many mentions an entity's arc averages

    def to_dict(self) -> dict:
        return {"order": self.order, "documents": self.documents, "window": self.window, "entity": self.entity,
                "mentions": self.mentions,
                "labels": list(self.labels),
                "points": [{"position": int(p), "id": i, **{name: round(float(v), 5) for name, v in zip(self.labels, row)}}
                           for p, i, row in zip(self.positions, self.ids, self.values)]}


def arc(view, by: str | None = None, labels: str = "ekman", window: int | None = None, points: int = 200,
        where: str | None = None, entity=None) -> Arc:
    """The arc of the live documents (those passing `where`), ordered by a metadata field or by index order.

    With `entity` (entities.About) each point averages that entity's mentions instead: how it
    is felt, mention by mention, placed at its document's position in the order.
    """
    names, matrix = label_set(labels)
    keep = [i for i, name in enumerate(names) if matrix[:, i].any() and name != "neutral"]
    rows = _ordered_rows(view, by, where)
    if not len(rows):
        raise InputError("no documents to draw an arc over" + (f" (--where {where!r})" if where else ""))
    if entity is None:
        _, probs, strength, _ = view.feelings(rows)
        places, found = np.arange(len(rows)), rows
    else:  # mentions in the order of their documents (and their place in them)
        place_of = {int(r): i for i, r in enumerate(rows)}
        inside = np.asarray([int(r) in place_of for r in entity.rows], bool)
        if not inside.any():
            raise InputError(f"no mention of {entity.name} in the documents to draw"
                             + (f" (--where {where!r})" if where else ""))
        places = np.asarray([place_of[int(r)] for r in entity.rows[inside]])
        order = np.lexsort((entity.start[inside], places))
        places, found = places[order], entity.rows[inside][order]
        probs, strength = entity.feelings[inside][order, 1:29], entity.feelings[inside][order, 29]
    if np.isnan(strength).any():
        raise IndexStateError("this index stores no strength (it was built with weights older than the "
                              "intensity head); rebuild it with `hyperamy index` to draw arcs")
    felt = (strength[:, None] * probs) @ matrix[:, keep]
    window = window or max(1, len(felt) // 50)
    if window < 1:
        raise InputError("--window must be at least 1 document")
    smooth = _moving_mean(felt, window)
    chosen = np.unique(np.linspace(0, len(felt) - 1, min(points, len(felt))).round().astype(int))
    fetched = view.fetch(found[chosen])
    ids = [fetched[int(row)]["id"] for row in found[chosen]]
    return Arc(tuple(names[i] for i in keep), places[chosen], ids, smooth[chosen], window, by or "index order",
               len(rows), None if entity is None else entity.name, 0 if entity is None else len(felt))


def _ordered_rows(view, by: str | None, where: str | None) -> np.ndarray:
    if by is None:
        from hyperamy.browse import matching_rows

        return matching_rows(view, where)
    from hyperamy.store import identifier

    _, fields = view.store.query("SELECT * FROM documents LIMIT 0")
    if by not in fields or by == "_row":
        shown = ", ".join(f for f in fields if f != "_row")
        raise InputError(f"--by {by!r} is not a field of this index; its fields are {shown}")
    if where:
        sql = f"SELECT _row FROM documents WHERE {view.store.condition(where)} ORDER BY {identifier(by)}, _row"
        found = view.store.select(where, sql)
    else:
        found, _ = view.store.query(f"SELECT _row FROM documents ORDER BY {identifier(by)}, _row")
    return view.alive(np.asarray([r[0] for r in found], np.int64))


def _moving_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean over a centred window (shorter at the ends: only documents that exist count)."""
    sums = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    n = len(values)
    start = np.clip(np.arange(n) - window // 2, 0, n)
    end = np.clip(np.arange(n) + (window - window // 2), 0, n)
    return (sums[end] - sums[start]) / (end - start)[:, None]


def plot_arc(result: Arc, path, style: str = "lines", title: str | None = None) -> None:
    """Draw an arc as lines or stacked areas, with labelled axes and a legend, into an image file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if style not in ("lines", "areas"):
        raise InputError(f"style must be lines or areas, not {style!r}")
    figure, axes = plt.subplots(figsize=(11, 5), dpi=110)
    x = result.positions
    if style == "areas":
        axes.stackplot(x, result.values.T, labels=result.labels, alpha=0.85)
    else:
        for i, name in enumerate(result.labels):
            axes.plot(x, result.values[:, i], label=name, linewidth=1.6)
    axes.set_xlabel(f"document ({result.order}; {result.documents:,} documents)")
    if result.entity is None:
        axes.set_ylabel(f"intensity, mean over {result.window} documents")
        axes.set_title(title or "How feeling moves through the index")
    else:
        axes.set_ylabel(f"intensity, mean over {result.window} mentions")
        axes.set_title(title or f"How {result.entity} is felt ({result.mentions:,} mentions)")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
