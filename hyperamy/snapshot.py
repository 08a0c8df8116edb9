"""One consistent view of an index: the segments and tombstones a manifest names, loaded.

A snapshot never changes. A reader moves to a newer one between searches (engine.py), reusing
the segments both share, so keeping up with a write costs what the write added; a search in
progress keeps the snapshot it started with, whose segment folders stay pinned on disk.
"""
from __future__ import annotations

import dataclasses
import functools
import time
from pathlib import Path

import numpy as np

from hyperamy import persist
from hyperamy.errors import IndexStateError
from hyperamy.analyzer import Analyzer, analyzer
from hyperamy.lexical import KeywordScorer
from hyperamy.segments import DOCS_FILE, FEELING_COLUMNS, MENTIONS_FILE, Feelings, Segment, load_segment
from hyperamy.store import Store, readable_documents
from hyperamy.vectors import best

ATTEMPTS = 50  # manifest reads before giving up on an index that keeps changing under us


@dataclasses.dataclass
class Snapshot:
    """The index as one manifest named it, its segments read in this process (a view.View)."""

    sharded = False  # class attribute: not a field
    folder: Path
    manifest: dict
    stamp: tuple | None
    segments: list[Segment]
    live: list[np.ndarray]  # per segment: which of its documents are not deleted
    tombstones: np.ndarray  # sorted deleted rows
    store: Store
    keyword: KeywordScorer

    def __len__(self) -> int:
        return self._live_count

    # Counted once, not per search: a pass over every segment's mask is about 0.4 ms a million documents.
    @functools.cached_property
    def _live_count(self) -> int:
        return int(sum(live.sum() for live in self.live))

    @functools.cached_property
    def _has_deleted(self) -> list[bool]:
        """Whether each segment holds deleted documents."""
        return [not live.all() for live in self.live]

    def close(self) -> None:
        """Close its DuckDB connection and unpin its segments (a snapshot others still hold
        must not be closed)."""
        self.store.close()
        for segment in self.segments:
            segment.close()

    def alive(self, rows: np.ndarray) -> np.ndarray:
        """The rows that are not deleted (order kept)."""
        rows = np.asarray(rows, np.int64)
        return rows[~np.isin(rows, self.tombstones)] if len(self.tombstones) else rows

    def live_rows(self) -> np.ndarray:
        parts = [segment.rows[live] for segment, live in zip(self.segments, self.live)]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    def _locate(self, rows: np.ndarray):
        """(segment, positions in it, indices into `rows`) for the segments holding some of `rows`."""
        for segment in self.segments:
            position = np.clip(np.searchsorted(segment.rows, rows), 0, max(len(segment) - 1, 0))
            here = np.flatnonzero(segment.rows[position] == rows) if len(segment) else np.zeros(0, np.int64)
            if len(here):
                yield segment, position[here], here

    def versions(self, ids: list[str]) -> list[tuple[str, int, str]]:
        """(id, row, content hash) of every stored version of these ids, deleted ones included: a
        binary search of each segment's ids.npy, or a scan of docs.parquet when a segment was
        written without one."""
        from hyperamy.segments import id_keys

        ids = list(dict.fromkeys(ids))
        if not ids or not self.segments:
            return []
        if any(segment.ids is None for segment in self.segments):
            return self.store.versions(ids)
        keys = id_keys(ids)
        return [found for segment in self.segments for found in segment.versions(ids, keys)]

    def fetch(self, rows) -> dict[int, dict]:
        """{"id", "text", "metadata"} of some rows, keyed by row."""
        rows = np.asarray(rows, np.int64)
        found = {}
        for segment, positions, here in self._locate(rows):
            for position, index in zip(positions, here):
                found[int(rows[index])] = segment.hit(int(position))
        return found

    def feelings(self, rows: np.ndarray) -> Feelings:
        """The stored feelings of some rows (NaN where not stored)."""
        table = np.zeros((len(rows), FEELING_COLUMNS), np.float32)
        for segment, positions, here in self._locate(rows):
            table[here] = segment.feelings[positions]
        return Feelings.of(table)

    def mentions_of(self, rows: np.ndarray) -> list:
        """The stored entity mentions (segments.Mentions) of some rows, one table per segment holding any."""
        rows = np.asarray(rows, np.int64)
        found = []
        for segment, _, here in self._locate(rows):
            mentions = segment.mentions()
            if mentions is not None and len(mentions):
                found.append(mentions.take(np.flatnonzero(np.isin(mentions.rows, rows[here]))))
        return found

    def vectors(self, which: str, rows: np.ndarray) -> np.ndarray:
        """Stored semantic or emotion vectors of some rows, in that order."""
        out = None
        for segment, _, here in self._locate(rows):
            index = getattr(segment, which)
            found = index.vectors(rows[here])
            if out is None:
                out = np.zeros((len(rows), found.shape[1]), np.float32)
            out[here] = found
        if out is None:  # no rows (a query whose words no document has): still a matrix a query multiplies
            out = np.zeros((len(rows), getattr(self.segments[0], which).dimension if self.segments else 0), np.float32)
        return out

    def search(self, which: str, query: np.ndarray, k: int, allowed: np.ndarray | None,
               breadth: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the k live documents nearest `query` among every segment's vectors;
        `breadth` is HNSW's efSearch (None: the index's stored one)."""
        scores, rows = [], []
        for segment, live, deleted in zip(self.segments, self.live, self._has_deleted):
            found_scores, found_rows = getattr(segment, which).search(query, k, allowed, live if deleted else None,
                                                                      breadth)
            scores.append(found_scores)
            rows.append(found_rows)
        if not rows:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores, rows = np.concatenate(scores), np.concatenate(rows)
        return best(scores, rows, k)


def load(folder: Path, config, previous: Snapshot | None = None, verify: bool = True,
         only: set[str] | None = None) -> Snapshot:
    """The index's current snapshot, reusing the segments it shares with `previous`.

    `only` loads just those segments (a shard of the index, see shards.py).

    Raises:
        IndexStateError: no index, another format, a damaged or missing file (named).
    """
    known = {segment.name: segment for segment in previous.segments} if previous else {}
    for _ in range(ATTEMPTS):
        seen = persist.stamp(folder)
        manifest = persist.read_manifest(folder)
        try:
            segments = [known.get(entry["name"]) or load_segment(folder / persist.SEGMENTS, entry, config, verify)
                        for entry in manifest["segments"] if only is None or entry["name"] in only]
            tombstones = persist.read_tombstones(folder, manifest.get("tombstones"))
        except FileNotFoundError as missing:  # a writer replaced the manifest and removed what it named...
            if persist.stamp(folder) == seen:  # ...unless the manifest is still the same: then it is lost
                raise IndexStateError(f"index {folder} is damaged: {missing.filename or missing} is missing, though "
                                      "the manifest names it; run `hyperamy check --repair`") from None
            time.sleep(0.01)
            continue
        return _assemble(folder, manifest, seen, segments, tombstones, analyzer(config.analyzer), whole=only is None)
    raise IndexStateError(f"index {folder} changed {ATTEMPTS} times while it was being opened; try again")


def build(folder: Path, manifest: dict, config, previous: Snapshot, tombstones: np.ndarray,
          verify: bool = True) -> Snapshot:
    """The snapshot a manifest not yet written would give (a commit's next state), reusing the
    segments it shares with `previous`; its stamp is None until the manifest is written.

    The new segments' tables are bound in DuckDB here, as a search's view will bind them: a file
    DuckDB refuses raises now, before any manifest names it. Only the new ones: the others passed
    this when they were committed, and at a million passages binding their footers again cost
    each commit 70 ms (benchmarks/million.py); their metadata types agree with the new ones'
    because every write is cast to the index's field types (segments.metadata_columns).

    Raises:
        IndexStateError: a file cannot be read (DuckDB's refusal included), or the counts disagree.
    """
    known = {segment.name: segment for segment in previous.segments}
    segments = [known.get(entry["name"]) or load_segment(folder / persist.SEGMENTS, entry, config, verify)
                for entry in manifest["segments"]]
    built = _assemble(folder, manifest, None, segments, np.asarray(tombstones, np.int64), analyzer(config.analyzer))
    new = [segment for segment in segments if segment.name not in known]
    if new:  # raises when DuckDB refuses one of their files
        readable_documents(folder, [segment.folder / DOCS_FILE for segment in new],
                           [segment.folder / MENTIONS_FILE for segment in new if MENTIONS_FILE in segment.entry["files"]])
    return built


def live_mask(rows: np.ndarray, tombstones: np.ndarray) -> np.ndarray:
    """Which of a segment's `rows` (ascending) are not among the sorted deleted rows: a binary
    search of each tombstone, not a sort of the segment's rows (17 ms at a million)."""
    live = np.ones(len(rows), bool)
    if len(rows) and len(tombstones):
        at = np.searchsorted(rows, tombstones)
        inside = at < len(rows)
        at, dead = at[inside], tombstones[inside]
        live[at[rows[at] == dead]] = False
    return live


def _assemble(folder: Path, manifest: dict, seen, segments: list[Segment], tombstones: np.ndarray,
              reader: Analyzer, whole: bool = True) -> Snapshot:
    live = [live_mask(segment.rows, tombstones) for segment in segments]
    count = int(sum(mask.sum() for mask in live))
    if whole and count != manifest["counts"]["documents"]:
        raise IndexStateError(f"index {folder} is inconsistent: the manifest says {manifest['counts']['documents']} "
                              f"documents, its segments hold {count} live ones; run `hyperamy check`")
    store = Store(folder, [segment.folder / DOCS_FILE for segment in segments],
                  [segment.folder / MENTIONS_FILE for segment in segments if MENTIONS_FILE in segment.entry["files"]],
                  tombstones)
    keyword = KeywordScorer([(segment.terms, segment.rows, mask) for segment, mask in zip(segments, live)], reader)
    return Snapshot(folder, manifest, seen, segments, live, tombstones, store, keyword)


def empty(folder: Path, manifest: dict | None = None) -> Snapshot:
    """A snapshot with no documents loaded: of an index that has no manifest yet, or (given its
    manifest) of one opened only to be checked and repaired."""
    seen = persist.stamp(folder) if manifest is not None else None
    manifest = manifest or {"segments": [], "counts": {"documents": 0}, "next_row": 0, "commit": 0, "fields": {}}
    return Snapshot(folder, manifest, seen, [], [], np.zeros(0, np.int64), Store(folder, []),
                    KeywordScorer([], analyzer(None)))
