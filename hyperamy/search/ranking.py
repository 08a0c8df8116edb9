"""Candidates from each leg (semantic, keyword, emotion) and the re-ranker's order of them."""
from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING

import numpy as np

from hyperamy import lexical
from hyperamy.search.proximity import PROXIMITY_READ, together
from hyperamy.rerank import (asks_feeling, asks_question, certainty, contributions, emotion_similarity, fitted_contributions,
                             fitted_emotion_weight, semantic_share)
from hyperamy.view import View

if TYPE_CHECKING:
    from hyperamy.search.recency import Recency


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
    mentions: np.ndarray | None = None  # with `about`: the mention (in About's table) each emotion was read from
    decay: np.ndarray | None = None  # with recency: each hit's decay factor
    age: np.ndarray | None = None  # with recency: each hit's age (NaN: the field is empty)
    affect: np.ndarray | None = None  # (n, 3) valence, arousal, dominance (NaN where the index stores none)
    fusion: str = "evidence"  # how hybrid weighed the parts (see Hit.fusion)


@functools.lru_cache(maxsize=1)
def _thread_pools():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def single_threaded():
    """NumPy's BLAS and every OpenMP runtime (FAISS's, torch's) on one thread while a query is ranked.

    The work here is one query's: small products (one query against the candidates, or 10k
    vectors) and FAISS searches of one query, which FAISS gives to one of its OpenMP threads
    anyway. A second thread gains nothing on them, but its spinning afterwards slows the next
    query's encoder passes, which need both cores:
    - BLAS: search p50 at 10k docs 70-90 ms with two threads, 36-44 ms with one, on 2 cores;
    - OpenMP: at a million passages, in a process that has imported torch (a second OpenMP
      runtime), hybrid p50 22.7 / 21.8 ms with FAISS on two threads against 20.3 / 18.2 ms on one
      (two runs, 116 Monte Cristo questions x 2, alternating); without torch, no difference.
    OpenMP's thread count is set for the calling thread only: other threads (an indexing one in
    a server) keep theirs.
    """
    return _thread_pools().limit(limits=1)


@dataclasses.dataclass
class Candidates:
    """Every document the legs proposed for one query, with what the re-ranker scores them on."""

    rows: np.ndarray
    semantic: np.ndarray  # cosine of query and document meaning
    lexical: np.ndarray  # BM25 (0 where no query word occurs)
    feeling: np.ndarray  # rerank.emotion_similarity: the chance both read as the same non-neutral label
    kappa: np.ndarray
    probs: np.ndarray
    strength: np.ndarray
    affect: np.ndarray
    query_certainty: float
    semantic_share: float  # from both legs' evidence (rerank.semantic_share), or the fixed setting
    mentions: np.ndarray | None = None  # with `about`: the mention each feeling was read from
    together: np.ndarray | None = None  # with the fitted fusion: proximity.together's two readings
    together_pair: np.ndarray | None = None


def fitted(settings, mode: str) -> bool:
    """Whether the fitted fusion ranks a search in `mode` with these settings (hybrid, and no fixed share)."""
    return mode == "hybrid" and settings.fusion == "fitted" and settings.semantic_share is None


# Emotion mode ranks the emotion leg's candidates by how well their feeling matches the query's
# (rerank.emotion_similarity); the leg finds them by the reading's direction mu, which is not that
# match. On GoEmotions train (benchmarks/emotion_similarity.py), P@10 over the 100 nearest 0.719,
# over the 1,000 nearest 0.757, over every document 0.768.
EMOTION_POOL = 10


