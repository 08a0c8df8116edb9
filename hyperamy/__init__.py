"""hyperamy: retrieval that understands how text feels as well as what it says."""
from __future__ import annotations

from hyperamy.errors import DataFormatError, HyperamyError, InputError, WeightsError

__version__ = "0.1.0"
__all__ = ["EmotionEncoder", "EmotionBatch", "HyperamyError", "InputError", "DataFormatError",
           "WeightsError", "__version__"]


def __getattr__(name: str):
    # torch and transformers load only when the encoder is asked for, so `hyperamy --help` is fast.
    if name in ("EmotionEncoder", "EmotionBatch"):
        from hyperamy.encoder import predict

        return getattr(predict, name)
    raise AttributeError(f"module 'hyperamy' has no attribute {name!r}")
