"""Immutable segments: a folder of documents written once, read by any number of processes.

A segment holds its documents' texts and metadata (`docs.parquet`, queried through DuckDB),
their semantic and emotion vectors (FAISS files), their feelings (kappa and the 28 label
probabilities, `feelings.npy`), their global row numbers (`rows.npy`) and their words
(lexical.TermCounts). The manifest records every file's size and SHA-256; loading checks both,
so a damaged file is named instead of silently changing results.
"""
from __future__ import annotations

import dataclasses
import json
import mmap
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hyperamy.emotions import AFFECT, LABELS
from hyperamy.encoder.intensity import intensity
from hyperamy.errors import DataFormatError, IndexStateError
from hyperamy import file_checks
from hyperamy.file_checks import check_file, checksum
from hyperamy.lexical import TermCounts
from hyperamy.locking import Pin
from hyperamy.vectors import VectorIndex

DOCS_FILE = "docs.parquet"
MENTIONS_FILE, MENTION_FEELINGS = "mentions.parquet", "mention_feelings.npy"  # entity mentions (mentions.py)
MENTION_FILES = (MENTIONS_FILE, MENTION_FEELINGS, "mention.faiss")  # read when entities are asked about
HITS_FILE, OFFSETS_FILE = "hits.jsonl", "hits_offsets.npy"  # [id, text, metadata] per line, for fetching hits
COMPLETE = "complete"  # written last: a folder without it was never finished
# Columns of docs.parquet that metadata may not take; such fields are stored with a meta_ prefix.
RESERVED = {"_row", "row", "id", "text", "hash", "kappa", "emotion", "emotions", "probs", "strength",
            *AFFECT, *(f"intensity_{name}" for name in LABELS)}
ROW_GROUP = 2048  # small row groups let a search fetch its hits without reading whole columns


def metadata_column(name: str) -> str:
    return f"meta_{name}" if name.lower() in RESERVED else name


@dataclasses.dataclass
class Documents:
    """What a new segment stores, one entry per document, in ascending row order."""

    rows: np.ndarray
    ids: list[str]
    texts: list[str]
    hashes: list[str]
    metadata: list[dict[str, Any]]
    semantic: np.ndarray
    mu: np.ndarray
    kappa: np.ndarray
    probs: np.ndarray
    strength: np.ndarray | None = None  # None: the model has no intensity head
    mentions: "Mentions | None" = None  # None: the index does not look for mentions
    affect: np.ndarray | None = None  # (n, 3) valence, arousal, dominance; None: the model has no such head

    def feelings(self) -> np.ndarray:
        return feelings_table(self.kappa, self.probs, self.strength, self.affect)

    @classmethod
    def join(cls, parts: Sequence["Documents"]) -> "Documents":
        """One batch of several whose rows follow one another in ascending order."""
        def stacked(name):
            values = [getattr(p, name) for p in parts]
            if any(v is None for v in values):  # a part without a head: NaN there, as feelings_table stores it
                if all(v is None for v in values):
                    return None
                values = [np.full((len(p.rows), 3) if name == "affect" else len(p.rows), np.nan, np.float32)
                          if v is None else v for p, v in zip(parts, values)]
            return np.concatenate(values)

        found = [p.mentions for p in parts if p.mentions is not None]
        return cls(rows=np.concatenate([p.rows for p in parts]), ids=sum((p.ids for p in parts), []),
                   texts=sum((p.texts for p in parts), []), hashes=sum((p.hashes for p in parts), []),
                   metadata=sum((p.metadata for p in parts), []), semantic=np.concatenate([p.semantic for p in parts]),
                   mu=np.concatenate([p.mu for p in parts]), kappa=np.concatenate([p.kappa for p in parts]),
                   probs=np.concatenate([p.probs for p in parts]), strength=stacked("strength"),
                   mentions=Mentions.join(found, parts[0].mu.shape[1]) if found else None, affect=stacked("affect"))