def candidates(view: View, settings, alpha: float, query: Query, k: int, mode: str, allowed: np.ndarray | None,
               about=None) -> Candidates:
    """What each leg proposes (at least `settings.candidates` each), and their scores on every signal.

    With `about` (entities.About) the emotion leg searches the entity's mentions, and each
    document's feeling is that of its mention that best fits the query's feeling.
    `settings` (config.SearchSettings) reach every leg, FAISS's HNSW breadth included.
    """
    wanted = max(settings.candidates, k)
    breadth = settings.hnsw_ef_search
    # the fitted fusion weighs the query's words by their IDF too (proximity): read once, used twice
    statistics = view.keyword.statistics(query.text) if fitted(settings, mode) else None
    keyword_rows, keyword_scores = view.keyword.scores(query.text, statistics)
    query_certainty = float(certainty(query.kappa, alpha))
    legs, tops = [], {"semantic": np.zeros(0), "lexical": np.zeros(0)}
    if mode in ("hybrid", "semantic"):
        tops["semantic"], found = view.search("semantic", query.semantic, wanted, allowed, breadth)
        legs.append(found)
    if mode in ("hybrid", "lexical"):
        tops["lexical"], found = lexical.top(keyword_rows, keyword_scores, wanted, allowed)
        legs.append(found)
    if mode == "emotion" or (mode == "hybrid" and query_certainty > 0 and settings.emotion_weight > 0):
        # emotion mode has no other leg: it reads EMOTION_POOL times as many, nearest by direction
        pool = wanted * EMOTION_POOL if mode == "emotion" else wanted
        legs.append(about.search(query.mu, pool, allowed) if about is not None
                    else view.search("emotion", query.mu, pool, allowed, breadth)[1])
    rows = np.unique(np.concatenate(legs)) if legs else np.zeros(0, np.int64)
    kappa, probs, strength, affect = view.feelings(rows)
    semantic = view.vectors("semantic", rows) @ query.semantic
    keyword = lexical.lookup(keyword_rows, keyword_scores, rows)
    chosen = None
    if about is not None:
        chosen, feeling = about.best_mentions(rows, lambda p: emotion_similarity(query.probs, p))
    else:
        feeling = emotion_similarity(query.probs, probs)
    share = settings.semantic_share
    if share is None:
        share = semantic_share(tops["semantic"], tops["lexical"]) if mode == "hybrid" else float(mode == "semantic")
    single = pair = None
    if statistics is not None and len(rows):
        single, pair = np.zeros(len(rows)), np.zeros(len(rows))
        holding = np.argsort(-keyword, kind="stable")[:PROXIMITY_READ]  # those keywords rank first
        holding = holding[keyword[holding] > 0]  # the others hold no query word: 0 both ways
        if len(holding):
            texts = view.fetch(rows[holding])
            single[holding], pair[holding] = together(
                [texts[int(r)]["text"] for r in rows[holding]],
                lexical.term_weights(statistics), view.keyword.analyzer)
    return Candidates(rows, semantic, keyword, feeling, kappa, probs, strength, affect, query_certainty, share, chosen,
                      single, pair)


def rank(view: View, settings, alpha: float, query: Query, k: int, mode: str, allowed: np.ndarray | None,
         about=None, fade: "Recency | None" = None) -> Ranked:
    """Candidates from each leg (`candidates`), scored by `rerank.contributions`; the k best, best first.

    With `fade`, each relevance (e^score) is multiplied by the document's decay: the score gains its log.
    """
    found = candidates(view, settings, alpha, query, k, mode, allowed, about)
    fusion = "fitted" if fitted(settings, mode) else "evidence"
    if fusion == "fitted":
        question = asks_question(query.text)
        parts = fitted_contributions(found.semantic, found.lexical, found.feeling, found.query_certainty,
                                     found.semantic_share, found.strength, asks_feeling(query.text),
                                     settings.emotion_weight, found.together, found.together_pair, question)
        weight = fitted_emotion_weight(found.query_certainty, settings.emotion_weight, question)
    else:
        parts, weight = contributions(mode, found.semantic, found.lexical, found.feeling, found.query_certainty,
                                      found.semantic_share, settings.emotion_weight)
    scores = sum(parts.values())
    decay = age = None
    if fade is not None and len(found.rows):
        decay, age, parts["recency"] = fade.decay(found.rows)  # relevance e^score times the decay: plus its log
        scores = scores + parts["recency"]
    scores = np.asarray(scores, np.float32)
    order = np.argsort(-scores, kind="stable")[:k]
    return Ranked(found.rows[order], scores[order], found.semantic[order], found.lexical[order], found.feeling[order],
                  found.kappa[order], found.probs[order], found.strength[order], weight,
                  {name: part[order] for name, part in parts.items()}, found.semantic_share,
                  None if found.mentions is None else found.mentions[order], None if decay is None else decay[order],
                  None if age is None else age[order], found.affect[order], fusion)
