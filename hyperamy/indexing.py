"""The write path of `HyperAmy.add`: dedupe, skip unchanged, encode, store."""
from __future__ import annotations

import dataclasses
import itertools
import logging
import time
from typing import Callable, Iterable

import numpy as np

from hyperamy import limits
from hyperamy.corpus import Record
from hyperamy.errors import InputError

log = logging.getLogger(__name__)
COMMIT_EVERY = 2048  # documents per commit (and per new segment) while indexing, at most
COMMIT_SECONDS = 30.0  # ... and about this much work per commit, whatever COMMIT_EVERY says
FIRST_COMMIT = 256  # records in the first commit, before the encoder's pace is known
# Records grouped by these fields (a book's passages, a cut record's) take the stored encoding of
# the same text in their group instead of being encoded again (books/records.py sets them).
LENDING_FIELDS = ("source", "parent")


@dataclasses.dataclass
class AddReport:
    """What one `add` did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0  # ids seen more than once in this input (the last one won)
    truncated: int = 0  # texts longer than the encoder window (stored whole, encoded cut)
    reused: int = 0  # updated documents whose text was unchanged: their stored encoding was kept


def add_records(transaction, records: Iterable[Record], commit_every: int, report,
                progress: Callable[[int], None] | None) -> None:
    """Upsert records chunk by chunk through a write transaction (writer.IndexWriter),
    committing each chunk as a segment and merging segments by size tier as they pile up.

    Memory follows `commit_every`, not the input: no step holds more than one chunk, or one
    tier of MERGE_FACTOR similar segments being merged. An interrupted run keeps every chunk it
    committed: run again, those documents are unchanged and skipped.
    """
    seen: set[str] = set()
    pace = Pace(commit_every)
    for chunk, todo, replaced in planned(transaction, records, pace, seen, report):
        if todo:
            started = time.perf_counter()
            _write(transaction, todo, replaced, report, progress)
            pace.measured(len(todo), time.perf_counter() - started)
            transaction.compact_automatically()
        if progress is not None:
            progress(len(chunk) - len(todo))  # encoded records were counted batch by batch


class Pace:
    """How many records the next commit takes: at most `most`, and about `seconds` of encoding
    at the pace measured so far, so an interrupted run loses at most about that much work.

    Large chunks let the encoder sort many texts by length (its batches then carry little
    padding), so a chunk grows to what `seconds` allows, never under `least`.
    """

    def __init__(self, most: int, seconds: float = COMMIT_SECONDS, first: int = FIRST_COMMIT, least: int = 64):
        self.most, self.seconds, self.least = most, seconds, min(least, most)
        self.size = min(most, first)

    def __call__(self) -> int:
        return self.size

    def measured(self, records: int, seconds: float) -> None:
        """`records` took `seconds` to encode and commit: size the next chunk from that pace."""
        if records and seconds > 0:
            self.size = int(min(self.most, max(self.least, records / seconds * self.seconds)))


def planned(transaction, records: Iterable[Record], size: int | Callable[[], int], seen: set[str], report,
            pending: dict[str, str] | None = None):
    """Chunks of `size` records (or `size()`, asked before each chunk) with what each needs:
    (chunk, records to encode, {id: stored row it replaces}).

    `pending` ({id: content hash}) holds what earlier chunks planned but did not commit yet
    (distributed indexing commits once at the end): a later occurrence is compared with that,
    not with the stored version, so the last occurrence wins there too.

    The last occurrence of an id wins (earlier ones count as duplicates); a record whose content
    hash is already stored is unchanged and skipped. Planned against the transaction's base as it
    is when each chunk is reached.
    """
    iterator = iter(records)
    while chunk := list(itertools.islice(iterator, size() if callable(size) else size)):
        latest: dict[str, Record] = {}
        for position, record in enumerate(chunk):
            record = _as_record(record, position)
            if record.id in seen or record.id in latest:
                report.duplicates += 1
                latest.pop(record.id, None)  # re-insert so the last occurrence keeps its place
            latest[record.id] = record
        seen.update(latest)
        view = transaction.base
        versions = view.versions(list(latest))
        alive = set(view.alive(np.asarray([row for _, row, _ in versions], np.int64)).tolist())
        existing = {i: (row, h) for i, row, h in versions if row in alive}
        earlier = pending if pending is not None else {}
        todo = [r for r in latest.values()
                if (earlier[r.id] != r.content_hash if r.id in earlier
                    else r.id not in existing or existing[r.id][1] != r.content_hash)]
        report.unchanged += len(latest) - len(todo)
        yield chunk, todo, {r.id: existing[r.id][0] for r in todo if r.id in existing and r.id not in earlier}
        if pending is not None:
            pending.update((r.id, r.content_hash) for r in todo)


def _as_record(value, position: int) -> Record:
    """Records pass through; dicts become records (`id` and `text` keys, the rest metadata)."""
    if isinstance(value, Record):
        return value
    if not isinstance(value, dict):
        raise InputError(f"add() takes Record objects or dicts, got {type(value).__name__}")
    text = value.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"record {position} of this batch needs a non-empty string 'text'")
    if value.get("id") is None:
        raise InputError(f"record {position} of this batch needs an 'id'")
    wrong = limits.id_problem(value["id"])
    if wrong:
        raise InputError(f"record {position} of this batch: {wrong}")
    metadata = {k: v for k, v in value.items() if k not in ("id", "text")}
    return Record(id=str(value["id"]), text=text, metadata=metadata, source=f"record {position} of this batch")


def encode_documents(encoder, settings, rows: np.ndarray, ids: list[str], texts: list[str], hashes: list[str],
                     metadata: list[dict], batch_size: int | None, on_batch: Callable[[int], None] | None = None):
    """(Documents for a new segment, what the encoder returned): vectors, feelings and, when the
    index looks for them (`settings`, mentions.MentionSettings), entity mentions read in the
    same forward pass."""
    from hyperamy.encoder.tokens import CHARS_PER_TOKEN
    from hyperamy.entities.detect import Finder
    from hyperamy.segments import Documents, Mentions, feelings_table

    finder = Finder(settings) if settings.enabled else None
    # Mentions are read from the encoder's token window, so they are looked for only in the part of
    # a text the window can reach (the tokenizer's first cut, encoder/tokens.py): a 50 MB text
    # otherwise spent minutes finding names its window never sees. A text whose window spans more
    # (its first max_length tokens over 32 characters each: long runs of spaces) loses the mentions
    # past the cut.
    reach = encoder.emotion.config.max_length * CHARS_PER_TOKEN
    found = [finder.find(t[:reach], m) for t, m in zip(texts, metadata)] if finder is not None else None
    spans = [[(f.start, f.end) for f in mentions] for mentions in found] if found is not None else None
    encoded = encoder.encode(texts, batch_size=batch_size, on_batch=on_batch, mentions=spans)
    mentions = None
    if found is not None:
        read = encoded.mentions
        which = [found[d][n] for d, n in zip(read.doc, read.number)]
        mentions = Mentions(rows=np.asarray(rows, np.int64)[read.doc], entity=[f.entity for f in which],
                            surface=[texts[d][f.start:f.end] for d, f in zip(read.doc, which)],
                            start=np.asarray([f.start for f in which], np.int64),
                            end=np.asarray([f.end for f in which], np.int64), source=[f.source for f in which],
                            initial=np.asarray([f.initial for f in which], bool), mu=read.emotion.mu,
                            feelings=feelings_table(read.emotion.kappa, read.emotion.probs, read.emotion.strength,
                                                    read.emotion.affect))
    documents = Documents(rows=np.asarray(rows, np.int64), ids=ids, texts=texts, hashes=hashes, metadata=metadata,
                          semantic=encoded.semantic, mu=encoded.emotion.mu, kappa=encoded.emotion.kappa,
                          probs=encoded.emotion.probs, strength=encoded.emotion.strength, mentions=mentions,
                          affect=encoded.emotion.affect)
    return documents, encoded


def _write(transaction, todo: list[Record], replaced: dict[str, int], report,
           progress: Callable[[int], None] | None) -> None:
    """Encode and commit one chunk's records as a segment. A book passage (or cut record) whose
    text the index already holds for that book (it only moved: an earlier chapter was edited)
    keeps the stored vectors, feelings and mentions instead of being encoded again."""
    from hyperamy import persist
    from hyperamy.segments import Documents, write_segment

    encoder = transaction.encoder
    view = transaction.base
    first = view.manifest["next_row"]
    kept = _same_text(view, todo, transaction.mentions)
    fresh = [r for r in todo if r.id not in kept]
    moved = [r for r in todo if r.id in kept]
    rows = np.arange(first, first + len(todo), dtype=np.int64)
    parts = []
    if fresh:
        documents, encoded = encode_documents(encoder, transaction.mentions, rows[:len(fresh)], [r.id for r in fresh],
                                              [r.text for r in fresh], [r.content_hash for r in fresh],
                                              [r.metadata for r in fresh], transaction.batch_size, progress)
        parts.append(documents)
        report.truncated += encoded.truncated
    if moved:
        parts.append(_stored_documents(view, moved, [kept[r.id] for r in moved], rows[len(fresh):],
                                       transaction.mentions.enabled))
        if progress is not None:
            progress(len(moved))
    documents = parts[0] if len(parts) == 1 else Documents.join(parts)
    fields = dict(view.manifest.get("fields", {}))
    entry = write_segment(persist.new_segment_folder(transaction.folder), documents, encoder.emotion.thresholds,
                          transaction.config, fields)
    transaction.commit([*view.manifest["segments"], entry], np.concatenate([view.tombstones, list(replaced.values())]),
                       first + len(todo), fields)
    report.updated += len(replaced)
    report.added += len(todo) - len(replaced)
    report.reused += len(moved)


def _same_text(view, todo: list[Record], mentions) -> dict[str, int]:
    """{id: stored row} of the records whose text the index already holds under the same book
    (`source`) or cut record (`parent`), and, when mentions are read from a metadata field, with
    the same value there: their stored encoding can be kept. Looked up only within those groups,
    so the scan stays small on a large index."""
    from hyperamy.segments import metadata_column
    from hyperamy.store import identifier

    grouped = {field: sorted({str(r.metadata[field]) for r in todo if r.metadata.get(field) is not None})
               for field in LENDING_FIELDS}
    if not view.segments or not any(grouped.values()):
        return {}  # no group to look in: no DuckDB (its start costs a commit 20-70 ms)
    fields = view.store.columns()
    by_text: dict[str, int] = {}
    for field, groups in grouped.items():
        column = metadata_column(field)
        if not groups or column not in fields:
            continue
        found, _ = view.store.query(
            f"SELECT text, _row FROM documents WHERE CAST({identifier(column)} AS VARCHAR) IN "
            "(SELECT unnest(?::VARCHAR[])) AND text IN (SELECT unnest(?::VARCHAR[]))",
            [groups, sorted({r.text for r in todo})])
        alive = set(view.alive(np.asarray([row for _, row in found], np.int64)).tolist())
        by_text.update((text, row) for text, row in found if row in alive)
    if not by_text:
        return {}
    candidates = {r.id: by_text[r.text] for r in todo if r.text in by_text}
    if mentions.enabled and mentions.field:
        stored = view.fetch(list(candidates.values()))
        records = {r.id: r for r in todo}
        candidates = {i: row for i, row in candidates.items()
                      if stored[row]["metadata"].get(mentions.field) == records[i].metadata.get(mentions.field)}
    return candidates


def _stored_documents(view, records: list[Record], old_rows: list[int], rows: np.ndarray, with_mentions: bool):
    """Documents for `records` at new `rows`, carrying what the index stores for `old_rows`."""
    from hyperamy.segments import Documents, Mentions

    old = np.asarray(old_rows, np.int64)
    kappa, probs, strength, affect = view.feelings(old)
    mentions = None
    if with_mentions:
        new_row = dict(zip(old.tolist(), rows.tolist()))
        parts = view.mentions_of(old)
        for part in parts:
            part.rows = np.asarray([new_row[int(r)] for r in part.rows], np.int64)
        mentions = Mentions.join(parts, view.vectors("emotion", old[:1]).shape[1])
    return Documents(rows=rows, ids=[r.id for r in records], texts=[r.text for r in records],
                     hashes=[r.content_hash for r in records], metadata=[r.metadata for r in records],
                     semantic=view.vectors("semantic", old), mu=view.vectors("emotion", old), kappa=kappa, probs=probs,
                     strength=None if np.isnan(strength).all() else strength,
                     affect=None if np.isnan(affect).all() else affect, mentions=mentions)