@dataclasses.dataclass
class Mentions:
    """Entity mentions of a segment's documents, ordered by (row, start)."""

    rows: np.ndarray  # (m,) int64: the document's row
    entity: list[str]  # the name each resolves to
    surface: list[str]  # the text as written
    start: np.ndarray  # (m,) character offsets in the document's text
    end: np.ndarray
    source: list[str]  # "list", "field" or "auto" (mentions.py)
    initial: np.ndarray  # (m,) bool: opens a sentence
    mu: np.ndarray  # (m, dim) emotion directions
    feelings: np.ndarray  # (m, 33): like a segment's feelings.npy (feelings_table)
    index: VectorIndex | None = None  # FAISS over mu, ids = places in this table (as read from a segment)

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, keep: np.ndarray) -> "Mentions":
        keep = np.asarray(keep)
        return Mentions(self.rows[keep], [self.entity[i] for i in keep], [self.surface[i] for i in keep],
                        self.start[keep], self.end[keep], [self.source[i] for i in keep], self.initial[keep],
                        self.mu[keep], self.feelings[keep])

    @classmethod
    def join(cls, parts: Sequence["Mentions"], dim: int) -> "Mentions":
        """One table of several, ordered by (row, start)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls(np.zeros(0, np.int64), [], [], np.zeros(0, np.int64), np.zeros(0, np.int64), [],
                       np.zeros(0, bool), np.zeros((0, dim), np.float32), np.zeros((0, FEELING_COLUMNS), np.float32))
        rows, start = np.concatenate([p.rows for p in parts]), np.concatenate([p.start for p in parts])
        joined = cls(rows, sum((p.entity for p in parts), []), sum((p.surface for p in parts), []), start,
                     np.concatenate([p.end for p in parts]), sum((p.source for p in parts), []),
                     np.concatenate([p.initial for p in parts]), np.concatenate([p.mu for p in parts]),
                     np.concatenate([p.feelings for p in parts]))
        return joined.take(np.lexsort((start, rows)))


FEELING_COLUMNS = 33  # kappa, 28 label probabilities, strength, valence, arousal, dominance
STRENGTH_AT, AFFECT_AT = 29, slice(30, 33)


def feelings_table(kappa: np.ndarray, probs: np.ndarray, strength: np.ndarray | None,
                   affect: np.ndarray | None = None) -> np.ndarray:
    """(n, 33) float32: kappa, the 28 label probabilities, strength, valence, arousal, dominance
    (NaN where the model has no such head)."""
    felt = np.full(len(kappa), np.nan, np.float32) if strength is None else strength
    rated = np.full((len(kappa), 3), np.nan, np.float32) if affect is None else np.asarray(affect).reshape(-1, 3)
    return np.column_stack([kappa, probs, felt, rated]).astype(np.float32)


def widen_feelings(feelings: np.ndarray) -> np.ndarray:
    """A feelings table as written by any version (29, 30 or 33 columns) with all 33 (NaN: not stored)."""
    if feelings.ndim != 2 or feelings.shape[1] not in (29, 30, FEELING_COLUMNS):
        raise ValueError(f"a feelings table has {feelings.shape} values, expected (n, {FEELING_COLUMNS})")
    missing = FEELING_COLUMNS - feelings.shape[1]
    if not missing:
        return feelings
    return np.column_stack([feelings, np.full((len(feelings), missing), np.nan, np.float32)]).astype(np.float32)


def affect_columns(affect: np.ndarray) -> dict:
    """Arrow arrays of valence, arousal and dominance (docs and mentions tables), for --where."""
    import pyarrow as pa

    return {name: pa.array(np.asarray(affect[:, i], np.float32)) for i, name in enumerate(AFFECT)}


def write_segment(folder: Path, documents: Documents, thresholds: np.ndarray, config, fields: dict[str, str]) -> dict:
    """Write a new segment folder; returns its manifest entry. `fields` (name -> type) is updated."""
    folder.mkdir(parents=True)
    table = docs_table(documents, thresholds, fields)
    _write_parquet(table, folder / DOCS_FILE)
    fields_written = [name for name in table.column_names if name not in FIXED_COLUMNS]
    metadata = table.select(fields_written).to_pylist() if fields_written else [{}] * table.num_rows  # as stored
    del table  # the texts are in `documents` already: no second copy of a long one
    write_hits(folder, zip(documents.ids, documents.texts, metadata))
    write_arrays(folder, documents.rows, documents.semantic, documents.mu,
                  documents.feelings(), config)
    if documents.mentions is not None:
        write_mentions(folder, documents.mentions)
    TermCounts.build(documents.texts).save(folder)
    return finish(folder, len(documents.rows))


def write_mentions(folder: Path, mentions: Mentions) -> None:
    """A segment's mentions: a table for DuckDB (mentions.parquet: row, entity, surface, start, end,
    source, initial, kappa, emotion, strength, intensity_<label>), their feelings (like
    feelings.npy) and a flat FAISS index of their emotion directions, ids = places in the table."""
    import pyarrow as pa

    probs, kappa, strength = mentions.feelings[:, 1:29], mentions.feelings[:, 0], mentions.feelings[:, STRENGTH_AT]
    affect = mentions.feelings[:, AFFECT_AT]
    columns = {
        "row": pa.array(np.asarray(mentions.rows, np.int64)), "entity": pa.array(mentions.entity, pa.string()),
        "surface": pa.array(mentions.surface, pa.string()), "start": pa.array(np.asarray(mentions.start, np.int64)),
        "end": pa.array(np.asarray(mentions.end, np.int64)), "source": pa.array(mentions.source, pa.string()),
        "initial": pa.array(np.asarray(mentions.initial, bool)), "kappa": pa.array(kappa.astype(np.float32)),
        "emotion": pa.array([LABELS[i] for i in probs.argmax(1)] if len(probs) else [], pa.string()),
        **strength_columns(strength, probs),
    }
    if len(affect) and not np.isnan(affect).all():
        columns.update(affect_columns(affect))
    _write_parquet(pa.table(columns), folder / MENTIONS_FILE)
    np.save(folder / MENTION_FEELINGS, np.asarray(mentions.feelings, np.float32))
    index = VectorIndex(mentions.mu.shape[1], "flat")
    index.add(np.arange(len(mentions), dtype=np.int64), mentions.mu)
    index.save(folder, "mention")


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


def write_arrays(folder: Path, rows: np.ndarray, semantic: np.ndarray, mu: np.ndarray, feelings: np.ndarray,
                  config) -> None:
    np.save(folder / "rows.npy", np.asarray(rows, np.int64))
    np.save(folder / "feelings.npy", np.asarray(feelings, np.float32))
    for name, vectors in (("semantic", semantic), ("emotion", mu)):
        index = VectorIndex(vectors.shape[1], config.vector_index, config.hnsw_m, config.hnsw_ef_search)
        index.add(rows, vectors)
        index.save(folder, name)


INTENSITY_COLUMNS = tuple(f"intensity_{name}" for name in LABELS if name != "neutral")
FIXED_COLUMNS = ("row", "id", "text", "hash", "kappa", "emotion", "emotions", "strength", *INTENSITY_COLUMNS,
                 *AFFECT)


def write_hits(folder: Path, documents) -> None:
    """What a search shows of each document, one JSON line each, and where each line starts.

    Parquet through DuckDB takes about 5 ms to fetch ten hits; a slice of this file, microseconds.
    It derives from docs.parquet (check --repair rebuilds it from there).
    """
    from hyperamy.jsontext import dumps

    offsets = [0]
    with open(folder / HITS_FILE, "wb") as handle:
        for id_, text, metadata in documents:
            line = dumps([id_, text, metadata]).encode("utf-8")  # as get and export write them
            handle.write(line)
            handle.write(b"\n")  # apart: joined, a long text's line was copied once more
            offsets.append(offsets[-1] + len(line) + 1)
    np.save(folder / OFFSETS_FILE, np.asarray(offsets, np.int64))


def hits_from_documents(folder: Path) -> None:
    """Write a segment's hits file from its docs.parquet (after a merge, or to repair it)."""
    import duckdb

    connection = duckdb.connect(config={"threads": 1})
    try:
        result = connection.execute("SELECT * FROM read_parquet(?) ORDER BY row", [str(folder / DOCS_FILE)])
        names = [d[0] for d in result.description]
        metadata = [i for i, name in enumerate(names) if name not in FIXED_COLUMNS]
        id_at, text_at = names.index("id"), names.index("text")

        def documents():
            while batch := result.fetchmany(4096):
                for values in batch:
                    yield values[id_at], values[text_at], {names[i]: values[i] for i in metadata}

        write_hits(folder, documents())
    finally:
        connection.close()


