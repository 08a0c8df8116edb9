"""The precision documents are encoded in: bfloat16 where the CPU multiplies it natively (AMX or
AVX-512 BF16), float32 elsewhere.

In bfloat16 the transformer layers run under torch's CPU autocast: matrix products take bfloat16
inputs and accumulate in float32, while softmax, layer norms and everything after the layers
(pooling, the heads) stay float32. On this machine (AMX), benchmarks/document_precision.py
(commit e1756a2) encoded 2,000 Monte Cristo passages at 1.37x plain sentence-transformers against
0.85x in float32 (16 texts a batch), with a semantic cosine of at least 0.99995 to the float32
vectors and the same dense Recall@10 and GoEmotions macro-F1; whole indexing ran at 1.51x
(benchmarks/speed.py, commit 2d049bc).
Without native bfloat16 it would be slower than float32, so it is never used there.
HYPERAMY_PRECISION=float32 keeps float32 everywhere (vectors exactly those of sentence-transformers).
"""
from __future__ import annotations

import functools
import os

from hyperamy.errors import InputError

PRECISIONS = ("auto", "bfloat16", "float32")
BATCH = {"bfloat16": 16, "float32": 64}  # texts a batch, chosen on 2,000 Monte Cristo passages (see above)


def document_precision(requested: str | None = None) -> str:
    """"bfloat16" or "float32": `requested`, else $HYPERAMY_PRECISION, else what the CPU computes natively.

    Raises:
        InputError: an unknown precision.
    """
    requested = requested or os.environ.get("HYPERAMY_PRECISION") or "auto"
    if requested not in PRECISIONS:
        raise InputError(f"HYPERAMY_PRECISION must be one of {', '.join(PRECISIONS)}, not {requested!r}")
    if requested != "auto":
        return requested
    return "bfloat16" if _native_bfloat16() else "float32"


@functools.lru_cache(maxsize=1)
def _native_bfloat16() -> bool:
    import torch

    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())
