"""A question's meaning vector, moved toward the passages that answer it.

A question and the passage that answers it say different things: "Why did the king send for the
tailor?" is a question about a reason, the passage is a story about a king. Plain MiniLM puts a
question near other questions. The fitted fusion therefore reads a question's meaning through a
linear map, `v + v @ W` (renormalised), fitted on FairytaleQA train questions and the story sections
that answer them (benchmarks/fit_question_adapter.py). Passages are indexed as they always were:
only the question moves, so every index built before works as it is.

The map belongs to one backbone's vector space (the file says which); an index built with another
backbone reads questions unchanged.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from hyperamy.rerank import asks_question

SHIPPED = Path(__file__).resolve().parent / "question_adapter.safetensors"


@functools.lru_cache(maxsize=1)
def shipped() -> tuple[str, np.ndarray] | None:
    """(backbone, W) of the shipped map, or None if the package has none."""
    if not SHIPPED.is_file():
        return None
    return read(SHIPPED)


def read(path: Path) -> tuple[str, np.ndarray]:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as handle:
        backbone = handle.metadata()["backbone"]
        return backbone, handle.get_tensor("weight").astype(np.float32)


def write(path: Path, backbone: str, weight: np.ndarray, about: dict[str, str]) -> None:
    from safetensors.numpy import save_file

    from hyperamy.files import atomic_path

    with atomic_path(path) as tmp:
        save_file({"weight": np.ascontiguousarray(weight, dtype=np.float32)}, str(tmp),
                  metadata={"backbone": backbone, **about})


def moved(vector: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """`vector + vector @ weight`, unit norm (the vector itself if that is zero)."""
    out = vector + vector @ weight
    norm = float(np.linalg.norm(out))
    return (out / norm).astype(np.float32) if norm > 0 else vector


def for_search(vector: np.ndarray, text: str, encoder: str, weight: np.ndarray | None = None) -> np.ndarray:
    """The meaning vector the fitted fusion ranks by for the query `text`: for a question
    (rerank.asks_question), `vector` moved by `weight`, or by the shipped map when it was fitted in
    the backbone of the index's encoder (`encoder`, manifest models.encoder: "backbone+weights");
    for anything else, `vector` itself."""
    if not asks_question(text):
        return vector
    if weight is None:
        found = shipped()
        if found is None or encoder.split("+")[0] != found[0]:
            return vector
        weight = found[1]
    return moved(vector, weight) if weight.shape[0] == vector.shape[-1] else vector
