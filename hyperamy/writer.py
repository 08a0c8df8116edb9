"""Commits and compaction: how a write becomes visible, and how segments are merged.

Every commit writes its new files first and then one new manifest.json (atomic rename). All of
it happens under the index's writer lock (locking.WriterLock), taken by engine.HyperAmy.
"""
from __future__ import annotations

import dataclasses
import datetime
import math

import numpy as np

from hyperamy import persist, snapshot
from hyperamy.lexical import TermCounts
from hyperamy.segments import DOCS_FILE, ROW_GROUP, Mentions, finish, hits_from_documents, write_arrays, write_mentions

MERGE_FACTOR = 10  # this many segments of one size tier are merged into one
DEAD_SHARE = 0.5  # a segment with at least this share deleted is rewritten without them


def commit(engine, segments: list[dict], tombstones: np.ndarray, next_row: int, fields: dict,
           shards: int | None = None) -> None:
    """Make a new state of the index visible: files first, then the manifest that names them."""
    old = engine.snapshot.manifest
    number = old["commit"] + 1
    tombstones = np.unique(np.asarray(tombstones, np.int64))
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    manifest = {
        "format_version": persist.FORMAT_VERSION, "commit": number,
        "config": dataclasses.asdict(engine.stored_config), "models": engine.model_info(),
        "versions": engine.versions(),
        "counts": {"documents": sum(e["documents"] for e in segments) - len(tombstones),
                   "segments": len(segments), "deleted": len(tombstones)},
        "next_row": next_row, "fields": fields, "segments": segments,
        "shards": shards if shards is not None else old.get("shards", 1),
        "tombstones": persist.write_tombstones(engine.folder, tombstones, number),
        "created": old.get("created", now), "updated": now,
        "mentions": engine.mention_settings.to_dict(),
    }
    persist.write_manifest(engine.folder, manifest)
    engine.snapshot = snapshot.load(engine.folder, engine.stored_config, engine.snapshot, engine.verify)


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
        tiers.setdefault(int(math.log(max(alive, 1), MERGE_FACTOR)), []).append(segment.name)
    full = [names for names in tiers.values()
            if len(names) >= MERGE_FACTOR and len(view.segments) - len(names) + 1 >= shards]
    return full[0] if full else []


def merge(engine, names: list[str], parts: int = 1, shards: int | None = None) -> None:
    """Rewrite some segments as `parts` segments of about equal size (contiguous row ranges),
    without their deleted documents, and commit them; `shards` records a new shard count."""
    view = engine.snapshot
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
        mentions = _live_mentions(chosen, engine.verify)
        for piece in np.array_split(np.arange(len(rows)), min(parts, len(rows))):
            folder = persist.new_segment_folder(engine.folder)
            folder.mkdir(parents=True)
            _copy_documents([s.folder / DOCS_FILE for s, _ in chosen], rows[piece], folder / DOCS_FILE)
            hits_from_documents(folder)
            write_arrays(folder, rows[piece], semantic[piece], mu[piece], feelings[piece], engine.stored_config)
            if mentions is not None:
                write_mentions(folder, mentions.take(np.flatnonzero(np.isin(mentions.rows, rows[piece]))))
            TermCounts.build(_texts(folder / DOCS_FILE)).save(folder)
            kept.append(finish(folder, len(piece)))
    tombstones = np.setdiff1d(view.tombstones, merged_rows)
    commit(engine, kept, tombstones, view.manifest["next_row"], view.manifest.get("fields", {}), shards)


def _live_mentions(chosen, verify: bool) -> Mentions | None:
    """The mentions of the live documents of some segments, or None when none of them has any."""
    found = [(s.mentions(verify), s, live) for s, live in chosen]
    if all(m is None for m, _, _ in found):
        return None
    dim = next(m.mu.shape[1] for m, _, _ in found if m is not None)
    return Mentions.join([m.take(np.flatnonzero(np.isin(m.rows, s.rows[live]))) for m, s, live in found
                          if m is not None], dim)


def compact_automatically(engine) -> None:
    """Merge while the merge plan finds something (after each write)."""
    while names := merge_plan(engine.snapshot):
        merge(engine, names)


def _copy_documents(files, rows: np.ndarray, target) -> None:
    import duckdb

    listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    connection = duckdb.connect(config={"threads": 1})
    try:
        connection.execute(f"COPY (SELECT * FROM read_parquet([{listed}], union_by_name = true) "
                           "WHERE row IN (SELECT unnest(?)) ORDER BY row) "
                           f"TO '{str(target).replace(chr(39), chr(39) * 2)}' "
                           f"(FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP}, COMPRESSION zstd)", [rows.tolist()])
    finally:
        connection.close()


def _texts(path):
    import duckdb

    connection = duckdb.connect(config={"threads": 1})
    try:
        result = connection.execute(f"SELECT text FROM read_parquet('{str(path).replace(chr(39), chr(39) * 2)}') "
                                    "ORDER BY row")
        while batch := result.fetchmany(4096):
            yield from (text for (text,) in batch)
    finally:
        connection.close()
