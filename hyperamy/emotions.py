"""The 28 GoEmotions labels and the coarser label sets they map onto."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # NumPy is imported where the matrix is made, not when the labels are read
    import numpy as np

# GoEmotions id order (labels.txt in the data set): index i is label id i.
LABELS: tuple[str, ...] = (
    "admiration", "amusement", "anger", "annoyance", "approval", "caring",
    "confusion", "curiosity", "desire", "disappointment", "disapproval",
    "disgust", "embarrassment", "excitement", "fear", "gratitude", "grief",
    "joy", "love", "nervousness", "optimism", "pride", "realization",
    "relief", "remorse", "sadness", "surprise", "neutral",
)
NEUTRAL = LABELS.index("neutral")
NUM_LABELS = len(LABELS)
# the dimensions of feeling EmoBank rates, each 1..5 (3 neutral): how pleasant, how excited, how in control
AFFECT: tuple[str, ...] = ("valence", "arousal", "dominance")


def affect_fields(values) -> dict[str, float | None]:
    """{"valence", "arousal", "dominance"} of one text, rounded to 3 places; None each where there
    are none (weights without the head, or NaN as an index stores that)."""
    if values is None or any(v != v for v in values):
        return dict.fromkeys(AFFECT)
    return {name: round(float(v), 3) for name, v in zip(AFFECT, values)}

# Order of the 28 soft-label positions in the entity-level file (see its NOTICE).
ENTITY_LABEL_ORDER: tuple[str, ...] = (
    "admiration", "amusement", "approval", "caring", "desire", "excitement",
    "gratitude", "joy", "love", "optimism", "pride", "relief", "anger",
    "annoyance", "disappointment", "disapproval", "disgust", "embarrassment",
    "fear", "grief", "nervousness", "remorse", "sadness", "confusion",
    "curiosity", "realization", "surprise", "neutral",
)
# entity position i holds GoEmotions label ENTITY_TO_GOEMOTIONS[i]
ENTITY_TO_GOEMOTIONS: tuple[int, ...] = tuple(LABELS.index(name) for name in ENTITY_LABEL_ORDER)

# Sentiment groups and Ekman's basic emotions, as defined with the data set
# (data/goemotions/group and data/goemotions/ekman hold the same rows mapped).
GROUPS: tuple[str, ...] = ("ambiguous", "negative", "neutral", "positive")
EKMAN: tuple[str, ...] = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")

_POSITIVE = ("admiration", "amusement", "approval", "caring", "desire", "excitement",
             "gratitude", "joy", "love", "optimism", "pride", "relief")
_NEGATIVE = ("anger", "annoyance", "disappointment", "disapproval", "disgust",
             "embarrassment", "fear", "grief", "nervousness", "remorse", "sadness")
_AMBIGUOUS = ("confusion", "curiosity", "realization", "surprise")

LABEL_TO_GROUP: dict[str, str] = {
    **{name: "positive" for name in _POSITIVE},
    **{name: "negative" for name in _NEGATIVE},
    **{name: "ambiguous" for name in _AMBIGUOUS},
    "neutral": "neutral",
}
LABEL_TO_EKMAN: dict[str, str] = {
    "anger": "anger", "annoyance": "anger", "disapproval": "anger",
    "disgust": "disgust",
    "fear": "fear", "nervousness": "fear",
    "sadness": "sadness", "disappointment": "sadness", "embarrassment": "sadness",
    "grief": "sadness", "remorse": "sadness",
    "surprise": "surprise", "confusion": "surprise", "curiosity": "surprise",
    "realization": "surprise",
    "neutral": "neutral",
    **{name: "joy" for name in _POSITIVE},
}

# Six basic emotions as tweet data sets label them (anger, fear, joy, love, sadness, surprise),
# read through the 28 labels. Our mapping: Ekman's where the two agree, with "love" taken out of
# joy for the labels of affection and wanting. Neutral maps to none of them.
SIX: tuple[str, ...] = ("anger", "fear", "joy", "love", "sadness", "surprise")
LABEL_TO_SIX: dict[str, str] = {
    "anger": "anger", "annoyance": "anger", "disapproval": "anger", "disgust": "anger",
    "fear": "fear", "nervousness": "fear",
    "joy": "joy", "amusement": "joy", "excitement": "joy", "gratitude": "joy", "optimism": "joy",
    "pride": "joy", "relief": "joy", "approval": "joy", "admiration": "joy",
    "love": "love", "caring": "love", "desire": "love",
    "sadness": "sadness", "grief": "sadness", "disappointment": "sadness", "remorse": "sadness",
    "embarrassment": "sadness",
    "surprise": "surprise", "realization": "surprise", "confusion": "surprise", "curiosity": "surprise",
}
LABEL_SETS = ("goemotions", "ekman", "group", "six")


def label_set(name: str) -> tuple[tuple[str, ...], np.ndarray]:
    """The class names of a label set and the (28, classes) matrix that sums probabilities into them.

    "six" has no neutral class: its matrix row for neutral is all zero.
    """
    import numpy as np

    from hyperamy.errors import InputError

    if name == "goemotions":
        return LABELS, np.eye(NUM_LABELS, dtype=np.float32)
    if name == "ekman":
        return EKMAN, group_matrix(LABEL_TO_EKMAN, EKMAN)
    if name == "group":
        return GROUPS, group_matrix(LABEL_TO_GROUP, GROUPS)
    if name == "six":
        return SIX, group_matrix(LABEL_TO_SIX, SIX)
    raise InputError(f"label set must be one of {', '.join(LABEL_SETS)}, not {name!r}")


def label_index(name: str) -> int:
    """Return the GoEmotions id of a label name.

    Raises:
        InputError: the name is not one of the 28 labels.
    """
    from hyperamy.errors import InputError

    try:
        return LABELS.index(name.strip().lower())
    except ValueError:
        raise InputError(f"unknown emotion {name!r}; choose one of: {', '.join(LABELS)}") from None


def group_matrix(mapping: dict[str, str], targets: tuple[str, ...]):
    """A (28, len(targets)) 0/1 matrix that sums label probabilities into coarser classes."""
    import numpy as np

    matrix = np.zeros((NUM_LABELS, len(targets)), dtype=np.float32)
    for i, name in enumerate(LABELS):
        if name in mapping:  # a label the mapping leaves out (neutral in "six") adds to no class
            matrix[i, targets.index(mapping[name])] = 1.0
    return matrix
