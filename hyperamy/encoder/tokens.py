"""Texts and character spans -> token ids and the token mask the heads pool over."""
from __future__ import annotations

import re
from typing import Sequence, Union

import numpy as np

from hyperamy.errors import InputError

Span = Union[None, str, tuple]
CHARS_PER_TOKEN = 32  # a cut this many characters per window token leaves the window's tokens as they were


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


def length_sorted_batches(tokenizer, texts, spans, max_length: int, batch_size: int, offsets: bool = False):
    """Validate and tokenize texts (one tokenizer pass), then batch them longest first.

    Texts are ordered by their token count, not their character count, so a batch holds texts of
    nearly one length and little compute goes to padding: on the 10,000 Monte Cristo passages,
    padded tokens are 1.02x the real ones against 1.28x when sorted by characters. Returns
    (inverse, batches) with batches as `tokenize` makes them: outputs concatenated in batch
    order, indexed with `inverse`, come back in input order. Each batch also names its texts'
    input positions ("rows") and, with `offsets`, holds each token's characters ("offsets").
    """
    texts = check_texts(texts)
    spans = _spans_for(texts, spans)
    encoded = _encode(tokenizer, texts, spans, max_length, offsets)
    order = np.argsort([-len(row) for row in encoded["input_ids"]], kind="stable")
    batches = (_collate(tokenizer, encoded, order[start:start + batch_size], texts, spans, max_length)
               for start in range(0, len(texts), batch_size))
    return np.argsort(order), batches


# Where a clause ends: punctuation (commas included), or a contrasting conjunction ("... while ...").
CLAUSE_BOUNDARY = re.compile(r"(?:[,;]?\s*\b(?:while|but|whereas|although|though|yet)\b|[.;:!?,\n]+)\s*",
                             re.IGNORECASE)
# The weight of a span's clause around it, against 1 for the span's own tokens. Both chosen on the
# dev sentences of benchmarks/span_leakage.py and the training part of the entity file (model card).
CONTEXT_WEIGHT = 0.5


def span_clause(text: str, chars: tuple[int, int]) -> tuple[int, int]:
    """The clause holding a span: from the boundary before it to the boundary after it.

    A span's emotion is pooled over its clause, not the name alone: the tokens of a name carry
    little feeling of their own and read like the whole sentence (benchmarks/span_leakage.py).
    """
    start, end = chars
    if CLAUSE_BOUNDARY.search(text, start, end):  # a span of a clause or more is taken as given
        return chars
    left, right = 0, len(text)
    for match in CLAUSE_BOUNDARY.finditer(text):
        if match.end() <= start:
            left = match.end()
        elif match.start() >= end:
            right = match.start()
            break
    return left, right


def clause_token_mask(text: str, offsets, attention, chars: tuple[int, int], max_length: int):
    """Pooling weights of a span: 1 on its own tokens, CONTEXT_WEIGHT on the rest of its clause, 0 elsewhere.

    The span's own tokens must lie in the token window.
    """
    attention = np.asarray(attention) > 0
    own = span_token_mask(offsets, attention, chars)
    if not own.any():
        raise uncovered_span(text, chars, max_length)
    clause = span_token_mask(offsets, attention, span_clause(text, chars))
    return np.where(own, 1.0, np.where(clause, CONTEXT_WEIGHT, 0.0)).astype(np.float32)


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
    """Token ids, attention mask and pooling mask for a batch, as torch tensors.

    Sentence samples pool over every token; span samples over the tokens whose character
    offsets overlap the span. A span that covers no token (for example one cut off by
    truncation) is an error naming the span.
    """
    spans = _spans_for(texts, spans)
    return _collate(tokenizer, _encode(tokenizer, texts, spans, max_length), range(len(texts)), texts, spans,
                    max_length)


def _spans_for(texts: Sequence[str], spans: Sequence[Span] | None) -> list[Span]:
    spans = list(spans) if spans is not None else [None] * len(texts)
    if len(spans) != len(texts):
        raise InputError(f"got {len(spans)} spans for {len(texts)} texts")
    return spans


