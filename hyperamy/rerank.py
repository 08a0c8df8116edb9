"""Uncertainty-weighted fusion of meaning, keywords and emotion. Pure functions over arrays.

For a candidate document d and a query q:

    relevance(d) = [1/(k + r_sem(d)) + 1/(k + r_lex(d))] / [2/(k + 1)]        in [0, 1]
    emotion(d)   = cos(mu_q, mu_d) * c(kappa_d)                               in [-1, 1]
    score(d)     = relevance(d) + w * c(kappa_q) * emotion(d)

r_sem and r_lex are d's ranks among the candidates by cosine and by BM25 (a document with no
keyword match gets no keyword share); c(kappa) = clip((kappa - 1) / alpha, 0, 1) is how certain
an emotion is (kappa = 1 + alpha * energy); w is `emotion_weight`. The emotion term is a
kappa-weighted cosine between the two von Mises-Fisher distributions: a neutral, low-kappa query
(c near 0) ranks by meaning and keywords alone, a strongly felt query lets emotion reorder,
and a document's emotion counts as much as it is certain.
"""
from __future__ import annotations

import numpy as np

MODES = ("hybrid", "semantic", "lexical", "emotion")


def certainty(kappa, alpha: float) -> np.ndarray:
    """How certain an emotion is, from 0 (kappa = 1, neutral) to 1 (kappa >= 1 + alpha)."""
    return np.clip((np.asarray(kappa, np.float32) - 1.0) / alpha, 0.0, 1.0)


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based ranks, best score first; ties keep input order."""
    order = np.argsort(-scores, kind="stable")
    result = np.empty(len(scores), np.int64)
    result[order] = np.arange(1, len(scores) + 1)
    return result


def relevance(semantic: np.ndarray, lexical: np.ndarray, k: float) -> np.ndarray:
    """Normalised reciprocal-rank fusion of semantic and keyword scores over the candidates."""
    semantic_part = 1.0 / (k + ranks(semantic))
    lexical_part = np.where(lexical > 0, 1.0 / (k + ranks(lexical)), 0.0)
    return (semantic_part + lexical_part) / (2.0 / (k + 1.0))


def emotion_similarity(query_mu: np.ndarray, mu: np.ndarray, kappa: np.ndarray, alpha: float) -> np.ndarray:
    """Kappa-weighted cosine of each document's emotion to the query's."""
    return (mu @ query_mu) * certainty(kappa, alpha)


def fuse(mode: str, semantic: np.ndarray, lexical: np.ndarray, emotion: np.ndarray,
         query_certainty: float, rrf_k: float, emotion_weight: float) -> tuple[np.ndarray, float]:
    """Final scores of the candidates in a mode, and the weight the emotion term got."""
    if mode == "semantic":
        return semantic.astype(np.float32), 0.0
    if mode == "lexical":
        return lexical.astype(np.float32), 0.0
    if mode == "emotion":
        return emotion.astype(np.float32), 1.0
    weight = emotion_weight * float(query_certainty)
    return (relevance(semantic, lexical, rrf_k) + weight * emotion).astype(np.float32), weight
