"""hyperamy: retrieval that understands how text feels as well as what it says."""
from __future__ import annotations

from hyperamy.errors import DataFormatError, HyperamyError, IndexStateError, InputError, WeightsError

__version__ = "0.1.0"
__all__ = ["HyperAmy", "Hit", "Record", "read_records", "EmotionEncoder", "EmotionBatch", "IndexConfig",
           "EncoderConfig", "HyperamyError", "InputError", "DataFormatError", "WeightsError", "IndexStateError",
           "__version__"]

# Heavy modules (torch, transformers, faiss, duckdb) load only when first asked for,
# so `hyperamy --help` and `import hyperamy` stay fast.
_LAZY = {
    "EmotionEncoder": "hyperamy.encoder.predict", "EmotionBatch": "hyperamy.encoder.outputs",
    "HyperAmy": "hyperamy.engine", "Hit": "hyperamy.search",
    "Record": "hyperamy.corpus", "read_records": "hyperamy.corpus",
    "IndexConfig": "hyperamy.config", "EncoderConfig": "hyperamy.config",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hyperamy' has no attribute {name!r}")
