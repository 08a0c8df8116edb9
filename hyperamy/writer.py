"""One write transaction (IndexWriter): how a write becomes visible, and how segments are merged.

An IndexWriter owns everything a write needs (the index's writer lock, its own base snapshot,
the stored config, the encoder and the mention settings), the way Lucene's IndexWriter does:
callers hand it documents and never reach back into HyperAmy. Every commit writes its new files
first and then one new manifest.json (atomic rename), and hands the new snapshot to `publish`
(the engine moves forward to it, never back).
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
from pathlib import Path
from typing import Callable, Collection

import numpy as np

from hyperamy import persist, snapshot
from hyperamy.analyzer import analyzer
from hyperamy.lexical import TermCounts
from hyperamy.segments import (DOCS_FILE, ROW_GROUP, Mentions, finish, hits_from_documents, ids_from_documents,
                               write_arrays, write_mentions)

MERGE_FACTOR = 10  # this many segments of one size tier are merged into one
DEAD_SHARE = 0.5  # a segment with at least this share deleted is rewritten without them
# An add's new segments are merged into one at its end when together they hold at most this many
# live documents: searches touch fewer segments, and the merge holds about 2 KB a document
# (vectors and feelings), so its memory stays bounded however large the add. Larger adds are
# left to the tiers.
END_MERGE_DOCUMENTS = 20_000


class IndexWriter:
    """A write transaction on an index folder, made under its writer lock (engine.HyperAmy._writing).

    `base` is the newest committed snapshot as this writer knows it: loaded under the lock, then
    replaced by each of its own commits. No other thread can change it, so a search running in
    the same process can never make the writer build on (or clean up after) an older state.
    """

    def __init__(self, folder: Path, config, base: snapshot.Snapshot, encoder: Callable[[], object],
                 mentions, batch_size: int | None, verify: bool = True,
                 publish: Callable[[snapshot.Snapshot], None] | None = None):
        self.folder, self.config, self.base = folder, config, base
        self._encoder_source, self._encoder = encoder, None
        self.mentions, self.batch_size, self.verify = mentions, batch_size, verify
        self._publish = publish or (lambda view: None)
        self._versions = dict(library_versions())  # a copy: the cached dict is never handed out

    @property
    def encoder(self):
        """The encoder that writes documents (loaded on first use)."""
        if self._encoder is None:
            self._encoder = self._encoder_source()
        return self._encoder

    @property
    def manifest(self) -> dict:
        return self.base.manifest

    def model_info(self) -> dict:
        if self._encoder is None and self.base.stamp is not None:
            return self.base.manifest["models"]  # nothing was encoded (a delete): no model to load
        encoder = self.encoder
        return {"encoder": encoder.model_id, "semantic_dimension": encoder.dimension,
                "emotion_dimension": encoder.emotion.config.dim, "alpha": encoder.emotion.config.alpha,
                "thresholds": [round(float(t), 4) for t in encoder.emotion.thresholds]}

    def commit(self, segments: list[dict], tombstones: np.ndarray, next_row: int, fields: dict,
               shards: int | None = None) -> None:
        """Make a new state of the index visible: files first, then the manifest that names them."""
        old = self.base.manifest
        number = old["commit"] + 1
        tombstones = np.unique(np.asarray(tombstones, np.int64))
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        manifest = {
            "format_version": persist.FORMAT_VERSION, "commit": number,
            "config": dataclasses.asdict(self.config), "models": self.model_info(),
            "versions": self._versions,
            "counts": {"documents": sum(e["documents"] for e in segments) - len(tombstones),
                       "segments": len(segments), "deleted": len(tombstones)},
            "next_row": next_row, "fields": fields, "segments": segments,
            "shards": shards if shards is not None else old.get("shards", 1),
            "tombstones": persist.write_tombstones(self.folder, tombstones, number),
            "created": old.get("created", now), "updated": now,
            "mentions": self.mentions.to_dict(),
        }
        following = self._next_state(manifest, tombstones)
        persist.write_manifest(self.folder, manifest)
        self.base = dataclasses.replace(following, stamp=persist.stamp(self.folder))  # nobody else commits
        self._publish(self.base)

    def _next_state(self, manifest: dict, tombstones: np.ndarray) -> snapshot.Snapshot:
        """The snapshot of a manifest about to be written, read the way a search will read it
        (DuckDB over every segment's files): a file it refuses is never named by a manifest.

        Raises:
            DataFormatError: the documents cannot be read back; nothing is committed.
        """
        from hyperamy.errors import DataFormatError, IndexStateError

        try:
            return snapshot.build(self.folder, manifest, self.config, self.base, tombstones, self.verify)
        except IndexStateError as exc:
            raise DataFormatError(f"these documents cannot be read back as an index stores them "
                                  f"({str(exc).splitlines()[0]}); nothing was committed") from None

    def remove(self, ids: list[str]) -> list[str]:
        """Delete documents by id and commit; returns the ids that were there."""
        view = self.base
        versions = view.versions(ids)
        rows = view.alive(np.asarray([row for _, row, _ in versions], np.int64))
        self._delete_rows(rows)
        removed = set(rows.tolist())
        return [i for i, row, _ in versions if row in removed]

    def remove_others(self, field: str, kept: dict[str, Collection[str]]) -> list[str]:
        """Delete the documents whose metadata `field` holds one of kept's keys but whose id is not
        among that key's ids, and commit; returns their ids."""
        from hyperamy.segments import metadata_column
        from hyperamy.store import identifier

        view = self.base
        column = metadata_column(field)
        fields = view.store.columns() if view.segments else []
        if column not in fields:
            return []
        found, _ = view.store.query(
            f"SELECT id, _row, CAST({identifier(column)} AS VARCHAR) FROM documents "
            f"WHERE CAST({identifier(column)} AS VARCHAR) IN (SELECT unnest(?::VARCHAR[]))", [list(kept)])
        alive = set(view.alive(np.asarray([row for _, row, _ in found], np.int64)).tolist())
        stale = [(i, row) for i, row, value in found if row in alive and i not in kept[value]]
        self._delete_rows(np.asarray([row for _, row in stale], np.int64))
        return [i for i, _ in stale]

    def _delete_rows(self, rows: np.ndarray) -> None:
        view = self.base
        if len(rows):
            self.commit(view.manifest["segments"], np.concatenate([view.tombstones, rows]),
                        view.manifest["next_row"], view.manifest.get("fields", {}))

    def merge_new(self, before: set[str]) -> None:
        """Merge the segments this transaction committed (those not in `before`) into one, when
        they are several and small together (END_MERGE_DOCUMENTS)."""
        view = self.base
        new = [(s.name, int(live.sum())) for s, live in zip(view.segments, view.live) if s.name not in before]
        shards = int(view.manifest.get("shards", 1))
        if len(new) > 1 and sum(n for _, n in new) <= END_MERGE_DOCUMENTS \
                and len(view.segments) - len(new) + 1 >= shards:
            self.merge([name for name, _ in new])

    def compact_automatically(self) -> None:
        """Merge while the merge plan finds something (after each commit of a write)."""
        while names := merge_plan(self.base):
            self.merge(names)

    def merge(self, names: list[str], parts: int = 1, shards: int | None = None) -> None:
        """Rewrite some segments as `parts` segments of about equal size (contiguous row ranges),
        without their deleted documents, and commit them; `shards` records a new shard count."""
        view = self.base
        chosen = [(s, live) for s, live in zip(view.segments, view.live) if s.name in names]
        if not chosen:
            return
        merged_rows = np.concatenate([s.rows for s, _ in chosen])
        rows = np.concatenate([s.rows[live] for s, live in chosen])
        order = np.argsort(rows, kind="stable")
        rows = rows[order]
        kept = [e for e in view.manifest["segments"] if e["name"] not in names]
        if len(rows):
            semantic = np.concatenate([s.semantic.vectors(s.rows[live]) for s, live in chosen])[order]
            mu = np.concatenate([s.emotion.vectors(s.rows[live]) for s, live in chosen])[order]
            feelings = np.concatenate([s.feelings[live] for s, live in chosen])[order]
            mentions = _live_mentions(chosen, self.verify)
            for piece in np.array_split(np.arange(len(rows)), min(parts, len(rows))):
                folder = persist.new_segment_folder(self.folder)
                folder.mkdir(parents=True)
                _copy_documents([s.folder / DOCS_FILE for s, _ in chosen], rows[piece], folder / DOCS_FILE)
                hits_from_documents(folder)
                ids_from_documents(folder)
                write_arrays(folder, rows[piece], semantic[piece], mu[piece], feelings[piece], self.config)
                if mentions is not None:
                    write_mentions(folder, mentions.take(np.flatnonzero(np.isin(mentions.rows, rows[piece]))))
                TermCounts.build(_texts(folder / DOCS_FILE), analyzer(self.config.analyzer)).save(folder)
                kept.append(finish(folder, len(piece)))
        tombstones = np.setdiff1d(view.tombstones, merged_rows)
        self.commit(kept, tombstones, view.manifest["next_row"], view.manifest.get("fields", {}), shards)


@functools.cache
def library_versions() -> dict:
    """The versions of the libraries an index's files depend on (kept in its manifest); read once
    a process (reading packages' metadata took 9 ms of a 50 ms one-document add)."""
    from importlib import metadata

    found = {}
    for name in ("hyperamy", "torch", "transformers", "faiss-cpu", "duckdb", "onnxruntime"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def tier(documents: int) -> int:
    """A segment's size tier: floor(log_MERGE_FACTOR(documents)), counted exactly in integers
    (math.log(1000, 10) is 2.9999999999999996: floats put exact powers in the tier below)."""
    level, size = 0, MERGE_FACTOR
    while documents >= size:
        level, size = level + 1, size * MERGE_FACTOR
    return level


def merge_plan(view: snapshot.Snapshot) -> list[str]:
    """Segments worth merging now: a full tier of similar sizes, or one that is mostly deleted.

    Sizes grow by tiers of MERGE_FACTOR, so each document is rewritten about log10(n) times over
    the life of an index of n documents and a single write never rewrites the whole index.
    """
    tiers: dict[int, list[str]] = {}
    shards = int(view.manifest.get("shards", 1))  # merging never leaves fewer segments than shards
    for segment, live in zip(view.segments, view.live):
        alive = int(live.sum())
        if len(segment) and (len(segment) - alive) / len(segment) >= DEAD_SHARE:
            return [segment.name]
        tiers.setdefault(tier(alive), []).append(segment.name)
    full = [names for names in tiers.values()
            if len(names) >= MERGE_FACTOR and len(view.segments) - len(names) + 1 >= shards]
    return full[0] if full else []


def _live_mentions(chosen, verify: bool) -> Mentions | None:
    """The mentions of the live documents of some segments, or None when none of them has any."""
    found = [(s.mentions(verify), s, live) for s, live in chosen]
    if all(m is None for m, _, _ in found):
        return None
    dim = next(m.mu.shape[1] for m, _, _ in found if m is not None)
    return Mentions.join([m.take(np.flatnonzero(np.isin(m.rows, s.rows[live]))) for m, s, live in found
                          if m is not None], dim)


def _copy_documents(files, rows: np.ndarray, target) -> None:
    from hyperamy.store import literal
    from hyperamy.store.files import copy_parquet

    listed = ", ".join(literal(f) for f in files)
    copy_parquet(f"SELECT * FROM read_parquet([{listed}], union_by_name = true) WHERE row IN (SELECT unnest(?)) "
                 "ORDER BY row", [rows.tolist()], target, ROW_GROUP)


def _texts(path):
    from hyperamy.store import literal
    from hyperamy.store.files import rows

    for row in rows(f"SELECT text FROM read_parquet({literal(path)}) ORDER BY row"):
        yield row["text"]
