"""What an arc is: its points, what each point means, and how it reads as text, JSON or a DataFrame."""
from __future__ import annotations

import dataclasses
import datetime

import numpy as np

from hyperamy.emotions import AFFECT

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
