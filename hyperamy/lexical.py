"""Keyword scoring with BM25 (bm25s), persisted beside the index."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

WORD = re.compile(r"\w+")


def _bm25s():
    """bm25s, with its logger put back under the application's control.

    bm25s sets its own logger to DEBUG on import, so every build printed a debug line on the
    CLI; NOTSET makes it follow the root level (WARNING, or DEBUG under `hyperamy --debug`).
    """
    import logging

    import bm25s

    logging.getLogger("bm25s").setLevel(logging.NOTSET)
    return bm25s


def words(text: str) -> list[str]:
    """Lower-cased word tokens, the unit BM25 matches on."""
    return WORD.findall(text.lower())


class KeywordIndex:
    """BM25 over the documents' texts; rows map BM25's positions back to store rows."""

    def __init__(self, retriever=None, rows: np.ndarray | None = None):
        self.retriever = retriever
        self.rows = rows if rows is not None else np.zeros(0, np.int64)

    @classmethod
    def build(cls, chunks) -> "KeywordIndex":
        """Index (rows, texts) chunks in ascending row order.

        Texts are turned into vocabulary ids chunk by chunk, so the raw texts of a large
        corpus never sit in memory together.
        """
        bm25s = _bm25s()
        from bm25s.tokenization import Tokenized

        vocabulary: dict[str, int] = {}
        ids: list[list[int]] = []
        all_rows = []
        for rows, texts in chunks:
            all_rows.append(np.asarray(rows, np.int64))
            for text in texts:
                ids.append([vocabulary.setdefault(token, len(vocabulary)) for token in words(text)])
        rows = np.concatenate(all_rows) if all_rows else np.zeros(0, np.int64)
        if not len(rows):
            return cls()
        if np.any(np.diff(rows) <= 0):
            raise ValueError("keyword index rows must be strictly ascending")
        retriever = bm25s.BM25()
        retriever.index(Tokenized(ids=ids, vocab=vocabulary), show_progress=False)
        return cls(retriever, rows)

    def score_all(self, query: str) -> np.ndarray:
        """BM25 score of every document for a query, aligned with `self.rows` (ascending)."""
        if self.retriever is None:
            return np.zeros(0, np.float32)
        tokens = [t for t in words(query) if t in self.retriever.vocab_dict]
        if not tokens:
            return np.zeros(len(self.rows), np.float32)
        return np.asarray(self.retriever.get_scores(tokens), np.float32)

    def top(self, scores: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The k best (scores, rows) among positive scores, optionally only `allowed` rows."""
        if allowed is not None:
            scores = np.where(np.isin(self.rows, allowed), scores, 0.0)
        k = min(k, len(scores))
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        best = best[scores[best] > 0]
        return scores[best], self.rows[best]

    def lookup(self, scores: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The scores of given rows (0 for rows the keyword index does not hold)."""
        if not len(self.rows):
            return np.zeros(len(rows), np.float32)
        position = np.clip(np.searchsorted(self.rows, rows), 0, len(self.rows) - 1)
        found = self.rows[position] == rows
        return np.where(found, scores[position], 0.0).astype(np.float32)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "rows.npy", self.rows)
        if self.retriever is not None:
            self.retriever.save(str(folder / "bm25"))

    @classmethod
    def load(cls, folder: Path) -> "KeywordIndex":
        bm25s = _bm25s()

        rows = np.load(folder / "rows.npy")
        if not len(rows):
            return cls()
        return cls(bm25s.BM25.load(str(folder / "bm25")), rows)
