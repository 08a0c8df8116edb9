"""Intensity: how strongly a text, and each of its labels, is felt. Pure NumPy.

strength (n,) comes from the model's intensity head (EmotionModel.strength): the largest
softplus token score, capped at 1, fitted by `hyperamy train-intensity` so that 0 is a factual
statement and 1 an overwhelming feeling (intensity_training.py). Then

    intensity = strength * probs, with the neutral column set to 0     shape (n, 28)

intensity[i, k] is how strongly label k is felt in text i: a furious sentence reads anger about
0.7, an irritated one about 0.2, a docstring near 0 whatever its posterior says.

Why not kappa itself: kappa is the concentration of the label posterior, and a confidently
neutral text needs a high one; refitting kappa to intensity cost 0.034 test macro-F1 (model card).
"""
from __future__ import annotations

import numpy as np

from hyperamy.emotions import LABELS, NEUTRAL


def intensity(strength: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """(n, 28) per-label intensity: strength times the label's probability; neutral is never felt."""
    values = np.asarray(strength, dtype=np.float32)[:, None] * np.asarray(probs, dtype=np.float32)
    values[:, NEUTRAL] = 0.0
    return values


def by_label(strength: float, probs: np.ndarray) -> dict[str, float] | None:
    """One text's intensity as JSON shows it: {label: value} of the 27 felt labels, rounded to 4
    places; None where no strength was read (a model without an intensity head)."""
    if np.isnan(strength):
        return None
    per_label = intensity(np.float32([strength]), np.asarray(probs)[None])[0]
    return {name: round(float(per_label[j]), 4) for j, name in enumerate(LABELS) if j != NEUTRAL}
