"""Reading an arc off an index: each document's (or mention's) feelings, in order or along a field."""
from __future__ import annotations

import numpy as np

from hyperamy.arcs.arc import AFFECT_LABELS, Arc
from hyperamy.arcs.axes import BINS, axis_kind, date_bins, timestamp
from hyperamy.emotions import AFFECT, label_set
from hyperamy.errors import IndexStateError, InputError
from hyperamy.view import View


def arc(view: View, by: str | None = None, labels: str = "ekman", window: int | None = None, points: int = 200,
        where: str | None = None, entity=None, bin: str | None = None, smooth: int = 1) -> Arc:
    """The arc of the live documents (those passing `where`) in index order, or along the field `by`.

    With `entity` (entities.About) each point averages that entity's mentions instead: how it
    is felt, mention by mention. `labels` "vad" draws valence, arousal and dominance (1..5).
    """
    affect = labels == AFFECT_LABELS
    if not affect:
        names, matrix = label_set(labels)
        keep = [i for i, name in enumerate(names) if matrix[:, i].any() and name != "neutral"]
    if bin is not None and bin not in BINS:
        raise InputError(f"--bin must be one of {', '.join(BINS)}, not {bin!r}")
    if smooth < 1 or (window is not None and window < 1):
        raise InputError("--window and --smooth must be at least 1")
    rows, values = _ordered_rows(view, by, where)
    if not len(rows):
        raise InputError("no documents to draw an arc over" + (f" (--where {where!r})" if where else ""))
    if entity is None:
        _, probs, strength, rated = view.feelings(rows)
        places = np.arange(len(rows))
    else:  # mentions in the order of their documents (and their place in them)
        from hyperamy.segments import Feelings

        place_of = {int(r): i for i, r in enumerate(rows)}
        inside = np.asarray([int(r) in place_of for r in entity.rows], bool)
        if not inside.any():
            raise InputError(f"no mention of {entity.name} in the documents to draw"
                             + (f" (--where {where!r})" if where else ""))
        places = np.asarray([place_of[int(r)] for r in entity.rows[inside]])
        order = np.lexsort((entity.start[inside], places))
        places = places[order]
        _, probs, strength, rated = Feelings.of(entity.feelings[inside][order])
    if affect:
        missing = int(np.isnan(rated).any(axis=1).sum())
        if missing:
            raise IndexStateError(f"this index stores no valence, arousal and dominance for {missing:,} of the "
                                  f"{len(rated):,} {'mentions' if entity is not None else 'documents'} to draw (built "
                                  "with weights without that head); rebuild it with `hyperamy index` to draw them")
        readings, shown = rated.astype(np.float64), AFFECT
    else:
        if np.isnan(strength).any():
            raise IndexStateError("this index stores no strength (it was built with weights older than the "
                                  "intensity head); rebuild it with `hyperamy index` to draw arcs")
        readings, shown = (strength[:, None] * probs) @ matrix[:, keep], tuple(names[i] for i in keep)
    common = dict(labels=shown, documents=len(rows),
                  entity=None if entity is None else entity.name, mentions=0 if entity is None else len(readings))
    if by is None:
        return _in_order(view, rows, places, readings, window, points, entity is not None, common)
    return _along(values, places, readings, by, bin, points, smooth, common)


