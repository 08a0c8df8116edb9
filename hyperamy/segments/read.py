"""Reading a segment folder: each file checked against the manifest, the big ones memory-mapped."""
from __future__ import annotations

import dataclasses
import json
import mmap
from pathlib import Path
from typing import Any

import numpy as np

from hyperamy import file_checks
from hyperamy.errors import IndexStateError
from hyperamy.file_checks import check_file
from hyperamy.lexical import TermCounts
from hyperamy.locking import Pin
from hyperamy.segments.feelings import widen_feelings
from hyperamy.segments.ids import IDS_FILE, find, stored_id
from hyperamy.segments.layout import (COMPLETE, HITS_FILE, MENTION_FEELINGS, MENTION_FILES, MENTIONS_FILE,
                                      OFFSETS_FILE)
from hyperamy.segments.records import Mentions
from hyperamy.vectors import VectorIndex


def read_mentions(folder: Path, entry: dict, verify: bool = True) -> Mentions | None:
    """A segment's mentions, each file checked against the manifest; None if it has none."""
    import pyarrow.parquet as pq

    if MENTIONS_FILE not in entry["files"]:
        return None
    files = {name: entry["files"][name] for name in MENTION_FILES}
    unchecked = set(files) - file_checks.verified(folder, files) if verify else set()
    for name, expected in files.items():
        check_file(folder / name, expected, name in unchecked)
    try:
        table = pq.read_table(folder / MENTIONS_FILE,
                              columns=["row", "entity", "surface", "start", "end", "source", "initial"])
        feelings = widen_feelings(np.load(folder / MENTION_FEELINGS))
        vectors = VectorIndex.read(folder, "mention", _Flat)
    except (OSError, ValueError) as exc:
        raise IndexStateError(f"segment {folder} has damaged mentions: {exc}; run `hyperamy check --repair`") from exc
    column = {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}
    mu = vectors.vectors(np.arange(len(vectors), dtype=np.int64))
    if not (len(column["row"]) == len(feelings) == len(mu)):
        raise IndexStateError(f"segment {folder} has inconsistent mentions; run `hyperamy check --repair`")
    file_checks.record(folder, files, unchecked)
    return Mentions(column["row"].astype(np.int64), list(column["entity"]), list(column["surface"]),
                    column["start"].astype(np.int64), column["end"].astype(np.int64), list(column["source"]),
                    column["initial"].astype(bool), mu, feelings, vectors)


class _Flat:  # the settings VectorIndex.read reads, for the always-exact mention index
    vector_index, hnsw_m, hnsw_ef_search = "flat", 32, 128

@dataclasses.dataclass
class Segment:
    """A loaded segment: its arrays in memory, its folder pinned while it is in use."""

    name: str
    folder: Path
    rows: np.ndarray
    semantic: VectorIndex
    emotion: VectorIndex
    feelings: np.ndarray  # (n, 33): feelings_table's columns (NaN: not stored)
    terms: TermCounts
    pin: Pin
    hits: Any = None  # the hits file, memory-mapped
    offsets: np.ndarray | None = None
    entry: dict | None = None  # its manifest entry (to check the files read later)
    ids: np.ndarray | None = None  # ids.npy, memory-mapped (None: written before it existed)
    _mentions: Any = dataclasses.field(default=False, repr=False)  # False: not read yet

    def __len__(self) -> int:
        return len(self.rows)

    def close(self) -> None:
        """Unpin its folder and unmap its hits file."""
        if isinstance(self.hits, mmap.mmap):
            try:
                self.hits.close()
            except BufferError:  # a slice still in use: the map goes when that does
                pass
        self.pin.close()

    def mentions(self, verify: bool = True) -> Mentions | None:
        """Its entity mentions (read and checked on first use); None if written without them."""
        if self._mentions is False:
            self._mentions = read_mentions(self.folder, self.entry, verify)
        return self._mentions

    def versions(self, ids: list[str], keys: np.ndarray) -> list[tuple[str, int, str]]:
        """(id, row, content hash) of the documents here with one of these ids (`keys`: their
        segments.ids.id_keys), deleted ones included. Needs `self.ids`."""
        which, positions, hashes = find(self.ids, keys)
        found = []
        for index, position, content in zip(which, positions, hashes):
            if position >= len(self.rows):
                raise IndexStateError(f"segment {self.folder} is damaged: {IDS_FILE} names position {position} "
                                      f"of {len(self.rows)}; run `hyperamy check --repair`")
            try:
                same = stored_id(self._line(position)) == ids[index]
            except ValueError:
                raise IndexStateError(f"segment {self.folder} is damaged: {HITS_FILE} line {position + 1} does not "
                                      "start with an id; run `hyperamy check --repair`") from None
            if same:
                found.append((ids[index], int(self.rows[position]), content))
        return found

    def hit(self, position: int) -> dict:
        """{"id", "text", "metadata"} of the document at a position."""
        id_, text, metadata = json.loads(self._line(position))
        return {"id": id_, "text": text, "metadata": metadata}

    def _line(self, position: int):
        """The hits file's line of the document at a position."""
        return self.hits[self.offsets[position]:self.offsets[position + 1]]


