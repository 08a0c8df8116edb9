"""Emotion arcs: how feeling moves through an index, in document order or along a field.

Each document (or, for an entity, each mention) contributes its per-label intensity: strength x
probability, summed into the chosen label set's classes, on a 0-1 scale (0: not felt; 1: felt
with full strength and certainty). Neutral is never felt, so it has no curve. With the label set
"vad" it contributes its valence, arousal and dominance instead, on EmoBank's 1-5 scale (3 neutral).

Two kinds of arc:
- in index order (no `by`): the mean over a centred window of documents (or mentions), sampled
  at evenly spaced points. An entity's arc breaks where it goes unmentioned for a long stretch
  (a gap, not a line drawn across it), and its windows never reach across such a gap.
- along a field (`by`): one point per chapter, date bin or value, the mean of the documents (or
  mentions) there; a chapter or date with none is a gap. Numbers that are whole (chapters) give
  a point for every number between the first and the last; dates are grouped by day, week, month
  or year (`bin`, by default the finest giving at most `points` points); other values (a book's
  source) one point each. `smooth` averages each point with its neighbours and says so.
"""
from __future__ import annotations

import dataclasses
import datetime

import numpy as np

from hyperamy.emotions import AFFECT, label_set
from hyperamy.errors import IndexStateError, InputError
from hyperamy.view import View

BINS = ("day", "week", "month", "year")
SCALE = "intensity: strength x probability, 0 = not felt, 1 = fully felt"
AFFECT_SCALE = "valence, arousal, dominance: 1 to 5 as EmoBank's raters scored sentences, 3 = neutral"
AFFECT_LABELS = "vad"  # the label set that draws valence, arousal and dominance


@dataclasses.dataclass(frozen=True)
class Arc:
    """An arc: at each point, the mean intensity of each class of a label set (NaN: no data there)."""

    labels: tuple[str, ...]
    x: list  # each point's place: a document's position (index order), or the field's value (chapter, date, value)
    ids: list  # index order: the document at each point; along a field: None
    values: np.ndarray  # (points, len(labels)); NaN rows are gaps
    counts: np.ndarray  # (points,) documents (or mentions) averaged at each point
    window: int  # index order: documents (or mentions) each point averages; along a field: points smoothed together
    order: str  # "index order" or the field
    axis: str  # "position", "number", "date" or "value"
    documents: int
    entity: str | None = None  # an entity's arc: each point averages its mentions, not whole documents
    mentions: int = 0  # how many mentions an entity's arc averages
    bin: str | None = None  # dates: day, week, month or year

    @property
    def affect(self) -> bool:
        """Whether the arc draws valence, arousal and dominance (1..5) rather than intensities (0..1)."""
        return self.labels == AFFECT

    @property
    def scale(self) -> str:
        return AFFECT_SCALE if self.affect else SCALE

    @property
    def unit(self) -> str:
        return "mentions" if self.entity else "documents"

    def describe(self) -> str:
        """What a point is, in words (for axis labels and text output)."""
        if self.axis == "position":
            return f"each point the mean of {self.window:,} {self.unit} around it"
        per = {"number": self.order, "date": self.bin, "value": self.order}[self.axis]
        smoothed = f", averaged with {self.window - 1} neighbouring points" if self.window > 1 else ""
        return f"each point the mean of the {self.unit} of one {per}{smoothed}"

    def to_pandas(self):
        """One row per point, indexed by its place (position, chapter, date or value): a column of
        mean intensity per class (NaN: a gap), the count it averages and, in index order, the id."""
        import pandas as pd

        key = "position" if self.axis == "position" else self.order
        frame = pd.DataFrame(self.values, columns=list(self.labels))
        frame.insert(0, self.unit, self.counts.astype(int))
        if self.axis == "position":
            frame.insert(0, "id", self.ids)
        index = pd.to_datetime(self.x) if self.axis == "date" else self.x
        frame.index = pd.Index(index, name=key)
        return frame

    def to_dict(self) -> dict:
        key = "position" if self.axis == "position" else self.order
        points = []
        for i, (x, row) in enumerate(zip(self.x, self.values)):
            point = {key: _plain(x), self.unit: int(self.counts[i])}
            if self.ids[i] is not None:
                point["id"] = self.ids[i]
            point.update({name: None if np.isnan(v) else round(float(v), 5) for name, v in zip(self.labels, row)})
            points.append(point)
        return {"order": self.order, "axis": self.axis, "bin": self.bin, "documents": self.documents,
                "window": self.window, "entity": self.entity, "mentions": self.mentions, "scale": self.scale,
                "describe": self.describe(), "labels": list(self.labels), "points": points}


