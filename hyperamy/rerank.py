"""Uncertainty-weighted fusion of meaning, keywords and emotion. Pure functions over arrays.

For a candidate document d and a query q:

    relevance(d) = s * z(cos(q, d)) + (1 - s) * z(bm25(q, d))
    emotion(d)   = sum_j p_q(j) * p_d(j), over the 27 labels but neutral          in [0, 1]
    score(d)     = relevance(d) + w * c(kappa_q) * emotion(d)

z() standardises a leg's scores over the candidates (minus their mean, over their standard
deviation), so the legs are comparable and a document far ahead in either keeps its lead.
s, the semantic share, comes from each query's own evidence unless `semantic_share` fixes it:
each leg's evidence is how far its best score stands above its top candidates (in standard
deviations), and s = evidence(meaning) / (evidence(meaning) + evidence(keywords)). A query whose
words pick out one passage gives keywords a large share; a paraphrase that matches no word
better than many others gives them little, instead of stretching their noise over a fixed half.
p is the encoder's posterior over the 28 labels, softmax(kappa * cos(mu, prototypes)): the sum
is the chance that both, each read as one label drawn from its p, read as the same feeling, near 1
when both put their mass on one label and 0 when they feel different things or nothing; a vague
reading (low kappa, flat p) matches little by itself. c(kappa) = clip((kappa - 1) / alpha, 0, 1)
is how certain the query's emotion is (kappa = 1 + alpha * energy); w is `emotion_weight`. A
neutral, low-kappa query ranks by meaning and keywords alone; a strongly felt one lets emotion
reorder.
Which set chose each of these is in README.md ("How search scores").
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from hyperamy.emotions import NEUTRAL

MODES = ("hybrid", "semantic", "lexical", "emotion")


def certainty(kappa, alpha: float) -> np.ndarray:
    """How certain an emotion is, from 0 (kappa = 1, neutral) to 1 (kappa >= 1 + alpha)."""
    return np.clip((np.asarray(kappa, np.float32) - 1.0) / alpha, 0.0, 1.0)


def standardize(scores: np.ndarray) -> np.ndarray:
    """Z-scores over the candidates; when they cannot spread (one, or all equal), 1 for a positive
    score and 0 for any other, so a lone match keeps its whole share."""
    scores = np.asarray(scores, np.float64)
    spread = scores.std() if len(scores) > 1 else 0.0
    return (scores - scores.mean()) / spread if spread > 0 else (scores > 0).astype(np.float64)


def evidence(top_scores: np.ndarray) -> float:
    """How far a leg's best score stands above its top candidates, in standard deviations (0 for
    fewer than two or no spread)."""
    top_scores = np.asarray(top_scores, np.float64)
    if len(top_scores) < 2 or top_scores.std() == 0:
        return 0.0
    return float((top_scores.max() - top_scores.mean()) / top_scores.std())


def semantic_share(semantic_top: np.ndarray, keyword_top: np.ndarray) -> float:
    """The share of relevance that meaning gets for this query, from both legs' evidence."""
    meaning, keywords = evidence(semantic_top), evidence(keyword_top)
    return meaning / (meaning + keywords) if meaning + keywords > 0 else 0.5


