"""Keyword scoring with BM25 over segments, with statistics of the whole live index.

Each segment stores only what its own documents contain: for every word, the documents that
hold it and how often (a word-by-document matrix in compressed columns), and each document's
length. A query's BM25 scores are computed at search time from the live documents of every
segment together: the document count, the average length and each query word's document
frequency are global, so adding or deleting documents needs no rebuild of the others, and the
scores equal those of one BM25 index over the live documents (Lucene's variant, as bm25s and
Lucene compute it: tests/test_vectors_and_rerank.py checks them against bm25s). What a word is, and BM25's
k1 and b, come from the index's analyzer (hyperamy/analyzer.py).
"""
from __future__ import annotations

import collections
import json
import math
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from hyperamy.analyzer import Analyzer
from hyperamy.errors import IndexStateError


class TermCounts:
    """The words of one segment's documents (positions 0..n-1 in the segment's row order)."""

    FILES = ("terms.json", "term_pointers.npy", "term_documents.npy", "term_counts.npy", "lengths.npy")

    def __init__(self, vocabulary: dict[str, int], pointers: np.ndarray, documents: np.ndarray,
                 counts: np.ndarray, lengths: np.ndarray):
        self.vocabulary, self.pointers, self.documents = vocabulary, pointers, documents
        self.counts, self.lengths = counts, lengths

    @classmethod
    def build(cls, texts: Iterable[str], analyzer: Analyzer) -> "TermCounts":
        vocabulary: dict[str, int] = {}
        columns, documents, counts, lengths = [], [], [], []
        for position, text in enumerate(texts):
            found = analyzer.counts(text)
            lengths.append(sum(found.values()))
            for word, count in found.items():
                columns.append(vocabulary.setdefault(word, len(vocabulary)))
                documents.append(position)
                counts.append(count)
        columns = np.asarray(columns, np.int64)
        order = np.argsort(columns, kind="stable")  # documents stay ascending within a word
        pointers = np.zeros(len(vocabulary) + 1, np.int64)
        np.cumsum(np.bincount(columns, minlength=len(vocabulary)), out=pointers[1:])
        return cls(vocabulary, pointers, np.asarray(documents, np.int32)[order],
                   np.asarray(counts, np.float32)[order], np.asarray(lengths, np.float32))

    def postings(self, word: str) -> tuple[np.ndarray, np.ndarray]:
        """(positions, counts) of the documents holding `word`."""
        column = self.vocabulary.get(word)
        if column is None:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        start, end = self.pointers[column], self.pointers[column + 1]
        return self.documents[start:end], self.counts[start:end]

    def save(self, folder: Path) -> None:
        words_in_order = sorted(self.vocabulary, key=self.vocabulary.get)
        (folder / "terms.json").write_text(json.dumps(words_in_order, ensure_ascii=False), encoding="utf-8")
        for name, array in zip(self.FILES[1:], (self.pointers, self.documents, self.counts, self.lengths)):
            np.save(folder / name, array)

    @classmethod
    def load(cls, folder: Path, size: int, thorough: bool = True) -> "TermCounts":
        """The term counts saved in `folder` for a segment of `size` documents, the arrays
        memory-mapped. `thorough` also reads every posting to check it names a document of the
        segment (what a file whose checksum was already checked needs no more).

        Raises:
            IndexStateError: a file is unreadable or disagrees with the others.
        """
        try:
            vocabulary = {word: i for i, word in enumerate(json.loads((folder / "terms.json").read_text("utf-8")))}
            pointers, documents, counts, lengths = (np.load(folder / name, mmap_mode="r") for name in cls.FILES[1:])
        except (OSError, ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
            raise IndexStateError(f"keyword data in {folder} is corrupt: {exc}") from exc
        if (len(pointers) != len(vocabulary) + 1 or pointers[-1] != len(documents) or len(counts) != len(documents)
                or len(lengths) != size or (thorough and len(documents) and documents.max() >= size)):
            raise IndexStateError(f"keyword data in {folder} is corrupt: its arrays disagree "
                                  f"({len(vocabulary)} words, {len(documents)} entries, {len(lengths)} lengths "
                                  f"for {size} documents)")
        return cls(vocabulary, pointers, documents, counts, lengths)


class KeywordScorer:
    """BM25 over the live documents of some segments, each given as (term counts, rows, live mask),
    their terms made by `analyzer`."""

    def __init__(self, segments: Sequence[tuple[TermCounts, np.ndarray, np.ndarray]], analyzer: Analyzer):
        self.segments, self.analyzer = segments, analyzer
        self.documents = int(sum(live.sum() for _, _, live in segments))
        self.total_length = float(sum(terms.lengths[live].sum() for terms, _, live in segments))
        self.average_length = self.total_length / self.documents if self.documents else 1.0

    def statistics(self, query: str) -> dict:
        """What BM25 needs from these segments for a query: live documents, their total length, and
        each query word's document frequency. Shards add theirs up (`combine`) into global ones."""
        frequencies = {}
        for word in set(self.analyzer.terms(query)):
            frequencies[word] = int(sum(live[terms.postings(word)[0]].sum() for terms, _, live in self.segments))
        return {"documents": self.documents, "length": self.total_length, "frequencies": frequencies}

    def scores(self, query: str, statistics: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows ascending, scores) of the live documents holding at least one query word.

        `statistics` (from `combine`) make the scores those of a larger index these segments are
        part of; by default they are these segments' own.
        """
        documents = statistics["documents"] if statistics else self.documents
        average = (statistics["length"] / documents if statistics and documents else self.average_length)
        found_rows, found_scores = [], []
        k1, b = self.analyzer.k1, self.analyzer.b
        for word, repeats in collections.Counter(self.analyzer.terms(query)).items():
            postings = []
            for terms, rows, live in self.segments:
                positions, counts = terms.postings(word)
                keep = live[positions]
                positions, counts = positions[keep], counts[keep]
                norm = k1 * (1 - b + b * terms.lengths[positions] / average)
                postings.append((rows[positions], counts / (counts + norm)))
            frequency = statistics["frequencies"][word] if statistics else sum(len(r) for r, _ in postings)
            if not frequency or not sum(len(r) for r, _ in postings):
                continue
            weight = idf(documents, frequency)
            for found, part in postings:
                found_rows.append(found)
                found_scores.append((repeats * weight) * part)
        if not found_rows:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        rows, inverse = np.unique(np.concatenate(found_rows), return_inverse=True)
        scores = np.bincount(inverse, weights=np.concatenate(found_scores), minlength=len(rows))
        return rows, scores.astype(np.float32)


def idf(documents: int, frequency: int) -> float:
    """BM25's inverse document frequency of a term that `frequency` of `documents` hold."""
    return math.log(1 + (documents - frequency + 0.5) / (frequency + 0.5))


def term_weights(statistics: dict) -> dict[str, float]:
    """{term: IDF} of the query terms that some document holds, from `statistics` (KeywordScorer.statistics)."""
    return {word: idf(statistics["documents"], count) for word, count in statistics["frequencies"].items() if count}


def combine(statistics: list[dict]) -> dict:
    """The statistics of several parts of one index, as one index's."""
    frequencies: dict[str, int] = {}
    for part in statistics:
        for word, count in part["frequencies"].items():
            frequencies[word] = frequencies.get(word, 0) + count
    return {"documents": sum(p["documents"] for p in statistics), "length": sum(p["length"] for p in statistics),
            "frequencies": frequencies}


def top(rows: np.ndarray, scores: np.ndarray, k: int, allowed: np.ndarray | None = None):
    """The k best (scores, rows), optionally only `allowed` rows (sorted); ties by row."""
    from hyperamy.vectors import best

    if allowed is not None:
        keep = np.isin(rows, allowed)
        rows, scores = rows[keep], scores[keep]
    return best(scores, rows, k)


def lookup(rows: np.ndarray, scores: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The scores of `wanted` rows (0 for those that hold no query word)."""
    if not len(rows):
        return np.zeros(len(wanted), np.float32)
    position = np.clip(np.searchsorted(rows, wanted), 0, len(rows) - 1)
    return np.where(rows[position] == wanted, scores[position], 0.0).astype(np.float32)
