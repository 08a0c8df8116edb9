"""Reading a passage through its sentences: where each sentence is, and how their feelings combine.

The sentences are read in the passage's own forward pass (each pooled over its tokens, as a
mention is), so the reading costs no second pass; `combine` turns them into one feeling per
passage. Which combination a passage gets was chosen by measurement (benchmarks/passages.py).
"""
from __future__ import annotations

import re

import numpy as np

from hyperamy.emotions import NEUTRAL
from hyperamy.encoder.outputs import EmotionBatch

_SENTENCE = re.compile(r"[^.!?…\n]*[^\s.!?…\n][^.!?…\n]*(?:[.!?…]+[\"'”’)\]]*|\n|$)")
_WORD = re.compile(r"\w")
COMBINATIONS = ("mean", "felt", "strongest")


def sentence_spans(text: str, limit: int = 64) -> list[tuple[int, int]]:
    """Character spans of a text's sentences (ends at . ! ? … or a line break), at most `limit`."""
    spans = []
    for match in _SENTENCE.finditer(text):
        start, end = match.span()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start and len(_WORD.findall(text[start:end])) >= 2:
            spans.append((start, end))
        if len(spans) >= limit:
            break
    return spans


def combine(read, count: int, whole: EmotionBatch, how: str) -> EmotionBatch:
    """One feeling per text from its sentences' (a MentionBatch): `how` is

    - "mean": the mean of the sentences' label probabilities;
    - "felt": their mean weighted by how much each feels (1 - its neutral probability), so a
      passage is neutral only when its sentences are;
    - "strongest": the sentence that feels most.

    A text none of whose sentences was read (one past the token window, or no sentence) keeps
    its whole reading. mu, kappa, strength and affect are combined with the same weights.
    """
    if how not in COMBINATIONS:
        raise ValueError(f"how must be one of {COMBINATIONS}, not {how!r}")
    probs, mu, kappa = whole.probs.copy(), whole.mu.copy(), whole.kappa.copy()
    strength = None if whole.strength is None else whole.strength.copy()
    affect = None if whole.affect is None else whole.affect.copy()
    emotion = read.emotion
    for doc in np.unique(read.doc):
        at = np.flatnonzero(read.doc == doc)
        feels = 1.0 - emotion.probs[at, NEUTRAL]
        if how == "mean":
            weights = np.ones(len(at))
        elif how == "felt":
            weights = feels + 1e-6
        else:
            weights = (np.arange(len(at)) == int(np.argmax(feels))).astype(float)
        weights = weights / weights.sum()
        probs[doc] = weights @ emotion.probs[at]
        direction = weights @ emotion.mu[at]
        mu[doc] = direction / max(np.linalg.norm(direction), 1e-12)
        kappa[doc] = weights @ emotion.kappa[at]
        if strength is not None and emotion.strength is not None:
            strength[doc] = weights @ emotion.strength[at]
        if affect is not None and emotion.affect is not None:
            affect[doc] = weights @ emotion.affect[at]
    return EmotionBatch(mu=mu.astype(np.float32), kappa=kappa.astype(np.float32), probs=probs.astype(np.float32),
                        strength=strength, affect=affect)