def finish(folder: Path, size: int) -> dict:
    """Sync a written segment, mark it complete and describe its files for the manifest."""
    files = {}
    for path in sorted(folder.iterdir()):
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
        files[path.name] = {"size": path.stat().st_size, "sha256": checksum(path)}
    (folder / COMPLETE).write_text("")
    return {"name": folder.name, "documents": size, "files": files}


def docs_table(documents: Documents, thresholds: np.ndarray, fields: dict[str, str]):
    """The Arrow table of docs.parquet: fixed columns, then metadata, typed as earlier segments."""
    import pyarrow as pa

    chosen = documents.probs >= np.asarray(thresholds)[None, :]
    emotions = [[LABELS[i] for i in np.argsort(-p) if c[i]] for p, c in zip(documents.probs, chosen)]
    columns: dict[str, Any] = {
        "row": pa.array(np.asarray(documents.rows, np.int64)), "id": pa.array(documents.ids, pa.string()),
        "text": pa.array(documents.texts, pa.string()), "hash": pa.array(documents.hashes, pa.string()),
        "kappa": pa.array(np.asarray(documents.kappa, np.float32)),
        "emotion": pa.array([LABELS[i] for i in documents.probs.argmax(1)], pa.string()),
        "emotions": pa.array(emotions, pa.list_(pa.string())),
    }
    if documents.strength is not None:  # for --where: strength > 0.5, intensity_anger > 0.6
        columns.update(strength_columns(documents.strength, documents.probs))
    if documents.affect is not None:  # for --where: arousal > 3.5
        columns.update(affect_columns(documents.affect))
    columns.update(metadata_columns(documents.metadata, fields))
    return pa.table(columns)


