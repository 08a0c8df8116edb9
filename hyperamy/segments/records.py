"""What a new segment stores: its documents, and the entity mentions found in them."""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

from hyperamy.segments.feelings import FEELING_COLUMNS, feelings_table
from hyperamy.vectors import VectorIndex


@dataclasses.dataclass
class Documents:
    """What a new segment stores, one entry per document, in ascending row order."""

    rows: np.ndarray
    ids: list[str]
    texts: list[str]
    hashes: list[str]
    metadata: list[dict[str, Any]]
    semantic: np.ndarray
    mu: np.ndarray
    kappa: np.ndarray
    probs: np.ndarray
    strength: np.ndarray | None = None  # None: the model has no intensity head
    mentions: "Mentions | None" = None  # None: the index does not look for mentions
    affect: np.ndarray | None = None  # (n, 3) valence, arousal, dominance; None: the model has no such head

    def feelings(self) -> np.ndarray:
        return feelings_table(self.kappa, self.probs, self.strength, self.affect)

    @classmethod
    def join(cls, parts: Sequence["Documents"]) -> "Documents":
        """One batch of several whose rows follow one another in ascending order."""
        def stacked(name):
            values = [getattr(p, name) for p in parts]
            if any(v is None for v in values):  # a part without a head: NaN there, as feelings_table stores it
                if all(v is None for v in values):
                    return None
                values = [np.full((len(p.rows), 3) if name == "affect" else len(p.rows), np.nan, np.float32)
                          if v is None else v for p, v in zip(parts, values)]
            return np.concatenate(values)

        found = [p.mentions for p in parts if p.mentions is not None]
        return cls(rows=np.concatenate([p.rows for p in parts]), ids=sum((p.ids for p in parts), []),
                   texts=sum((p.texts for p in parts), []), hashes=sum((p.hashes for p in parts), []),
                   metadata=sum((p.metadata for p in parts), []), semantic=np.concatenate([p.semantic for p in parts]),
                   mu=np.concatenate([p.mu for p in parts]), kappa=np.concatenate([p.kappa for p in parts]),
                   probs=np.concatenate([p.probs for p in parts]), strength=stacked("strength"),
                   mentions=Mentions.join(found, parts[0].mu.shape[1]) if found else None, affect=stacked("affect"))


@dataclasses.dataclass
class Mentions:
    """Entity mentions of a segment's documents, ordered by (row, start)."""

    rows: np.ndarray  # (m,) int64: the document's row
    entity: list[str]  # the name each resolves to
    surface: list[str]  # the text as written
    start: np.ndarray  # (m,) character offsets in the document's text
    end: np.ndarray
    source: list[str]  # "list", "field" or "auto" (entities/detect.py)
    initial: np.ndarray  # (m,) bool: opens a sentence
    mu: np.ndarray  # (m, dim) emotion directions
    feelings: np.ndarray  # (m, 33): like a segment's feelings.npy (feelings_table)
    index: VectorIndex | None = None  # FAISS over mu, ids = places in this table (as read from a segment)

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, keep: np.ndarray) -> "Mentions":
        keep = np.asarray(keep)
        return Mentions(self.rows[keep], [self.entity[i] for i in keep], [self.surface[i] for i in keep],
                        self.start[keep], self.end[keep], [self.source[i] for i in keep], self.initial[keep],
                        self.mu[keep], self.feelings[keep])

    @classmethod
    def join(cls, parts: Sequence["Mentions"], dim: int) -> "Mentions":
        """One table of several, ordered by (row, start)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls(np.zeros(0, np.int64), [], [], np.zeros(0, np.int64), np.zeros(0, np.int64), [],
                       np.zeros(0, bool), np.zeros((0, dim), np.float32), np.zeros((0, FEELING_COLUMNS), np.float32))
        rows, start = np.concatenate([p.rows for p in parts]), np.concatenate([p.start for p in parts])
        joined = cls(rows, sum((p.entity for p in parts), []), sum((p.surface for p in parts), []), start,
                     np.concatenate([p.end for p in parts]), sum((p.source for p in parts), []),
                     np.concatenate([p.initial for p in parts]), np.concatenate([p.mu for p in parts]),
                     np.concatenate([p.feelings for p in parts]))
        return joined.take(np.lexsort((start, rows)))
