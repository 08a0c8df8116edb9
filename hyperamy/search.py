"""The read path of `HyperAmy.search`: candidates from each leg, one re-ranker, explained hits."""
from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any, Sequence

import numpy as np

from hyperamy.emotions import LABELS, label_index
from hyperamy.encoder.intensity import intensity
from hyperamy.errors import InputError
from hyperamy import lexical
from hyperamy.lexical import words
from hyperamy.rerank import MODES, certainty, contributions, emotion_similarity, semantic_share


@dataclasses.dataclass(frozen=True)
class Hit:
    """One result with every part of its score, so the ranking can be explained."""

    rank: int
    id: str
    mode: str
    score: float  # what the ranking sorted on
    semantic: float  # cosine of query and document meaning
    lexical: float  # BM25 keyword score
    emotion: float  # label overlap of the two emotions times the document's certainty, 0 to 1
    emotion_weight: float  # how much the emotion term counted (grows with the query's certainty)
    semantic_part: float  # what meaning added to the score (the three parts sum to it)
    lexical_part: float  # what keywords added
    emotion_part: float  # what emotion added
    semantic_share: float  # the share of relevance meaning had (hybrid); keywords had the rest
    query_kappa: float
    kappa: float
    top_emotions: tuple[tuple[str, float], ...]
    strength: float | None  # how strongly the document is felt, 0..1 (None: built without an intensity head)
    intensity: tuple[tuple[str, float], ...]  # strength x probability of each of the top emotions
    text: str
    snippet: str
    metadata: dict[str, Any]
    warning: str | None = None  # said of the query, e.g. emotion mode with a query that feels nothing

    def to_dict(self) -> dict:
        value = dataclasses.asdict(self)
        value["top_emotions"] = [{"label": name, "prob": round(p, 4)} for name, p in self.top_emotions]
        value["intensity"] = [{"label": name, "intensity": round(v, 4)} for name, v in self.intensity]
        return value

    def explain(self) -> str:
        """How the score was made: each part with its weight; the printed parts add up to the score."""
        felt = ", ".join(f"{name} {p:.2f}" for name, p in self.top_emotions)
        if self.mode == "hybrid":
            share = self.semantic_share
            meaning = self.semantic_part / share if share else 0.0
            keywords = self.lexical_part / (1 - share) if share < 1 else 0.0
            how = (f"meaning {self.semantic_part:.4f} ({share:.2f} x {meaning:.3f}, the cosine {self.semantic:.3f} "
                   f"as a z-score over the candidates) + keywords {self.lexical_part:.4f} ({1 - share:.2f} x "
                   f"{keywords:.3f}, BM25 {self.lexical:.2f} as a z-score) + emotion {self.emotion_part:.4f} "
                   f"({self.emotion_weight:.3f} x {self.emotion:.3f})")
        else:
            how = {"semantic": f"the cosine {self.semantic:.4f}", "lexical": f"BM25 {self.lexical:.4f}",
                   "emotion": f"the certainty-weighted emotion overlap {self.emotion:.4f}"}[self.mode]
        strength = "" if self.strength is None else f", strength {self.strength:.2f}"
        return (f"score {self.score:.4f} = {how}; kappa: query {self.query_kappa:.1f}, "
                f"document {self.kappa:.1f}{strength} [{felt}]")


@dataclasses.dataclass(frozen=True)
class Query:
    """A query as the ranker sees it: its words, meaning vector and emotion."""

    text: str
    semantic: np.ndarray  # (d,) unit norm
    mu: np.ndarray  # (64,) unit norm
    probs: np.ndarray  # (28,) label posterior
    kappa: float


@dataclasses.dataclass(frozen=True)
class Ranked:
    """The k best candidates (in order) with every part of their scores."""

    rows: np.ndarray
    scores: np.ndarray
    semantic: np.ndarray
    lexical: np.ndarray
    emotion: np.ndarray
    kappa: np.ndarray
    probs: np.ndarray
    strength: np.ndarray  # NaN where the index stores none
    emotion_weight: float
    parts: dict[str, np.ndarray]  # what each signal added to each score
    semantic_share: float  # the share of relevance meaning got for this query