def strength_columns(strength: np.ndarray, probs: np.ndarray) -> dict:
    """Arrow arrays of `strength` and each felt label's `intensity_<label>` (docs and mentions tables)."""
    import pyarrow as pa

    felt = intensity(strength, probs)
    return {"strength": pa.array(np.asarray(strength, np.float32)),
            **{name: pa.array(felt[:, LABELS.index(name.removeprefix("intensity_"))]) for name in INTENSITY_COLUMNS}}


def metadata_columns(metadata: Sequence[dict], fields: dict[str, str]) -> dict:
    """Arrow arrays of the metadata fields, checked against (and added to) the index's `fields`.

    DuckDB's column names ignore case: a name that differs only in case from another in these
    documents, or from a field the index already has, would be one column with two meanings, and
    is refused (a Record refuses it within one document, limits.py).
    """
    import pyarrow as pa

    sources: dict[str, str] = {}
    folded = {column.lower(): column for column in fields}
    for record in metadata:
        for name in record:
            column = metadata_column(name)
            sources.setdefault(column, name)
            if folded.setdefault(column.lower(), column) != column:
                raise DataFormatError(f"metadata field {name!r} differs only in case from the field "
                                      f"{folded[column.lower()]!r} of this index or of another document; use one "
                                      "spelling")
    columns = {}
    for column, name in sources.items():
        values = [record.get(name) for record in metadata]
        try:
            array = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            kinds = sorted({type(v).__name__ for v in values if v is not None})
            raise DataFormatError(f"metadata field {name!r} holds {' and '.join(kinds)} values in different documents; "
                                  "give it one type in every document (numbers as numbers, or all as text)") from None
        columns[column] = _as_known_type(column, array, fields)
    return columns


def _as_known_type(column: str, array, fields: dict[str, str]):
    import pyarrow as pa

    known = fields.get(column)
    if known is None or known == "null" or known == str(array.type):
        if known in (None, "null"):
            fields[column] = str(array.type)
        return array
    target = _parse_type(known)
    try:
        return array.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        raise DataFormatError(f"metadata field {column!r} holds {known} in this index but {array.type} here; "
                              "give it one type in every document") from None


def _parse_type(name: str):
    """An Arrow type from its string form (the common scalar and list types metadata takes)."""
    import pyarrow as pa

    simple = {"int64": pa.int64(), "int32": pa.int32(), "double": pa.float64(), "float": pa.float32(),
              "string": pa.string(), "large_string": pa.large_string(), "bool": pa.bool_(),
              "timestamp[us]": pa.timestamp("us"), "date32[day]": pa.date32()}
    if name in simple:
        return simple[name]
    if name.startswith("list<item: ") and name.endswith(">"):
        return pa.list_(_parse_type(name[len("list<item: "):-1]))
    return pa.string()


def _write_parquet(table, path: Path) -> None:
    import pyarrow.parquet as pq

    # No min/max statistics for the texts: nothing prunes on them, and for one 50 MB text the
    # writer held two more copies of it (peak +341 MB against +104 MB without, measured alone)
    statistics = [name for name in table.column_names if name != "text"]
    pq.write_table(table, path, row_group_size=ROW_GROUP, compression="zstd", write_statistics=statistics)


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

    def hit(self, position: int) -> dict:
        """{"id", "text", "metadata"} of the document at a position."""
        start, end = self.offsets[position], self.offsets[position + 1]
        id_, text, metadata = json.loads(self.hits[start:end])
        return {"id": id_, "text": text, "metadata": metadata}


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
        rows = np.load(folder / "rows.npy")
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
        offsets = np.load(folder / OFFSETS_FILE)
        with open(folder / HITS_FILE, "rb") as handle:
            hits = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if offsets[-1] else b""
    except (KeyError, ValueError, OSError) as exc:
        raise IndexStateError(f"segment {folder} is damaged: {exc}; run `hyperamy check --repair`") from exc
    if len(offsets) != size + 1 or offsets[-1] != len(hits):
        raise IndexStateError(f"segment {folder} is inconsistent: {HITS_FILE} does not match {OFFSETS_FILE}; "
                              "run `hyperamy check --repair`")
    file_checks.record(folder, files, unchecked)
    return Segment(entry["name"], folder, rows, semantic, emotion, feelings, terms, pin, hits, offsets, entry)
