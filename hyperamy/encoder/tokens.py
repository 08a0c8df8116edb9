"""Texts and character spans -> token ids and the token mask the heads pool over."""
from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from hyperamy.errors import InputError

Span = Union[None, str, tuple]


def check_texts(texts) -> list[str]:
    """Validate a batch of texts: a list of non-empty strings."""
    if isinstance(texts, str):
        raise InputError("texts must be a list of strings, not one string (wrap it in a list)")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InputError(f"text {i} is {type(text).__name__}, not a string")
        if not text.strip():
            raise InputError(f"text {i} is empty")
    return texts


def length_sorted_batches(tokenizer, texts, spans, max_length: int, batch_size: int):
    """Validate texts, then tokenize them longest first, `batch_size` at a time.

    Texts are ordered by their token count (a cheap first tokenizer pass), not their character
    count, so a batch holds texts of nearly one length and little compute goes to padding: on
    the 10,000 Monte Cristo passages, padded tokens are 1.02x the real ones against 1.28x when
    sorted by characters. Returns (inverse, batches): outputs concatenated in batch order,
    indexed with `inverse`, come back in input order.
    """
    texts = check_texts(texts)
    spans = list(spans) if spans is not None else [None] * len(texts)
    if len(texts) > 1:
        ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
        order = np.argsort([-len(row) for row in ids], kind="stable")
    else:
        order = np.arange(len(texts))
    batches = (tokenize(tokenizer, [texts[i] for i in order[start:start + batch_size]],
                        [spans[i] for i in order[start:start + batch_size]], max_length)
               for start in range(0, len(texts), batch_size))
    return np.argsort(order), batches


def resolve_span(text: str, span: Span) -> tuple[int, int] | None:
    """Character offsets of a span given as (start, end) or as a substring (its first occurrence)."""
    if span is None:
        return None
    if isinstance(span, str):
        if not span.strip():
            raise InputError("span is empty")
        start = text.find(span)
        if start < 0:
            raise InputError(f"span {span!r} does not occur in the text {_preview(text)}")
        return start, start + len(span)
    try:
        start, end = (int(x) for x in span)
    except (TypeError, ValueError):
        raise InputError(f"span {span!r} must be a substring or a (start, end) pair") from None
    if not 0 <= start < end <= len(text):
        raise InputError(f"span ({start}, {end}) is outside the text of {len(text)} characters")
    return start, end


def tokenize(tokenizer, texts: Sequence[str], spans: Sequence[Span] | None, max_length: int) -> dict:
    """Token ids, attention mask and pooling mask for a batch.

    Sentence samples pool over every token; span samples over the tokens whose character
    offsets overlap the span. A span that covers no token (for example one cut off by
    truncation) is an error naming the span.
    """
    spans = list(spans) if spans is not None else [None] * len(texts)
    if len(spans) != len(texts):
        raise InputError(f"got {len(spans)} spans for {len(texts)} texts")
    offsets_wanted = any(span is not None for span in spans)
    encoded = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length,
                        return_tensors="pt", return_offsets_mapping=offsets_wanted)
    attention = encoded["attention_mask"].bool()
    token_mask = attention.clone()
    for row, (text, span) in enumerate(zip(texts, spans)):
        chars = resolve_span(text, span)
        if chars is None:
            continue
        token_mask[row] = span_token_mask(encoded["offset_mapping"][row], attention[row], chars)
        if not token_mask[row].any():
            raise uncovered_span(text, chars, max_length)
    return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"],
            "token_mask": token_mask, "truncated": _count_truncated(encoded)}


def uncovered_span(text: str, chars: tuple[int, int], max_length: int) -> InputError:
    return InputError(f"span {text[chars[0]:chars[1]]!r} at characters {chars[0]}-{chars[1]} "
                      f"covers no token within the first {max_length} tokens of {_preview(text)}")


def _count_truncated(encoded) -> int:
    """Texts of the batch cut at max_length (fast tokenizers keep the cut tokens as overflow)."""
    encodings = getattr(encoded, "encodings", None) or []
    return sum(bool(e.overflowing) for e in encodings)


def span_token_mask(offsets, attention, chars: tuple[int, int]):
    """Tokens overlapping [start, end): special tokens have empty offsets and never match.

    `offsets` (tokens, 2) and the boolean `attention` (tokens,) are both torch tensors or both
    NumPy arrays; the mask comes back as the same kind.
    """
    start, end = chars
    token_start, token_end = offsets[:, 0], offsets[:, 1]
    return attention & (token_end > token_start) & (token_start < end) & (token_end > start)


def _preview(text: str, width: int = 60) -> str:
    return repr(text if len(text) <= width else text[: width - 3] + "...")