def _plain(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


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
        from hyperamy.segments import AFFECT_AT

        place_of = {int(r): i for i, r in enumerate(rows)}
        inside = np.asarray([int(r) in place_of for r in entity.rows], bool)
        if not inside.any():
            raise InputError(f"no mention of {entity.name} in the documents to draw"
                             + (f" (--where {where!r})" if where else ""))
        places = np.asarray([place_of[int(r)] for r in entity.rows[inside]])
        order = np.lexsort((entity.start[inside], places))
        places = places[order]
        probs, strength = entity.feelings[inside][order, 1:29], entity.feelings[inside][order, 29]
        rated = entity.feelings[inside][order, AFFECT_AT]
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
    axis, bin_used = _axis(present, bin, points)
    if axis == "number":
        low, high = int(min(present)), int(max(present))
        if high - low + 1 > 100_000:
            raise InputError(f"--by {by!r} spans {high - low + 1:,} whole numbers; draw it in index order instead")
        keys = list(range(low, high + 1))
        key_of = {v: int(v) for v in set(present)}
    elif axis == "date":
        stamps = {v: _timestamp(v) for v in set(present)}
        first, last = min(stamps.values()), max(stamps.values())
        keys, bin_start = _date_bins(first, last, bin_used)
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


def _axis(present: list, bin: str | None, points: int) -> tuple[str, str | None]:
    if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in present):
        if all(float(v).is_integer() for v in present):
            return "number", None
        return "value", None
    if all(_timestamp(v) is not None for v in present[:1000]) and all(_timestamp(v) is not None for v in present):
        if bin:
            return "date", bin
        stamps = [_timestamp(v) for v in present]
        first, last = min(stamps), max(stamps)
        for choice in BINS:
            if len(_date_bins(first, last, choice)[0]) <= points:
                return "date", choice
        return "date", "year"
    return "value", None


def _timestamp(value) -> datetime.datetime | None:
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day)
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-":
        try:
            return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            return None
    return None


def _date_bins(first: datetime.datetime, last: datetime.datetime, bin: str):
    """(every bin's start date from first to last, the function giving a timestamp's bin start)."""
    def start(t: datetime.datetime) -> datetime.date:
        day = t.date()
        if bin == "week":
            return day - datetime.timedelta(days=day.weekday())
        if bin == "month":
            return day.replace(day=1)
        if bin == "year":
            return day.replace(month=1, day=1)
        return day

    keys, at, end = [], start(first), start(last)
    while at <= end:
        keys.append(at)
        if bin == "day":
            at += datetime.timedelta(days=1)
        elif bin == "week":
            at += datetime.timedelta(days=7)
        elif bin == "month":
            at = (at.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        else:
            at = at.replace(year=at.year + 1)
        if len(keys) > 100_000:
            raise InputError(f"over 100,000 {bin}s between {first.date()} and {last.date()}: choose a longer --bin")
    return keys, start


def _ordered_rows(view: View, by: str | None, where: str | None) -> tuple[np.ndarray, list]:
    """Live rows (passing `where`) in index order, or ordered by `by` with its value for each."""
    if by is None:
        from hyperamy.browse import matching_rows

        return matching_rows(view, where), []
    from hyperamy.segments import metadata_column
    from hyperamy.store import identifier

    _, fields = view.store.query("SELECT * FROM documents LIMIT 0")
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
