"""Where sentences begin and end in a text: what book chunking cuts between and what keyword
proximity (search/proximity.py) reads within."""
from __future__ import annotations

import re

# A sentence ends at . ! ? or … (closing quotes and brackets kept with it), before white space.
SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
# Words whose full stop does not end a sentence ("M. Morrel", "Mrs. Bennet", "e.g. this").
ABBREVIATIONS = frozenset("mr mrs ms dr st m mme mlle mm messrs jr sr vs etc e.g i.e no vol ch fig rev gen col capt lt"
                          .split())


def sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence of text[start:end], white space trimmed off its ends."""
    end = len(text) if end is None else end
    spans, at = [], start
    for stop in ends(text, start, end):
        spans.append((at, stop))
        at = stop
    spans.append((at, end))
    return [t for t in (trimmed(text, a, b) for a, b in spans) if t]


def ends(text: str, start: int = 0, end: int | None = None) -> list[int]:
    """Where each sentence of text[start:end] but the last ends (just past its closing mark), in order."""
    end = len(text) if end is None else end
    found = []
    for stop in SENTENCE_END.finditer(text, start, end):
        word = re.search(r"([\w.]+)\.*$", text[max(start, stop.start() - 12):stop.start() + 1])
        if text[stop.start()] == "." and word and (word.group(1).lower().rstrip(".") in ABBREVIATIONS
                                                   or re.fullmatch(r"[A-Z]", word.group(1).rstrip("."))):
            continue
        found.append(stop.end())
    return found


def trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """(start, end) with the white space at both ends left out; None if nothing else is there."""
    piece = text[start:end]
    stripped = piece.lstrip()
    if not stripped:
        return None
    start += len(piece) - len(stripped)
    return start, start + len(stripped.rstrip())