def _in_order(view: View, rows, places, readings, window, points, sparse: bool, common) -> Arc:
    """Moving means in index order; for an entity, broken where it goes unmentioned for long."""
    window = window or max(1, len(readings) // 50)
    # a stretch of more than a fiftieth of the documents (at least 20) with no mention is a gap
    gap = max(20, len(rows) // 50) if sparse else len(rows) + 1
    breaks = np.flatnonzero(np.diff(places) > gap) + 1
    xs, ids, values, counts = [], [], [], []
    for part, (start, end) in enumerate(zip(np.r_[0, breaks], np.r_[breaks, len(readings)])):
        smooth = _moving_mean(readings[start:end], window)
        share = max(1, round(points * (end - start) / len(readings)))
        chosen = np.unique(np.linspace(0, end - start - 1, min(share, end - start)).round().astype(int))
        if part:  # a gap between this stretch and the one before
            xs.append(int(places[start - 1] + places[start]) // 2)
            ids.append(None)
            values.append(np.full(readings.shape[1], np.nan))
            counts.append(0)
        for c in chosen:
            xs.append(int(places[start + c]))
            values.append(smooth[c])
            counts.append(min(window, end - start))
        fetched = view.fetch(rows[places[start + chosen]])
        ids += [fetched[int(row)]["id"] for row in rows[places[start + chosen]]]
    return Arc(x=xs, ids=ids, values=np.asarray(values, np.float64), counts=np.asarray(counts), window=window,
               order="index order", axis="position", **common)


def _along(values: list, places: np.ndarray, readings: np.ndarray, by: str, bin: str | None, points: int, smooth: int,
           common) -> Arc:
    """One point per whole number, date bin or value of the field `by`; empty ones are gaps."""
    present = [v for v in values if v is not None]
    if not present:
        raise InputError(f"no document has a value in {by!r}")
    axis, bin_used = axis_kind(present, bin, points)
    if axis == "number":
        low, high = int(min(present)), int(max(present))
        if high - low + 1 > 100_000:
            raise InputError(f"--by {by!r} spans {high - low + 1:,} whole numbers; draw it in index order instead")
        keys = list(range(low, high + 1))
        key_of = {v: int(v) for v in set(present)}
    elif axis == "date":
        stamps = {v: timestamp(v) for v in set(present)}
        first, last = min(stamps.values()), max(stamps.values())
        keys, bin_start = date_bins(first, last, bin_used)
        key_of = {v: bin_start(t) for v, t in stamps.items()}
    else:
        keys = sorted(set(present), key=lambda v: (str(type(v)), v))
        key_of = {v: v for v in keys}
    slot = {k: i for i, k in enumerate(keys)}
    where = np.asarray([slot[key_of[values[p]]] if values[p] is not None else -1 for p in places])
    sums, counts = np.zeros((len(keys), readings.shape[1])), np.zeros(len(keys))
    ok = where >= 0
    np.add.at(sums, where[ok], readings[ok])
    np.add.at(counts, where[ok], 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts[:, None]
    means[counts == 0] = np.nan
    if smooth > 1:
        means = _nan_moving_mean(means, smooth)
    return Arc(x=keys, ids=[None] * len(keys), values=means, counts=counts.astype(int), window=smooth, order=by,
               axis=axis, bin=bin_used, **common)


def _ordered_rows(view: View, by: str | None, where: str | None) -> tuple[np.ndarray, list]:
    """Live rows (passing `where`) in index order, or ordered by `by` with its value for each."""
    if by is None:
        from hyperamy.browse import matching_rows

        return matching_rows(view, where), []
    from hyperamy.segments import metadata_column
    from hyperamy.store import identifier

    fields = view.store.columns()
    column = metadata_column(by)
    if column not in fields or by == "_row":
        shown = ", ".join(f for f in fields if f != "_row")
        raise InputError(f"--by {by!r} is not a field of this index; its fields are {shown}")
    select = f"SELECT _row, {identifier(column)} FROM documents"
    if where:
        found = view.store.select(where, f"{select} WHERE {view.store.condition(where)} "
                                         f"ORDER BY {identifier(column)}, _row")
    else:
        found, _ = view.store.query(f"{select} ORDER BY {identifier(column)}, _row")
    alive = set(view.alive(np.asarray([r[0] for r in found], np.int64)).tolist())
    kept = [r for r in found if r[0] in alive]
    return np.asarray([r[0] for r in kept], np.int64), [r[1] for r in kept]


def _moving_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean over a centred window (shorter at the ends: only documents that exist count)."""
    sums = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    n = len(values)
    start = np.clip(np.arange(n) - window // 2, 0, n)
    end = np.clip(np.arange(n) + (window - window // 2), 0, n)
    return (sums[end] - sums[start]) / (end - start)[:, None]


def _nan_moving_mean(values: np.ndarray, window: int) -> np.ndarray:
    """A centred moving mean over points, empty points left out of it and kept empty."""
    filled = np.nan_to_num(values)
    present = (~np.isnan(values[:, 0])).astype(float)[:, None]
    sums, counts = _moving_mean(filled, window), _moving_mean(present, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = sums / counts
    out[np.isnan(values[:, 0])] = np.nan
    return out
