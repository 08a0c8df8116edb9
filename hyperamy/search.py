"""The read path of `HyperAmy.search`: candidates from each leg, one re-ranker, explained hits."""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Sequence

import numpy as np

from hyperamy.emotions import LABELS, label_index
from hyperamy.errors import InputError
from hyperamy.lexical import words
from hyperamy.rerank import MODES, certainty, emotion_similarity, fuse


@dataclasses.dataclass(frozen=True)
class Hit:
    """One result with every part of its score, so the ranking can be explained."""

    rank: int
    id: str
    mode: str
    score: float  # what the ranking sorted on
    semantic: float  # cosine of query and document meaning
    lexical: float  # BM25 keyword score
    emotion: float  # kappa-weighted cosine of the two emotions
    emotion_weight: float  # how much the emotion term counted (grows with the query's certainty)
    query_kappa: float
    kappa: float
    top_emotions: tuple[tuple[str, float], ...]
    text: str
    snippet: str
    metadata: dict[str, Any]

    def to_dict(self) -> dict:
        value = dataclasses.asdict(self)
        value["top_emotions"] = [{"label": name, "prob": round(p, 4)} for name, p in self.top_emotions]
        return value

    def explain(self) -> str:
        """One line saying how the score was made from its parts."""
        felt = ", ".join(f"{name} {p:.2f}" for name, p in self.top_emotions)
        parts = f"semantic {self.semantic:.3f}, keyword {self.lexical:.2f}, emotion {self.emotion:+.3f}"
        how = {
            "semantic": "the semantic cosine",
            "lexical": "the BM25 keyword score",
            "emotion": "the kappa-weighted emotion cosine",
            "hybrid": f"rank fusion {self.score - self.emotion_weight * self.emotion:.4f} "
                      f"+ {self.emotion_weight:.3f} x emotion",
        }[self.mode]
        return (f"score {self.score:.4f} = {how} ({parts}); kappa: query {self.query_kappa:.1f}, "
                f"document {self.kappa:.1f} [{felt}]")


def search(engine, parts, query: str, k: int, mode: str, where: str | None,
           emotion: Sequence[str] | None, span: str | None) -> list[Hit]:
    if not isinstance(query, str) or not query.strip():
        raise InputError("the query is empty")
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if k < 1:
        raise InputError("k must be at least 1")
    labels = [LABELS[label_index(name)] for name in (emotion or [])]
    allowed = parts.store.filter_rows(where, labels)
    if allowed is not None and not len(allowed):
        return []
    config, alpha = engine.config, engine.manifest["models"]["alpha"]
    encoded = engine.encoder.encode([query], spans=[span] if span else None)
    query_semantic, query_mu = encoded.semantic[0], encoded.emotion.mu[0]
    query_kappa = float(encoded.emotion.kappa[0])
    wanted = max(config.candidates, k)
    keyword_scores = parts.keyword.score_all(query)
    legs = []
    if mode in ("hybrid", "semantic"):
        legs.append(parts.semantic.search(query_semantic, wanted, allowed)[1])
    if mode in ("hybrid", "lexical"):
        legs.append(parts.keyword.top(keyword_scores, wanted, allowed)[1])
    if mode == "emotion" or (mode == "hybrid" and certainty(query_kappa, alpha) > 0 and config.emotion_weight > 0):
        legs.append(parts.emotion.search(query_mu, wanted, allowed)[1])
    candidates = np.unique(np.concatenate(legs)) if legs else np.zeros(0, np.int64)
    if not len(candidates):
        return []
    kappa = parts.store.kappas(candidates)
    semantic = parts.semantic.vectors(candidates) @ query_semantic
    lexical = parts.keyword.lookup(keyword_scores, candidates)
    feeling = emotion_similarity(query_mu, parts.emotion.vectors(candidates), kappa, alpha)
    scores, weight = fuse(mode, semantic, lexical, feeling, float(certainty(query_kappa, alpha)),
                          config.rrf_k, config.emotion_weight)
    order = np.argsort(-scores, kind="stable")[:k]
    stored = parts.store.fetch(candidates[order])
    hits = []
    for rank, i in enumerate(order, 1):
        fields, row_probs = stored[int(candidates[i])]
        top = np.argsort(-row_probs)[:3]
        metadata = {name: value for name, value in fields.items()
                    if name not in ("_row", "id", "text", "kappa", "emotion", "emotions")}
        hits.append(Hit(rank=rank, id=fields["id"], mode=mode, score=float(scores[i]), semantic=float(semantic[i]),
                        lexical=float(lexical[i]), emotion=float(feeling[i]), emotion_weight=weight,
                        query_kappa=query_kappa, kappa=float(kappa[i]),
                        top_emotions=tuple((LABELS[j], float(row_probs[j])) for j in top),
                        text=fields["text"], snippet=snippet(fields["text"], query), metadata=metadata))
    return hits


def snippet(text: str, query: str, width: int = 240) -> str:
    """A window of the text around its first query word, on one line."""
    flat = re.sub(r"\s+", " ", text).strip()
    if len(flat) <= width:
        return flat
    lowered = flat.lower()
    positions = [lowered.find(w) for w in words(query) if len(w) > 3 and w in lowered]
    start = max(0, min(positions) - width // 3) if positions else 0
    end = min(len(flat), start + width)
    return ("..." if start else "") + flat[start:end].strip() + ("..." if end < len(flat) else "")
