"""Writing a segment folder once: its tables, vectors, words and hits file, synced and checksummed."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hyperamy.emotions import LABELS
from hyperamy.file_checks import checksum
from hyperamy.analyzer import analyzer
from hyperamy.lexical import TermCounts
from hyperamy.segments.feelings import Feelings
from hyperamy.segments.ids import write_ids
from hyperamy.segments.layout import (COMPLETE, DOCS_FILE, FIXED_COLUMNS, HITS_FILE, MENTION_FEELINGS, MENTIONS_FILE,
                                      OFFSETS_FILE)
from hyperamy.segments.records import Documents, Mentions
from hyperamy.segments.tables import write_parquet, affect_columns, docs_table, strength_columns
from hyperamy.vectors import VectorIndex


def write_segment(folder: Path, documents: Documents, thresholds: np.ndarray, config, fields: dict[str, str]) -> dict:
    """Write a new segment folder; returns its manifest entry. `fields` (name -> type) is updated."""
    folder.mkdir(parents=True)
    table = docs_table(documents, thresholds, fields)
    write_parquet(table, folder / DOCS_FILE)
    fields_written = [name for name in table.column_names if name not in FIXED_COLUMNS]
    metadata = table.select(fields_written).to_pylist() if fields_written else [{}] * table.num_rows  # as stored
    del table  # the texts are in `documents` already: no second copy of a long one
    write_hits(folder, zip(documents.ids, documents.texts, metadata))
    write_ids(folder, documents.ids, documents.hashes)
    write_arrays(folder, documents.rows, documents.semantic, documents.mu,
                  documents.feelings(), config)
    if documents.mentions is not None:
        write_mentions(folder, documents.mentions)
    TermCounts.build(documents.texts, analyzer(config.analyzer)).save(folder)
    return finish(folder, len(documents.rows))


def write_mentions(folder: Path, mentions: Mentions) -> None:
    """A segment's mentions: a table for DuckDB (mentions.parquet: row, entity, surface, start, end,
    source, initial, kappa, emotion, strength, intensity_<label>), their feelings (like
    feelings.npy) and a flat FAISS index of their emotion directions, ids = places in the table."""
    import pyarrow as pa

    kappa, probs, strength, affect = Feelings.of(mentions.feelings)
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
    write_parquet(pa.table(columns), folder / MENTIONS_FILE)
    np.save(folder / MENTION_FEELINGS, np.asarray(mentions.feelings, np.float32))
    index = VectorIndex(mentions.mu.shape[1], "flat")
    index.add(np.arange(len(mentions), dtype=np.int64), mentions.mu)
    index.save(folder, "mention")

def write_arrays(folder: Path, rows: np.ndarray, semantic: np.ndarray, mu: np.ndarray, feelings: np.ndarray,
                  config) -> None:
    np.save(folder / "rows.npy", np.asarray(rows, np.int64))
    np.save(folder / "feelings.npy", np.asarray(feelings, np.float32))
    for name, vectors in (("semantic", semantic), ("emotion", mu)):
        index = VectorIndex(vectors.shape[1], config.vector_index, config.hnsw_m, config.hnsw_ef_search)
        index.add(rows, vectors)
        index.save(folder, name)


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
    """Write a segment's hits file from its docs.parquet (after a merge, or to repair it).

    Raises:
        FileQueryError: docs.parquet cannot be read.
    """
    from hyperamy.store.files import rows

    def documents():
        for row in rows("SELECT * FROM read_parquet(?) ORDER BY row", [str(folder / DOCS_FILE)]):
            yield row["id"], row["text"], {name: v for name, v in row.items() if name not in FIXED_COLUMNS}

    write_hits(folder, documents())


def finish(folder: Path, size: int) -> dict:
    """Sync a written segment, mark it complete and describe its files for the manifest."""
    files = {}
    for path in sorted(folder.iterdir()):
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
        files[path.name] = {"size": path.stat().st_size, "sha256": checksum(path)}
    (folder / COMPLETE).write_text("")
    return {"name": folder.name, "documents": size, "files": files}
