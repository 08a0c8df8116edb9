"""Keyword scoring with BM25, persisted beside the index.

bm25s builds the index: it precomputes each (word, document) BM25 term score into a sparse
matrix, one column per word. Scoring a query is then a sum of its words' columns, done here in
NumPy, so a search never imports bm25s (and SciPy, which it loads: 0.3 s of a one-off search).
The files are the ones `bm25s.BM25.save` writes, and `bm25s.BM25.load` reads them.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from hyperamy.errors import IndexStateError

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

    def __init__(self, matrix: "TermScores | None" = None, rows: np.ndarray | None = None):
        self.matrix = matrix
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
        retriever = bm25s.BM25()  # Lucene's BM25: no score for the words a document lacks
        retriever.index(Tokenized(ids=ids, vocab=vocabulary), show_progress=False)
        scores = retriever.scores
        params = {"k1": retriever.k1, "b": retriever.b, "delta": retriever.delta, "method": retriever.method,
                  "idf_method": retriever.idf_method, "dtype": retriever.dtype, "int_dtype": retriever.int_dtype,
                  "num_docs": int(scores["num_docs"]), "version": bm25s.__version__, "backend": "numpy"}
        return cls(TermScores(scores["data"], scores["indices"], scores["indptr"], retriever.vocab_dict, params),
                   rows)

    def score_all(self, query: str) -> np.ndarray:
        """BM25 score of every document for a query, aligned with `self.rows` (ascending)."""
        if self.matrix is None:
            return np.zeros(0, np.float32)
        return self.matrix.scores(words(query))

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
        if self.matrix is not None:
            self.matrix.save(folder / "bm25")

    @classmethod
    def load(cls, folder: Path) -> "KeywordIndex":
        """The keyword index saved in `folder`.

        Raises:
            IndexStateError: a file is missing, unreadable, or disagrees with the others.
        """
        try:
            rows = np.load(folder / "rows.npy")
            if not len(rows):
                return cls()
            matrix = TermScores.load(folder / "bm25")
        except FileNotFoundError as exc:
            raise IndexStateError(f"index is incomplete: {exc.filename} is missing") from exc
        except (OSError, ValueError, KeyError) as exc:  # JSONDecodeError is a ValueError
            raise IndexStateError(f"keyword index {folder} is corrupt: {exc}") from exc
        # bm25s adds the empty word to the vocabulary without a column; words() never yields it
        if matrix.num_docs != len(rows) or len(matrix.indptr) < len(matrix.vocabulary):
            raise IndexStateError(f"keyword index {folder} is corrupt: {matrix.num_docs} documents for "
                                  f"{len(rows)} rows, {len(matrix.indptr) - 1} word columns for a vocabulary "
                                  f"of {len(matrix.vocabulary)}")
        return cls(matrix, rows)


class TermScores:
    """BM25 term scores as a sparse word-by-document matrix in compressed columns.

    Column `w` (entries indptr[w]:indptr[w + 1]) holds the documents containing word w and that
    word's BM25 score in each; a query's scores are the sum of its words' columns, a word
    counted as often as the query repeats it (as bm25s counts it).
    """

    FILES = {"data": "data.csc.index.npy", "indices": "indices.csc.index.npy", "indptr": "indptr.csc.index.npy"}
    VOCABULARY, PARAMS = "vocab.index.json", "params.index.json"
    METHODS = ("lucene", "robertson", "atire")  # those whose absent words score 0: no extra array

    def __init__(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, vocabulary: dict[str, int],
                 params: dict):
        if params.get("method") not in self.METHODS:
            raise ValueError(f"BM25 variant {params.get('method')!r} is not supported (only {self.METHODS})")
        self.data, self.indices, self.indptr = data, indices, indptr
        self.vocabulary, self.params = vocabulary, params
        self.num_docs = int(params["num_docs"])

    def scores(self, tokens: list[str]) -> np.ndarray:
        """(num_docs,) float32: the BM25 score of every document for the query's tokens."""
        total = np.zeros(self.num_docs, np.float32)
        for token in tokens:
            word = self.vocabulary.get(token)
            if word is not None:
                start, end = self.indptr[word], self.indptr[word + 1]
                np.add.at(total, self.indices[start:end], self.data[start:end])
        return total

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, file in self.FILES.items():
            np.save(folder / file, getattr(self, name))
        (folder / self.VOCABULARY).write_text(json.dumps(self.vocabulary, ensure_ascii=False), encoding="utf-8")
        (folder / self.PARAMS).write_text(json.dumps(self.params, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "TermScores":
        arrays = {name: np.load(folder / file) for name, file in cls.FILES.items()}
        vocabulary = json.loads((folder / cls.VOCABULARY).read_text(encoding="utf-8"))
        params = json.loads((folder / cls.PARAMS).read_text(encoding="utf-8"))
        return cls(arrays["data"], arrays["indices"], arrays["indptr"], vocabulary, params)