def search(engine, view, query: str, k: int, mode: str, where: str | None,
           emotion: Sequence[str] | None, span: str | None, config=None) -> list[Hit]:
    config = config or engine.config
    if not isinstance(query, str) or not query.strip():
        raise InputError("the query is empty")
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if k < 1:
        raise InputError("k must be at least 1")
    labels = [LABELS[label_index(name)] for name in (emotion or [])]
    allowed = view.store.filter_rows(where, labels)
    if allowed is not None:
        allowed = view.alive(allowed)
        if not len(allowed):
            return []
    encoded = engine.query_encoder.encode_query(query, span)
    felt = encoded.emotion
    with single_threaded_blas():
        ranked = rank(view, config, view.manifest["models"]["alpha"],
                      Query(query, encoded.semantic[0], felt.mu[0], felt.probs[0], float(felt.kappa[0])),
                      k, mode, allowed)
    stored = view.fetch(ranked.rows)
    warning = _feelingless(mode, felt, view.manifest["models"]["alpha"])
    hits = []
    for i, row in enumerate(ranked.rows):
        fields, row_probs, row_strength = stored[int(row)], ranked.probs[i], float(ranked.strength[i])
        top = np.argsort(-row_probs)[:3]
        row_felt = None if np.isnan(row_strength) else intensity(np.float32([row_strength]), row_probs[None])[0]
        hits.append(Hit(rank=i + 1, id=fields["id"], mode=mode, score=float(ranked.scores[i]),
                        semantic=float(ranked.semantic[i]), lexical=float(ranked.lexical[i]),
                        emotion=float(ranked.emotion[i]), emotion_weight=ranked.emotion_weight,
                        semantic_part=float(ranked.parts["semantic"][i]),
                        lexical_part=float(ranked.parts["lexical"][i]),
                        emotion_part=float(ranked.parts["emotion"][i]),
                        semantic_share=ranked.semantic_share,
                        warning=warning, query_kappa=float(felt.kappa[0]), kappa=float(ranked.kappa[i]),
                        top_emotions=tuple((LABELS[j], float(row_probs[j])) for j in top),
                        strength=None if row_felt is None else round(row_strength, 4),
                        intensity=() if row_felt is None else tuple((LABELS[j], float(row_felt[j])) for j in top),
                        text=fields["text"], snippet=snippet(fields["text"], query), metadata=fields["metadata"]))
    return hits


def _feelingless(mode: str, felt, alpha: float) -> str | None:
    """A warning when emotion mode gets a query that carries no feeling to rank by."""
    if mode != "emotion":
        return None
    top = LABELS[int(np.argmax(felt.probs[0]))]
    if top == "neutral" or float(certainty(felt.kappa[0], alpha)) < 0.05:
        return (f"the query reads as {top} (kappa {float(felt.kappa[0]):.1f}): emotion mode ranks only by "
                "feeling, so these hits are arbitrary; describe a feeling (\"someone grieving a loss\"), "
                "or use --mode hybrid, or filter with --emotion LABEL")
    return None


@functools.lru_cache(maxsize=1)
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def single_threaded_blas():
    """NumPy's BLAS on one thread while a query is ranked.

    The products here are small (one query against at most the candidates, or 10k vectors);
    a second BLAS thread gains nothing on them, but its spinning afterwards slows the next
    query's encoder passes, which need both cores (search p50 at 10k docs: 70-90 ms with two
    BLAS threads, 36-44 ms with one, on 2 cores).
    """
    return _blas_controller().limit(limits=1, user_api="blas")


def rank(view, config, alpha: float, query: Query, k: int, mode: str, allowed: np.ndarray | None) -> Ranked:
    """Candidates from each leg, scored by `rerank.contributions`; the k best, best first."""
    wanted = max(config.candidates, k)
    keyword_rows, keyword_scores = view.keyword.scores(query.text)
    query_certainty = float(certainty(query.kappa, alpha))
    legs, tops = [], {"semantic": np.zeros(0), "lexical": np.zeros(0)}
    if mode in ("hybrid", "semantic"):
        tops["semantic"], found = view.search("semantic", query.semantic, wanted, allowed)
        legs.append(found)
    if mode in ("hybrid", "lexical"):
        tops["lexical"], found = lexical.top(keyword_rows, keyword_scores, wanted, allowed)
        legs.append(found)
    if mode == "emotion" or (mode == "hybrid" and query_certainty > 0 and config.emotion_weight > 0):
        legs.append(view.search("emotion", query.mu, wanted, allowed)[1])
    candidates = np.unique(np.concatenate(legs)) if legs else np.zeros(0, np.int64)
    kappa, probs, felt = view.feelings(candidates)
    semantic = view.vectors("semantic", candidates) @ query.semantic
    keyword = lexical.lookup(keyword_rows, keyword_scores, candidates)
    feeling = emotion_similarity(query.probs, probs, kappa, alpha)
    share = config.semantic_share
    if share is None:
        share = semantic_share(tops["semantic"], tops["lexical"]) if mode == "hybrid" else float(mode == "semantic")
    parts, weight = contributions(mode, semantic, keyword, feeling, query_certainty, share, config.emotion_weight)
    scores = sum(parts.values()).astype(np.float32)
    order = np.argsort(-scores, kind="stable")[:k]
    return Ranked(candidates[order], scores[order], semantic[order], keyword[order], feeling[order],
                  kappa[order], probs[order], felt[order], weight, {name: part[order] for name, part in parts.items()},
                  share)


def snippet(text: str, query: str, width: int = 240) -> str:
    """A window of the text around its first query word, on one line.

    Only the window is flattened, so a hit on a very long text costs what the window does.
    """
    if len(text) <= width:
        return re.sub(r"\s+", " ", text).strip()
    found = [re.search(re.escape(w), text, re.IGNORECASE) for w in words(query) if len(w) > 3]
    positions = [m.start() for m in found if m]
    start = max(0, min(positions) - width // 3) if positions else 0
    flat = re.sub(r"\s+", " ", text[start:start + 4 * width]).strip()
    end = start + len(text[start:start + 4 * width])
    window = flat[:width].strip()
    cut = len(flat) > width or end < len(text)
    return ("..." if start else "") + window + ("..." if cut else "")