def emotion_similarity(query_probs: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """How much each document feels what the query feels, 0..1: the chance that the two, each read
    as one label drawn from its probabilities, read as the same feeling; neutral matches nothing.

    Chosen on GoEmotions train comments (400 queries over 4,000 others, the fusion's emotion set;
    benchmarks/emotion_similarity.py): P@10 in emotion mode 0.719, against 0.611 for the overlap of
    the square roots of all 28 probabilities times the document's certainty, which it replaced (a
    query partly neutral found neutral documents, and a label at 0.01 still counted 0.1).
    """
    return np.clip(probs[..., :NEUTRAL], 0.0, None) @ np.clip(query_probs[:NEUTRAL], 0.0, None)


def contributions(mode: str, semantic: np.ndarray, lexical: np.ndarray, emotion: np.ndarray,
                  query_certainty: float, semantic_share: float,
                  emotion_weight: float) -> tuple[dict[str, np.ndarray], float]:
    """What each signal adds to each candidate's score (the parts sum to the score), and the
    weight the emotion term got."""
    zero = np.zeros(len(semantic))
    if mode == "semantic":
        return {"semantic": np.asarray(semantic, np.float64), "lexical": zero, "emotion": zero}, 0.0
    if mode == "lexical":
        return {"semantic": zero, "lexical": np.asarray(lexical, np.float64), "emotion": zero}, 0.0
    if mode == "emotion":
        return {"semantic": zero, "lexical": zero, "emotion": np.asarray(emotion, np.float64)}, 1.0
    weight = emotion_weight * float(query_certainty)
    return {"semantic": semantic_share * standardize(semantic),
            "lexical": (1.0 - semantic_share) * standardize(lexical),
            "emotion": weight * np.asarray(emotion, np.float64)}, weight


# The fitted fusion (hyperamy/fusion.json, written by benchmarks/fit_fusion.py): a weight per
# feature below, so a score is still a sum of parts. Each feature belongs to one leg, the part of
# the score `--explain` reports it in.
BASE_FEATURES = ("meaning", "meaning_by_evidence", "meaning_calm", "meaning_best", "keywords",
                 "keywords_by_evidence", "keywords_calm", "keywords_best", "no_keyword", "together", "together_rank",
                 "together_pair", "together_pair_rank", "emotion", "emotion_felt", "strength", "strength_asked")
# A query asked as a question (asks_question) is scored by the question_ copies of these, any other
# by the plain ones: a question wants the passage that answers it, a statement passages like it,
# and one set of weights served both badly (see README.md, "How search scores").
FEATURES = BASE_FEATURES + tuple(f"question_{name}" for name in BASE_FEATURES)
_BASE_LEG = {"meaning": "semantic", "meaning_by_evidence": "semantic", "meaning_calm": "semantic",
             "meaning_best": "semantic", "keywords": "lexical", "keywords_by_evidence": "lexical",
             "keywords_calm": "lexical", "keywords_best": "lexical", "no_keyword": "lexical", "together": "lexical",
             "together_rank": "lexical", "together_pair": "lexical", "together_pair_rank": "lexical",
             "emotion": "emotion", "emotion_felt": "emotion", "strength": "emotion", "strength_asked": "emotion"}
LEG = {**_BASE_LEG, **{f"question_{name}": leg for name, leg in _BASE_LEG.items()}}
# Features whose weight the fit keeps at 0 or above (in both sets): more of the query's words
# together must never lower a score. Left free, the statement weights of the proximity columns
# came out negative (GoEmotions rewards comments that share a feeling, not words), and of two
# passages the one holding none of "despair in a cell" outranked the one holding both.
NON_NEGATIVE = frozenset({"together", "together_rank", "together_pair", "together_pair_rank"})
# The first word of a query asked as a question (one that ends in "!" is an exclamation: "What a day!").
QUESTION_WORDS = frozenset("what who whom whose which when where why how".split())
# Words of a question that asks how someone feels ("How did the girl feel when ...?"): there the
# passage where feeling is strongest is the likelier answer, whatever the question itself feels.
ASKING_FEELING = frozenset({"feel", "feels", "felt", "feeling", "feelings", "emotion", "emotions", "mood"})


# The hand-set fusion above in these terms: where the fit starts.
START = {"meaning_by_evidence": 1.0, "keywords_by_evidence": 1.0, "emotion": 0.5}


def asks_feeling(query: str) -> bool:
    """Whether a query asks how someone feels (one of ASKING_FEELING among its words)."""
    from hyperamy.analyzer import words

    return not ASKING_FEELING.isdisjoint(words(query))


def asks_question(query: str) -> bool:
    """Whether a query is asked as a question: its first word one of QUESTION_WORDS, and it does
    not end in "!"."""
    from hyperamy.analyzer import words

    first = words(query[:100])
    return bool(first) and first[0] in QUESTION_WORDS and not query.rstrip().endswith("!")


def features(semantic: np.ndarray, lexical: np.ndarray, feeling: np.ndarray, query_certainty: float,
             share: float, strength: np.ndarray, asked: bool = False, together: np.ndarray | None = None,
             together_pair: np.ndarray | None = None, question: bool = False) -> np.ndarray:
    """(candidates, FEATURES) for one query: each leg standardised over the candidates, alone,
    weighted by its evidence share, and weighted by how little the query feels (1 - its certainty:
    a calm query leans on meaning and words, a felt one less); whether a candidate is a leg's best;
    whether it holds no query word; the emotion term with the query's certainty (the query feels
    something) and without (the document feels what the query leans to); how strongly the
    document feels anything, and the same when the query asks how someone feels (`asked`); the
    share of the query's words one sentence of the document holds, and two in a row (`together`,
    `together_pair`: search/proximity.py), as they are and standardised. These fill the plain
    columns, or with `question` (the query is asked as one: asks_question) the question_ ones;
    the others are 0."""
    semantic, lexical = np.asarray(semantic, np.float64), np.asarray(lexical, np.float64)
    meaning, keywords = standardize(semantic), standardize(lexical)
    single = np.zeros(len(semantic)) if together is None else np.asarray(together, np.float64)
    pair = np.zeros(len(semantic)) if together_pair is None else np.asarray(together_pair, np.float64)
    best_keywords = (lexical == lexical.max()) & (lexical > 0) if len(lexical) else np.zeros(0, bool)
    columns = {
        "meaning": meaning, "meaning_by_evidence": share * meaning, "meaning_calm": (1.0 - query_certainty) * meaning,
        "meaning_best": (semantic == semantic.max()) if len(semantic) else np.zeros(0, bool),
        "keywords": keywords, "keywords_by_evidence": (1.0 - share) * keywords,
        "keywords_calm": (1.0 - query_certainty) * keywords, "keywords_best": best_keywords,
        "no_keyword": lexical <= 0, "together": single, "together_rank": standardize(single),
        "together_pair": pair, "together_pair_rank": standardize(pair),
        "emotion": query_certainty * np.asarray(feeling, np.float64), "emotion_felt": np.asarray(feeling, np.float64),
        "strength": np.nan_to_num(np.asarray(strength, np.float64)),
        "strength_asked": float(asked) * np.nan_to_num(np.asarray(strength, np.float64)),
    }
    base = np.stack([np.asarray(columns[name], np.float64) for name in BASE_FEATURES], axis=1)
    return np.hstack([(1.0 - float(question)) * base, float(question) * base])


DEFAULT_EMOTION_WEIGHT = 0.5  # the emotion_weight a fitted fusion's emotion parts are scaled against


@functools.lru_cache(maxsize=1)
def fitted_weights() -> dict[str, float]:
    """{feature: weight} of the shipped fitted fusion (hyperamy/fusion.json)."""
    fitted = json.loads((Path(__file__).parent / "fusion.json").read_text(encoding="utf-8"))
    if tuple(fitted["features"]) != FEATURES:
        raise RuntimeError("hyperamy/fusion.json was fitted on other features; run benchmarks/fit_fusion.py --write")
    return dict(zip(fitted["features"], fitted["weights"]))


def fitted_contributions(semantic: np.ndarray, lexical: np.ndarray, feeling: np.ndarray, query_certainty: float,
                         share: float, strength: np.ndarray, asked: bool, emotion_weight: float,
                         together: np.ndarray | None = None, together_pair: np.ndarray | None = None,
                         question: bool = False) -> dict[str, np.ndarray]:
    """The fitted fusion's parts, feature by feature summed into the leg each belongs to
    (semantic, lexical, emotion); `emotion_weight` scales the emotion parts against its default."""
    weights = fitted_weights()
    columns = features(semantic, lexical, feeling, query_certainty, share, strength, asked, together, together_pair,
                       question)
    parts = {leg: np.zeros(len(columns)) for leg in ("semantic", "lexical", "emotion")}
    scale = {"semantic": 1.0, "lexical": 1.0, "emotion": emotion_weight / DEFAULT_EMOTION_WEIGHT}
    for j, name in enumerate(FEATURES):
        parts[LEG[name]] += scale[LEG[name]] * weights[name] * columns[:, j]
    return parts


def fitted_emotion_weight(query_certainty: float, emotion_weight: float, question: bool = False) -> float:
    """What the fitted fusion multiplies a document's emotion overlap by, for this query (asked
    as a question or not)."""
    weights = fitted_weights()
    prefix = "question_" if question else ""
    return emotion_weight / DEFAULT_EMOTION_WEIGHT * (weights[f"{prefix}emotion"] * query_certainty
                                                      + weights[f"{prefix}emotion_felt"])