def load_segment(root: Path, entry: dict, config, verify: bool = True) -> Segment:
    """Load a segment named in the manifest, checking each file's size (and, with verify, checksum).

    Raises:
        FileNotFoundError: the folder is gone (a newer manifest replaced it: read it again).
        IndexStateError: a file is missing, damaged or inconsistent, named with its path.
    """
    folder = root / entry["name"]
    pin = Pin(folder)
    if not (folder / COMPLETE).is_file():
        pin.close()
        raise FileNotFoundError(folder)
    files = {name: expected for name, expected in entry["files"].items() if name not in MENTION_FILES}
    unchecked = set(files) - file_checks.verified(folder, files) if verify else set()
    for name, expected in entry["files"].items():  # mentions: checksummed when entities are first asked about
        check_file(folder / name, expected, name in unchecked)
    size = entry["documents"]
    try:
        rows = np.load(folder / "rows.npy", mmap_mode="r")  # mapped, as every array here: opening reads no array
        feelings = widen_feelings(np.load(folder / "feelings.npy", mmap_mode="r"))  # older segments lack some columns
        semantic = VectorIndex.read(folder, "semantic", config)  # memory-mapped
        emotion = VectorIndex.read(folder, "emotion", config)
    except (ValueError, OSError) as exc:
        raise IndexStateError(f"segment {folder} is damaged: {exc}; run `hyperamy check --repair`") from exc
    terms = TermCounts.load(folder, size, thorough=not unchecked.isdisjoint(TermCounts.FILES))
    if not (len(rows) == len(feelings) == len(semantic) == len(emotion) == size):
        raise IndexStateError(f"segment {folder} is inconsistent: the manifest says {size} documents, rows.npy "
                              f"holds {len(rows)}, feelings.npy {len(feelings)}, FAISS {len(semantic)} and "
                              f"{len(emotion)}; run `hyperamy check --repair`")
    try:
        offsets = np.load(folder / OFFSETS_FILE, mmap_mode="r")
        with open(folder / HITS_FILE, "rb") as handle:
            hits = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if offsets[-1] else b""
    except (KeyError, ValueError, OSError) as exc:
        raise IndexStateError(f"segment {folder} is damaged: {exc}; run `hyperamy check --repair`") from exc
    if len(offsets) != size + 1 or offsets[-1] != len(hits):
        raise IndexStateError(f"segment {folder} is inconsistent: {HITS_FILE} does not match {OFFSETS_FILE}; "
                              "run `hyperamy check --repair`")
    ids = None
    if IDS_FILE in entry["files"]:
        try:
            ids = np.load(folder / IDS_FILE, mmap_mode="r")
        except (ValueError, OSError) as exc:
            raise IndexStateError(f"segment {folder} is damaged: {exc}; run `hyperamy check --repair`") from exc
        if ids.shape != (4, size) or ids.dtype != np.uint64:
            raise IndexStateError(f"segment {folder} is inconsistent: {IDS_FILE} does not match its "
                                  f"{size} documents; run `hyperamy check --repair`")
    file_checks.record(folder, files, unchecked)
    return Segment(entry["name"], folder, rows, semantic, emotion, feelings, terms, pin, hits, offsets, entry, ids)
