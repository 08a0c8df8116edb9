"""The write path of `HyperAmy.add`: dedupe, skip unchanged, encode, store."""
from __future__ import annotations

import itertools
import logging
from typing import Callable, Iterable

import numpy as np

from hyperamy.corpus import Record
from hyperamy.errors import InputError

log = logging.getLogger(__name__)
CHUNK_BATCHES = 64  # encoder batches per chunk of records read


def add_records(encoder, parts, state: dict, records: Iterable[Record], batch_size: int, report,
                progress: Callable[[int], None] | None) -> None:
    """Upsert records chunk by chunk, so memory stays flat however long the input is."""
    seen: set[str] = set()
    iterator = iter(records)
    # large chunks let the encoder sort many texts by length, so its batches carry little padding
    while chunk := list(itertools.islice(iterator, batch_size * CHUNK_BATCHES)):
        latest: dict[str, Record] = {}
        for position, record in enumerate(chunk):
            record = _as_record(record, position)
            if record.id in seen or record.id in latest:
                report.duplicates += 1
                latest.pop(record.id, None)  # re-insert so the last occurrence keeps its place
            latest[record.id] = record
        seen.update(latest)
        existing = parts.store.hashes(list(latest))
        todo = [r for r in latest.values() if r.id not in existing or existing[r.id][1] != r.content_hash]
        report.unchanged += len(latest) - len(todo)
        if todo:
            _write(encoder, parts, state, todo, [existing[r.id][0] for r in todo if r.id in existing],
                   batch_size, report, progress)
        if progress is not None:
            progress(len(chunk) - len(todo))  # encoded records were counted batch by batch


def _as_record(value, position: int) -> Record:
    """Records pass through; dicts become records (`id` and `text` keys, the rest metadata)."""
    if isinstance(value, Record):
        return value
    if not isinstance(value, dict):
        raise InputError(f"add() takes Record objects or dicts, got {type(value).__name__}")
    text = value.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"record {position} of this batch needs a non-empty string 'text'")
    if value.get("id") in (None, ""):
        raise InputError(f"record {position} of this batch needs an 'id'")
    metadata = {k: v for k, v in value.items() if k not in ("id", "text")}
    return Record(id=str(value["id"]), text=text, metadata=metadata)


def _write(encoder, parts, state: dict, todo: list[Record], replaced: list[int], batch_size: int, report,
           progress: Callable[[int], None] | None) -> None:
    texts = [r.text for r in todo]
    encoded = encoder.encode(texts, batch_size=batch_size, on_batch=progress)
    report.truncated += encoded.truncated
    report.updated += len(replaced)
    report.added += len(todo) - len(replaced)
    parts.store.delete_rows(replaced)
    parts.semantic.remove(replaced)
    parts.emotion.remove(replaced)
    rows = np.arange(state["next_row"], state["next_row"] + len(todo), dtype=np.int64)
    state["next_row"] += len(todo)
    emotion = encoded.emotion
    labels = emotion.labels
    chosen = emotion.probs >= encoder.emotion.thresholds[None, :]
    predicted = []
    for row_probs, row_chosen in zip(emotion.probs, chosen):
        order = np.argsort(-row_probs)
        predicted.append([labels[i] for i in order if row_chosen[i]])
    parts.store.insert(rows, todo, emotion.kappa, [labels[i] for i in emotion.probs.argmax(1)], predicted,
                       emotion.probs)
    parts.semantic.add(rows, encoded.semantic)
    parts.emotion.add(rows, emotion.mu)
    state["changed"] = True
