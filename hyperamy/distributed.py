"""Distributed indexing on Ray Data: encoder actors write segments, the index adopts them at once.

The driver reads and plans the records exactly as a single-process `add` does (the same
validation, upsert by id, unchanged documents skipped, last duplicate wins) and gives each chunk
its rows. Ray Data then runs `map_batches` over the chunks with a pool of actors, each loading
the encoder once; an actor encodes a chunk and writes it as a segment into the index folder.
When every segment is written, one commit adopts them all: until then the index is as it was,
and a failure leaves only unreferenced folders, which the next writer removes.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import warnings
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from hyperamy.errors import DataFormatError, HyperamyError


class SegmentWriter:
    """A Ray Data actor: one encoder, loaded once; each batch is one chunk, written as one segment."""

    def __init__(self, folder: str, config: dict, fields: dict, encoder_factory: Callable | None,
                 weights: str | None, batch_size: int | None, mentions: dict | None = None):
        from hyperamy.config import IndexConfig, from_dict
        from hyperamy.encoder.joint import SharedTrunkEncoder
        from hyperamy.entities.names import MentionSettings

        self.mentions = MentionSettings.from_dict(mentions)
        self.folder, self.fields, self.batch_size = Path(folder), fields, batch_size
        self.config = from_dict(IndexConfig, config)
        self.encoder = encoder_factory() if encoder_factory else SharedTrunkEncoder.load(weights)

    def __call__(self, batch: dict) -> dict:
        from hyperamy import persist
        from hyperamy.indexing import encode_documents
        from hyperamy.segments import write_segment

        entries, fields_out = [], []
        for chunk in batch["chunk"]:
            chunk = json.loads(chunk)
            documents, encoded = encode_documents(self.encoder, self.mentions, np.asarray(chunk["rows"], np.int64),
                                                  chunk["ids"], chunk["texts"], chunk["hashes"], chunk["metadata"],
                                                  self.batch_size)
            fields = dict(self.fields)
            entry = write_segment(persist.new_segment_folder(self.folder), documents,
                                  self.encoder.emotion.thresholds, self.config, fields)
            entries.append(json.dumps({**entry, "truncated": int(encoded.truncated)}))
            fields_out.append(json.dumps(fields))
        return {"entry": np.asarray(entries, dtype=object), "fields": np.asarray(fields_out, dtype=object)}


def add(transaction, records: Iterable, ray, actors: int = 2, gpus_per_actor: float = 0.0, segment_size: int = 2048,
        encoder_factory: Callable | None = None, weights: str | None = None):
    """Upsert records through a write transaction (writer.IndexWriter; HyperAmy.add_distributed
    opens one) with `actors` Ray encoder actors; one commit at the end, then the new segments are
    merged as a single-process add merges its own.

    Raises:
        DataFormatError: a bad record (before anything is encoded) or metadata types that differ.
        HyperamyError: an actor or the cluster failed; the index is left as it was.
    """
    from hyperamy.indexing import AddReport, planned

    report = AddReport()
    view = transaction.base
    next_row, chunks, replaced, planned_rows, stored = view.manifest["next_row"], [], [], {}, set()
    for _, todo, old_rows in planned(transaction, records, segment_size, set(), report, pending={}):
        if not todo:
            continue
        replaced += old_rows.values()
        stored.update(old_rows)
        rows = list(range(next_row, next_row + len(todo)))
        next_row += len(todo)
        for record, row in zip(todo, rows):
            if record.id in planned_rows:  # a later duplicate in another chunk: it wins
                replaced.append(planned_rows[record.id])
            planned_rows[record.id] = row
        chunks.append(json.dumps({"rows": rows, "ids": [r.id for r in todo], "texts": [r.text for r in todo],
                                  "hashes": [r.content_hash for r in todo],
                                  "metadata": [r.metadata for r in todo]}, default=str))
    if not chunks:
        return report
    entries, fields = _encode_and_write(transaction, view, chunks, ray, actors, gpus_per_actor,
                                        encoder_factory, weights)
    report.updated = len(stored)
    report.added = len(planned_rows) - len(stored)
    report.truncated = sum(e.pop("truncated") for e in entries)
    transaction.commit([*view.manifest["segments"], *entries],
                       np.concatenate([view.tombstones, np.asarray(replaced, np.int64)]), next_row, fields)
    transaction.merge_new({e["name"] for e in view.manifest["segments"]})
    return report


@contextlib.contextmanager
def _quiet_ray_data(ray_data):
    """Ray Data's progress logs, plans and failure tracebacks off, unless hyperamy logs at DEBUG (--debug).

    A failure is then one line (HyperamyError, Ray's error chained to it); with --debug
    everything Ray prints is shown as before.
    """
    if logging.getLogger("hyperamy").isEnabledFor(logging.DEBUG):
        yield
        return
    context = ray_data.DataContext.get_current()
    names = ("enable_progress_bars", "enable_operator_progress_bars", "print_on_execution_start",
             "enable_auto_log_stats", "log_internal_stack_trace")
    saved = {name: getattr(context, name) for name in names if hasattr(context, name)}
    loggers = [logging.getLogger(name) for name in ("ray", "ray.data")]
    levels = [logger.level for logger in loggers]
    try:
        for name in saved:
            setattr(context, name, False)
        for logger in loggers:
            logger.setLevel(logging.CRITICAL)
        with warnings.catch_warnings():
            # max_restarts has no named parameter yet; Ray warns about the dict that carries it
            warnings.filterwarnings("ignore", message=".*ray_remote_args.*")
            yield
    finally:
        for name, value in saved.items():
            setattr(context, name, value)
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _encode_and_write(transaction, view, chunks, ray, actors, gpus_per_actor, encoder_factory, weights):
    import ray.data

    # a block a chunk, and no more actors than chunks: each actor loads the whole encoder
    dataset = ray.data.from_items([{"chunk": chunk} for chunk in chunks], override_num_blocks=len(chunks))
    actors = min(actors, len(chunks))
    try:
        with _quiet_ray_data(ray.data):
            written = _map(dataset, ray.data, transaction, view, actors, gpus_per_actor, encoder_factory, weights)
    except Exception as exc:  # Ray wraps what failed in its own exception types
        lines = str(exc).strip().splitlines()
        cause = (lines[-1] if lines else type(exc).__name__).split(". ")[0]  # Ray's first sentence says it
        raise HyperamyError(f"distributed indexing failed, the index is unchanged: {cause}") from exc
    entries = [json.loads(row["entry"]) for row in written]
    fields: dict[str, str] = dict(view.manifest.get("fields", {}))
    for row in written:
        for name, kind in json.loads(row["fields"]).items():
            if fields.get(name, "null") not in ("null", kind) and kind != "null":
                raise DataFormatError(f"metadata field {name!r} holds {fields[name]} in one part of the input and "
                                      f"{kind} in another; give it one type in every document")
            if fields.get(name, "null") == "null":
                fields[name] = kind
    return sorted(entries, key=lambda e: e["name"]), fields


def _map(dataset, ray_data, transaction, view, actors, gpus_per_actor, encoder_factory, weights):
    constructor = {"folder": str(transaction.folder), "config": dataclasses.asdict(transaction.config),
                   "fields": dict(view.manifest.get("fields", {})), "encoder_factory": encoder_factory,
                   "weights": weights, "batch_size": transaction.batch_size,
                   "mentions": transaction.mentions.to_dict()}
    return dataset.map_batches(SegmentWriter, batch_size=1, batch_format="numpy",
                               compute=ray_data.ActorPoolStrategy(size=actors), num_gpus=gpus_per_actor,
                               fn_constructor_kwargs=constructor, max_restarts=0, max_task_retries=0).take_all()
