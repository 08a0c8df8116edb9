"""The probabilistic emotion encoder (mu on the unit sphere, kappa as certainty)."""
from __future__ import annotations

from hyperamy.encoder.predict import EmotionBatch, EmotionEncoder  # noqa: F401

__all__ = ["EmotionBatch", "EmotionEncoder"]
