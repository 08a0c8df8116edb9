"""A document's (or a mention's) feelings as one float32 row: kappa, the 28 label probabilities,
strength, valence, arousal, dominance; NaN where the model has no such head (feelings.npy)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

FEELING_COLUMNS = 33  # kappa, 28 label probabilities, strength, valence, arousal, dominance
STRENGTH_AT, AFFECT_AT = 29, slice(30, 33)


class Feelings(NamedTuple):
    """The named columns of a feelings table (or of one row of it): views, no copy."""

    kappa: np.ndarray  # (n,) certainty, >= 1
    probs: np.ndarray  # (n, 28) label probabilities
    strength: np.ndarray  # (n,) how strongly felt, 0..1; NaN: the model has no intensity head
    affect: np.ndarray  # (n, 3) valence, arousal, dominance on 1..5; NaN: the model has no such head

    @classmethod
    def of(cls, table: np.ndarray) -> "Feelings":
        return cls(table[..., 0], table[..., 1:29], table[..., STRENGTH_AT], table[..., AFFECT_AT])


def feelings_table(kappa: np.ndarray, probs: np.ndarray, strength: np.ndarray | None,
                   affect: np.ndarray | None = None) -> np.ndarray:
    """(n, 33) float32: kappa, the 28 label probabilities, strength, valence, arousal, dominance
    (NaN where the model has no such head)."""
    strength_column = np.full(len(kappa), np.nan, np.float32) if strength is None else strength
    rated = np.full((len(kappa), 3), np.nan, np.float32) if affect is None else np.asarray(affect).reshape(-1, 3)
    return np.column_stack([kappa, probs, strength_column, rated]).astype(np.float32)


def widen_feelings(feelings: np.ndarray) -> np.ndarray:
    """A feelings table as written by any version (29, 30 or 33 columns) with all 33 (NaN: not stored)."""
    if feelings.ndim != 2 or feelings.shape[1] not in (29, 30, FEELING_COLUMNS):
        raise ValueError(f"a feelings table has {feelings.shape} values, expected (n, {FEELING_COLUMNS})")
    missing = FEELING_COLUMNS - feelings.shape[1]
    if not missing:
        return feelings
    return np.column_stack([feelings, np.full((len(feelings), missing), np.nan, np.float32)]).astype(np.float32)
