"""How close together a passage holds a query's words: the share of them (each weighed by its
IDF) that its best sentence holds, and its best two sentences in a row.

BM25 counts a passage's words wherever they stand; an answer to a question usually holds the
question's words in one sentence ("How did the girl feel when the wolf came?" - "When the wolf
came, the girl was so afraid she hid"). Four features of the fitted fusion (rerank.py) are made
of these; what they add is in README.md ("How search scores").
"""
from __future__ import annotations

import bisect
import re

import numpy as np

from hyperamy.sentences import ends

READ = 20_000  # characters of a passage read for its sentences: a long record costs no more than this
# Candidates read, those with the best BM25 (others get 0): the reading costs about 35 us a
# passage, and 50 keeps a search on 10,000 passages within 1.3x of its time without it.
PROXIMITY_READ = 50


def together(texts, weights: dict[str, float], analyzer) -> tuple[np.ndarray, np.ndarray]:
    """(one sentence, two sentences in a row) for each text: the IDF-weighted share of the query
    terms in `weights` ({term: IDF}, lexical.term_weights) that the best such span holds, 0 to 1."""
    total = sum(weights.values())
    single, pair = np.zeros(len(texts)), np.zeros(len(texts))
    if not total:
        return single, pair
    find = _finder(weights, analyzer)
    for n, text in enumerate(texts):
        text = text[:READ]
        found = find(text)
        if not found:
            continue
        if len({term for _, term in found}) == 1:  # one query term: any sentence holding it holds all there is
            single[n] = pair[n] = weights[found[0][1]] / total
            continue
        stops = ends(text, max(0, found[0][0] - 20), found[-1][0])  # those between the first query word and the last
        held: dict[int, set] = {}
        for at, term in found:
            held.setdefault(bisect.bisect_right(stops, at), set()).add(term)
        best = max(sum(weights[t] for t in terms) for terms in held.values())  # one sentence
        pairs = [sum(weights[t] for t in terms | held[number + 1]) for number, terms in held.items()
                 if number + 1 in held]
        single[n], pair[n] = best / total, max([best, *pairs]) / total
    return single, pair


def _finder(weights: dict[str, float], analyzer):
    """A function giving (where, term) of each query term (a key of `weights`) in a text.

    Only words that start as a query term does are made terms (each once a process: _TERMS):
    an analyzer changes a word's end, never its first three letters once the term has four
    (Snowball's English stemmer; its few short exceptions, "dying" -> "die", are why a shorter
    term is matched by its first letter alone).
    """
    starts = sorted({term[:3] if len(term) >= 4 else term[:1] for term in weights}, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, starts)) + r")\w*", re.IGNORECASE)
    known = _TERMS.get(analyzer.name)
    if known is None or len(known) > _TERMS_KEPT:  # a new table, never one emptied under another thread
        known = _TERMS[analyzer.name] = {}

    def find(text: str) -> list[tuple[int, str]]:
        found = [(m.start(), m.group().lower()) for m in pattern.finditer(text)]
        new = sorted({word for _, word in found if word not in known})
        known.update(zip(new, analyzer.term_of(new)))
        return [(at, term) for at, word in found if (term := known[word]) in weights]

    return find


_TERMS: dict[str, dict[str, str | None]] = {}  # analyzer name -> {word: its term}, for the words read so far
_TERMS_KEPT = 200_000  # words (a few tens of MB at most) before the table starts again
