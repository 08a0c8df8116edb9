"""What a framework's document carries of a hit: the passage's own metadata, and how hyperamy
read and ranked it under the README's JSON names."""
from __future__ import annotations

from typing import Any

from hyperamy.errors import InputError

# hyperamy's own keys in a framework document's metadata (kept out of what an LLM or embedder reads)
FEELING_KEYS = ("hyperamy_id", "score", "rank", "mode", "semantic_part", "lexical_part", "emotion_part",
                "emotion", "emotions", "top_emotions", "kappa", "strength", "intensity", "valence", "arousal",
                "dominance")


def hit_metadata(hit) -> dict[str, Any]:
    """The document's metadata, then hyperamy's reading and score parts (a metadata field with one
    of those names is kept as `meta_<name>`)."""
    scored = {"hyperamy_id": hit.id, "score": hit.score, "rank": hit.rank, "mode": hit.mode,
            "semantic_part": hit.semantic_part, "lexical_part": hit.lexical_part, "emotion_part": hit.emotion_part,
            "emotion": hit.emotion, "top_emotions": [{"label": n, "prob": round(p, 4)} for n, p in hit.top_emotions],
            "kappa": hit.kappa, "strength": hit.strength, "intensity": hit.intensity, "valence": hit.valence,
            "arousal": hit.arousal, "dominance": hit.dominance}
    own = {(f"meta_{name}" if name in scored else name): value for name, value in hit.metadata.items()}
    return {**own, **scored}


def search_options(defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A search's options: the retriever's, with those given for this one call replacing them."""
    unknown = set(overrides) - set(defaults)
    if unknown:
        raise InputError(f"unknown search option {', '.join(sorted(unknown))}; use {', '.join(sorted(defaults))}")
    return {**defaults, **overrides}


def open_index(index):
    """A HyperAmy, opened from a folder when given a path."""
    from hyperamy.engine import HyperAmy

    return index if isinstance(index, HyperAmy) else HyperAmy.open(index)