def _encode(tokenizer, texts: Sequence[str], spans: Sequence[Span], max_length: int, offsets: bool = False):
    """One unpadded tokenizer pass over all texts, with character offsets when a span needs them.

    Texts are cut at a word boundary well past what the window can hold before they are
    tokenized: a tokenizer tokenizes a whole text before truncating it, which made one 50 MB
    text take minutes and gigabytes. The window's tokens are the same; a cut text that still did
    not fill the window (long runs of spaces, very long words) is tokenized again from a longer cut.
    """
    offsets = offsets or any(span is not None for span in spans)
    limit = max_length * CHARS_PER_TOKEN
    encoded = tokenizer([_cut(t, limit) for t in texts], truncation=True, max_length=max_length,
                        return_offsets_mapping=offsets)
    short = [i for i, t in enumerate(texts) if len(t) > limit and len(encoded["input_ids"][i]) < max_length]
    while short:
        limit *= 4
        again = tokenizer([_cut(texts[i], limit) for i in short], truncation=True, max_length=max_length,
                          return_offsets_mapping=offsets)
        for j, i in enumerate(short):
            for key in encoded.keys():
                encoded[key][i] = again[key][j]
            if encoded.encodings:
                encoded.encodings[i] = again.encodings[j]
        short = [i for i in short if len(texts[i]) > limit and len(encoded["input_ids"][i]) < max_length]
    return encoded


def _cut(text: str, limit: int) -> str:
    """The text up to the last white space before `limit` characters (the whole text if shorter)."""
    if len(text) <= limit:
        return text
    space = max(text.rfind(" ", 0, limit), text.rfind("\n", 0, limit), text.rfind("\t", 0, limit))
    return text[:space] if space > limit // 2 else text[:limit]


def _collate(tokenizer, encoded, rows, texts: Sequence[str], spans: Sequence[Span], max_length: int) -> dict:
    """The rows of one tokenizer pass as a padded batch (what the tokenizer's own padding gives)."""
    import torch

    rows = list(rows)
    ids = [encoded["input_ids"][i] for i in rows]
    width = max((len(row) for row in ids), default=0)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    input_ids = np.full((len(rows), width), pad, dtype=np.int64)
    attention = np.zeros((len(rows), width), dtype=np.int64)
    token_mask = np.zeros((len(rows), width), dtype=np.float32)
    characters = np.zeros((len(rows), width, 2), dtype=np.int64) if "offset_mapping" in encoded else None
    for r, (i, row) in enumerate(zip(rows, ids)):
        place = slice(width - len(row), width) if tokenizer.padding_side == "left" else slice(0, len(row))
        input_ids[r, place] = row
        attention[r, place] = 1
        token_mask[r, place] = 1.0
        if characters is not None:
            characters[r, place] = encoded["offset_mapping"][i]
        chars = resolve_span(texts[i], spans[i])
        if chars is not None:
            token_mask[r] = clause_token_mask(texts[i], characters[r], token_mask[r], chars, max_length)
    encodings = getattr(encoded, "encodings", None) or []  # fast tokenizers keep cut tokens as overflow
    return {"input_ids": torch.from_numpy(input_ids), "attention_mask": torch.from_numpy(attention),
            "token_mask": torch.from_numpy(token_mask), "rows": rows, "offsets": characters,
            "truncated": sum(bool(encodings[i].overflowing) for i in rows) if encodings else 0}


def uncovered_span(text: str, chars: tuple[int, int], max_length: int) -> InputError:
    return InputError(f"span {text[chars[0]:chars[1]]!r} at characters {chars[0]}-{chars[1]} "
                      f"covers no token within the first {max_length} tokens of {_preview(text)}")


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


def span_fits(encoder, sample) -> bool:
    """Whether a span sample starts inside the encoder's token window (a few entity targets lie past it)."""
    encoded = encoder.tokenizer(sample.text, truncation=True, max_length=encoder.config.max_length,
                                return_offsets_mapping=True)
    last = max(end for _, end in encoded["offset_mapping"])
    return sample.span[0] < last
