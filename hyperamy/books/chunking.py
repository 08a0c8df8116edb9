"""Cut text into passages of at most a token budget, keeping paragraphs whole where they fit
and never cutting a sentence where it can be avoided.

Tokens are the encoder's own (the backbone's word pieces, special tokens left out), so a passage
of the default budget is read whole by the encoder. A paragraph longer than the budget is cut
between sentences; a sentence longer than the budget (rare in prose) between words.
"""
from __future__ import annotations

import dataclasses
import functools
import re

from hyperamy.errors import InputError
from hyperamy.sentences import sentences, trimmed

DEFAULT_TOKENS = 128  # all-MiniLM-L6-v2 was trained on 128 word pieces; a passage reads as one feeling
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")


@dataclasses.dataclass(frozen=True)
class Chunking:
    """How long passages are: at most `tokens` word pieces; each starts with up to `overlap`
    tokens of whole sentences from the end of the one before it."""

    tokens: int = DEFAULT_TOKENS
    overlap: int = 0

    def __post_init__(self) -> None:
        if not 16 <= self.tokens <= 8192:
            raise InputError(f"a passage of {self.tokens} tokens: choose 16 to 8192")
        if not 0 <= self.overlap < self.tokens // 2 + 1:
            raise InputError(f"an overlap of {self.overlap} tokens: choose 0 to half the passage ({self.tokens // 2})")

    @classmethod
    def parse(cls, value: str) -> "Chunking":
        """From `TOKENS` or `TOKENS:OVERLAP` (the `--chunk` option)."""
        tokens, _, overlap = str(value).partition(":")
        try:
            sizes = int(tokens), int(overlap) if overlap else 0
        except ValueError:
            raise InputError(f"--chunk {value!r}: expected TOKENS or TOKENS:OVERLAP, e.g. 128 or 200:40") from None
        return cls(*sizes)

    def split(self, text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
        """(start, end) character spans of the passages of text[start:end], in order, white space
        trimmed from each; none for text that is only white space."""
        end = len(text) if end is None else end
        paragraphs = [sentences(text, a, b) for a, b in _paragraphs(text, start, end)]
        flat = [s for paragraph in paragraphs for s in paragraph]
        counts = iter(token_counts([text[a:b] for a, b in flat]))
        sized = [[(a, b, next(counts)) for a, b in paragraph] for paragraph in paragraphs]
        return [(units[0][0], units[-1][1]) for units in self._pack(sized, text)]

    def _pack(self, paragraphs, text: str) -> list[list[tuple[int, int, int]]]:
        passages: list[list] = []
        current: list = []  # sentences of the passage being filled
        carried = 0  # how many of them are overlap from the passage before

        def close() -> None:
            nonlocal current, carried
            if len(current) > carried:
                passages.append(current)
                kept, used = [], 0
                for unit in reversed(current):
                    if used + unit[2] > self.overlap:
                        break
                    kept.insert(0, unit)
                    used += unit[2]
                current, carried = kept, len(kept)

        def fit(units) -> None:  # add units to the current passage, dropping overlap first when short of room
            nonlocal current, carried
            need = sum(u[2] for u in units)
            while carried and sum(u[2] for u in current) + need > self.tokens:
                current.pop(0)
                carried -= 1
            current.extend(units)

        for paragraph in paragraphs:
            size = sum(u[2] for u in paragraph)
            if sum(u[2] for u in current) + size <= self.tokens:
                current.extend(paragraph)
                continue
            close()
            if size <= self.tokens:
                fit(paragraph)
                continue
            for unit in paragraph:  # a paragraph longer than a passage: cut between its sentences
                if unit[2] > self.tokens:
                    close()
                    current, carried = [], 0
                    for piece in self._words(text, unit):
                        current = [piece]
                        close()
                    current, carried = [], 0
                elif sum(u[2] for u in current) + unit[2] > self.tokens:
                    close()
                    fit([unit])
                else:
                    current.append(unit)
        close()
        return passages

    def _words(self, text: str, unit: tuple[int, int, int]) -> list[tuple[int, int, int]]:
        """A sentence longer than a passage, cut between words into pieces of at most the budget."""
        words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text[unit[0]:unit[1]])]
        counts = token_counts([text[unit[0] + a:unit[0] + b] for a, b in words])
        pieces, first, used = [], 0, 0
        for i, count in enumerate(counts):
            if used and used + count > self.tokens:
                pieces.append((unit[0] + words[first][0], unit[0] + words[i - 1][1], used))
                first, used = i, 0
            used += count
        pieces.append((unit[0] + words[first][0], unit[0] + words[-1][1], used))
        return pieces


def _paragraphs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, at = [], start
    for brk in PARAGRAPH_BREAK.finditer(text, start, end):
        spans.append((at, brk.start()))
        at = brk.end()
    spans.append((at, end))
    return [t for t in (trimmed(text, a, b) for a, b in spans) if t]


def token_counts(texts: list[str]) -> list[int]:
    """Word pieces of each text in the encoder's vocabulary, special tokens left out."""
    if not texts:
        return []
    return [len(e.ids) for e in _tokenizer().encode_batch(texts, add_special_tokens=False)]


@functools.lru_cache(maxsize=1)
def _tokenizer():
    """The backbone's fast tokenizer, read from its file (no model, no torch)."""
    from tokenizers import Tokenizer

    from hyperamy.encoder.weights import resolve_backbone
    from hyperamy.config import EncoderConfig

    tokenizer = Tokenizer.from_file(str(resolve_backbone(EncoderConfig().backbone) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer
