"""The probabilistic emotion encoder (mu on the unit sphere, kappa as certainty).

EmotionEncoder loads torch; it is imported on first use, so that the torch-free search path
(runtime.py, ONNX Runtime) can import this package's other modules without it.
"""
from __future__ import annotations

__all__ = ["EmotionBatch", "EmotionEncoder"]


def __getattr__(name: str):
    if name == "EmotionEncoder":
        from hyperamy.encoder.predict import EmotionEncoder

        return EmotionEncoder
    if name == "EmotionBatch":
        from hyperamy.encoder.outputs import EmotionBatch

        return EmotionBatch
    raise AttributeError(f"module 'hyperamy.encoder' has no attribute {name!r}")
