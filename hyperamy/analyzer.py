"""How keyword search reads words: the analyzers an index can be built with.

An analyzer turns text into the terms BM25 counts, and carries BM25's two constants, since both
were chosen together and an index's stored terms are only ever scored with the analyzer that
made them (the index's `analyzer` setting, fixed when it is built):

- "english" (new indexes): lower-cased words, English function words dropped (articles,
  prepositions, conjunctions, auxiliaries, question words; pronouns are kept, they say who),
  the rest cut to their Snowball stems ("walked", "walking" -> "walk"); k1 = 0.9, b = 0.4.
- "words" (indexes built before analyzers existed): lower-cased words as written; k1 = 1.5,
  b = 0.75 (Lucene's and bm25s's defaults).

Which set chose "english": FairytaleQA train (8,548 questions, each over its own story's sections,
IDF over all train sections), R@1 of BM25 alone (feeling questions in brackets), one change at a
time: words 0.637 (0.532); stems 0.646 (0.537); function words dropped too 0.656 (0.552); and k1
0.9, b 0.4 (Anserini's defaults) 0.678 (0.578); `python benchmarks/analyzers.py`.
Snowball comes from PyStemmer, the one import of it.
"""
from __future__ import annotations

import collections
import dataclasses
import re
import threading
from typing import Iterator

# imported with this module (1 ms), not at the first commit's term counting: a Ctrl-C that lands
# while a Cython module initialises surfaces as an ImportError, not as the interrupt it was
import Stemmer

WORD = re.compile(r"\w+")
ANALYZERS = ("english", "words")
DEFAULT = "english"  # what a new index is built with
BEFORE_ANALYZERS = "words"  # what an index whose manifest names no analyzer was built with

# Function words of English that say nothing of what a passage is about. Personal pronouns are not
# among them: in "why was she afraid" the "she" can pick the passage about her.
ENGLISH_FUNCTION_WORDS = frozenset("""
a an the
of to in on at by for with from into onto about over under after before than then as
and or but nor so if because while though although
is are was were be been being am do does did done doing has have had having
will would shall should can could may might must
what who whom whose which when where why how
that this these those there here
not no
""".split())

STREAM_BATCH = 10_000  # words stemmed together while counting a long text


def words(text: str) -> list[str]:
    """Lower-cased words as written (what a query asks, what a snippet highlights); BM25 counts
    an analyzer's terms of them instead."""
    return WORD.findall(text.lower())


@dataclasses.dataclass(frozen=True)
class Analyzer:
    """Text to BM25 terms, and the BM25 constants the terms are scored with."""

    name: str
    stem: bool
    dropped: frozenset
    k1: float
    b: float

    def terms(self, text: str) -> list[str]:
        """The terms of a text (a query's, or a short passage's), in order."""
        return self._finish(words(text))

    def counts(self, text: str) -> collections.Counter:
        """How often each term occurs; streams, so a very long text never becomes one list of words."""
        found: collections.Counter = collections.Counter()
        for batch in _batches(WORD.finditer(text)):
            found.update(self._finish(batch))
        return found

    def term_of(self, found: list[str]) -> list[str | None]:
        """The term each of some lower-cased words is counted as (None: a word it drops)."""
        kept = [word for word in found if word not in self.dropped]
        terms = iter(_stemmer().stemWords(kept) if self.stem and kept else kept)
        return [None if word in self.dropped else next(terms) for word in found]

    def _finish(self, found: list[str]) -> list[str]:
        if self.dropped:
            found = [w for w in found if w not in self.dropped]
        return _stemmer().stemWords(found) if self.stem and found else found


def _batches(matches) -> Iterator[list[str]]:
    batch = []
    for match in matches:
        batch.append(match.group().lower())
        if len(batch) == STREAM_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


_local = threading.local()


def _stemmer():
    """This thread's Snowball stemmer (a PyStemmer stemmer keeps a cache and is not shared safely)."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


_BUILT = {
    "english": Analyzer("english", True, ENGLISH_FUNCTION_WORDS, 0.9, 0.4),
    "words": Analyzer("words", False, frozenset(), 1.5, 0.75),
}


def analyzer(name: str | None) -> Analyzer:
    """The analyzer called `name` (None: the default for a new index)."""
    return _BUILT[name or DEFAULT]
