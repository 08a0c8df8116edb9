"""HyperAmy: an index of documents searchable by meaning, keywords and feeling."""
from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import threading
from pathlib import Path
from typing import Callable, Collection, Iterable, Sequence

from hyperamy import persist, snapshot
from hyperamy.analyzer import analyzer
from hyperamy.config import IndexConfig, SearchSettings, opened_config
from hyperamy.corpus import Record
from hyperamy.encoder.loading import Encoders
from hyperamy.errors import AddInterrupted, HyperamyError, IndexStateError, InputError
from hyperamy.frames import Results
from hyperamy.indexing import COMMIT_EVERY, AddReport
from hyperamy.locking import DEFAULT_WAIT, WriterLock

DEFAULT_INDEX = Path("indexes") / "default"


def index_path(path: str | Path | None = None) -> Path:
    """The index folder: the argument, else $HYPERAMY_INDEX, else indexes/default."""
    return Path(path or os.environ.get("HYPERAMY_INDEX") or DEFAULT_INDEX)


class HyperAmy:
    """Open with `HyperAmy.open(path)`, then `add`, `delete` and `search`.

    Any number of processes may read an index while one writes it: writers take the index's
    lock in turn, and an open HyperAmy moves to the newest committed state between searches.
    """

    def __init__(self, folder: Path, config: IndexConfig, stored: IndexConfig, view, encoders: Encoders,
                 verify: bool = True, wait: float = DEFAULT_WAIT):
        self.folder, self.config, self.stored_config, self.snapshot = folder, config, stored, view
        self._encoders = encoders  # the encoder given to open, else the weights folder's (None: shipped)
        self.verify, self.wait = verify, wait
        self._refreshing = threading.Lock()  # threads of one process (a server) move on together
        self._closed = False
        self._sharded = None  # a shards.ShardedView once use_shards is called
        self._mentions = None  # MentionSettings given to this engine (else the manifest's, else defaults)

    @classmethod
    def open(cls, path: str | Path | None = None, create: bool = False, encoder=None,
             config: IndexConfig | None = None, weights: str | Path | None = None, verify: bool = True,
             wait: float = DEFAULT_WAIT, load: bool = True, preload_queries: bool = False) -> "HyperAmy":
        """Open an index folder; with create=True a missing one starts empty (written on first add).

        Documents and queries are encoded with `encoder` if given, else with the model in the
        `weights` folder (from `hyperamy train` or `hyperamy soup`; default: the shipped one),
        loaded when first needed. An index only accepts the model it was built with.

        `config` sets a new index's settings; for an existing index it may change the ranking
        settings (candidates, semantic_share, emotion_weight, hnsw_ef_search, fusion) but not the stored ones.
        `verify` checks every file's checksum as it is loaded (sizes are always checked);
        `wait` is how many seconds a write waits for another writer to finish. `load=False`
        reads only the manifest (for `hyperamy check`, on an index that may be damaged).
        `preload_queries` starts loading the query encoder in a thread at once, so that its load
        (ONNX Runtime releases the GIL) overlaps the index's (what `hyperamy search` does).

        Raises:
            IndexStateError: no index there (and create is False), another format version, or
                a damaged or inconsistent index (the file is named).
        """
        folder = index_path(path)
        if (folder / persist.MANIFEST).is_file() or not create:
            manifest = persist.read_manifest(folder, checksum=load)  # no index: says how to create one
            encoders = Encoders(encoder, weights)
            if preload_queries:
                encoders.preload_queries()
            stored = persist.stored_config(folder, manifest)
            view = snapshot.load(folder, stored, verify=verify) if load else snapshot.empty(folder, manifest)
            return cls(folder, opened_config(stored, config, folder), stored, view, encoders, verify, wait)
        config = config or IndexConfig()
        config = dataclasses.replace(config, analyzer=analyzer(config.analyzer).name)  # None: the default
        return cls(folder, config, config, snapshot.empty(folder), Encoders(encoder, weights), verify, wait)

    @property
    def settings(self) -> SearchSettings:
        """How searches rank unless told otherwise (the index's stored settings, or `config`'s)."""
        return SearchSettings.of(self.config)

    @property
    def manifest(self) -> dict | None:
        return self.snapshot.manifest if self.snapshot.stamp is not None else None

    @property
    def mention_settings(self):
        """Which entity mentions writes look for (mentions.MentionSettings): those given to
        `find_mentions`, else the index's own, else (a new index) automatic detection."""
        from hyperamy.entities.names import MentionSettings

        if self._mentions is not None:
            return self._mentions
        if self.manifest is not None:
            return MentionSettings.from_dict(self.manifest.get("mentions"))
        return MentionSettings()

    def find_mentions(self, entities: str | Path | Sequence[Sequence[str]] | None = None, field: str | None = None,
                      detect: bool = True) -> None:
        """Set which entity mentions this index looks for in the documents written from now on
        (kept in its manifest at the next write).

        `entities`: a file (one entity a line, `Name | alias | alias`) or a list of name lists;
        `field`: a metadata field listing each document's entities; `detect`: also find
        capitalised names automatically. Documents already stored keep the mentions they have.
        """
        from hyperamy.entities.names import MentionSettings, read_entity_file

        if isinstance(entities, (str, Path)):
            names = read_entity_file(entities)
        else:
            names = tuple(tuple(str(n) for n in ([e] if isinstance(e, str) else e)) for e in entities or ())
        self._mentions = MentionSettings(names, field, detect)

    @property
    def encoder(self):
        """The encoder that indexes (the one given to `open`, else the weights' torch encoder)."""
        return self._checked(self._encoders.documents)

    @property
    def query_encoder(self):
        """What encodes queries (encoder/loading.py): the weights' graph in ONNX Runtime."""
        return self._checked(self._encoders.queries)

    def _checked(self, encoder):
        if self.manifest is not None:
            expected = self.manifest["models"]
            if expected.get("encoder") != encoder.model_id:
                raise IndexStateError(f"index {self.folder} was built with encoder {expected.get('encoder')!r}, "
                                      f"not {encoder.model_id!r}; use the weights it was built with "
                                      f"(--weights or $HYPERAMY_WEIGHTS), or rebuild it with `hyperamy index`")
        return encoder

    def __len__(self) -> int:
        return len(self.refresh())

    def refresh(self):
        """The newest committed snapshot: reloaded only when manifest.json changed (one stat)."""
        self._open()
        seen = persist.stamp(self.folder)
        if seen is None or seen == self.snapshot.stamp:
            return self.snapshot
        with self._refreshing:
            if seen == self.snapshot.stamp:
                return self.snapshot
            if self.snapshot.stamp is None:  # another process created the index since we opened it
                stored = persist.stored_config(self.folder, persist.read_manifest(self.folder))
                self.config, self.stored_config = opened_config(stored, self.config, self.folder), stored
            self._move_forward(snapshot.load(self.folder, self.stored_config, self.snapshot, self.verify))
        return self.snapshot

    def _advance(self, view) -> None:
        """Move to a snapshot a write committed (IndexWriter's publish), never back."""
        with self._refreshing:
            self._move_forward(view)

    def _move_forward(self, view) -> None:
        """Take `view` unless it is older than the snapshot held now (by commit number): a search
        that loaded commit N slowly must not undo a write's commit N+1 in this process. The caller
        holds `_refreshing`."""
        if view.stamp is None or self.snapshot.stamp is None or \
                view.manifest["commit"] >= self.snapshot.manifest["commit"]:
            self.snapshot = view

    @contextlib.contextmanager
    def _writing(self, load: bool = True):
        """A write transaction (writer.IndexWriter) under the writer lock, on the newest commit;
        a failed first build leaves no folder.

        With load=False only the newest manifest is read (check --repair, on damaged files).
        Cleanup removes only what the manifest on disk does not name.
        """
        from hyperamy.writer import IndexWriter

        self._open()
        created = not self.folder.exists()
        with WriterLock(self.folder, self.wait):
            if not persist.stamp(self.folder):
                base = snapshot.empty(self.folder)
            elif load:  # under the lock nobody else commits: the newest snapshot is the one on disk
                base = self.refresh()  # one stat when this engine is up to date
            else:
                base = snapshot.empty(self.folder, persist.read_manifest(self.folder, checksum=False))
            persist.remove_unused(self.folder)
            transaction = IndexWriter(self.folder, self.stored_config, base, lambda: self.encoder,
                                      self.mention_settings, self.config.batch_size, self.verify,
                                      publish=self._advance)
            del base  # held here, it would pin segments that the transaction's merges replace
            try:
                yield transaction
                transaction.compact_automatically()
            finally:
                persist.remove_unused(self.folder)
                if persist.stamp(self.folder) is None:  # nothing was committed: leave no trace of the attempt
                    if created:
                        shutil.rmtree(self.folder, ignore_errors=True)
                    else:
                        persist.remove_scaffolding(self.folder)

    def _open(self) -> None:
        if self._closed:
            raise IndexStateError(f"index {self.folder} was closed; open it again with HyperAmy.open")

    def close(self) -> None:
        """Let go of what this handle holds: the snapshot's DuckDB connection, pinned segment
        folders, memory maps, search shards. Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        with self._refreshing:
            self.snapshot.close()
            self.snapshot = snapshot.empty(self.folder)
        self._sharded = None

    def __enter__(self) -> "HyperAmy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def versions() -> dict:
        """The versions of the libraries an index's files depend on, as a write records them."""
        from hyperamy.writer import library_versions

        return dict(library_versions())

    def add(self, records: Iterable[Record | dict], progress: Callable[[int], None] | None = None,
            commit_every: int = COMMIT_EVERY, text_field: str = "text", id_field: str = "id") -> AddReport:
        """Insert or replace documents by id; unchanged ones (same content hash) are not re-encoded.

        Records are `Record`s (see `read_records`), dicts with `id` and `text` (other keys are
        metadata), or a pandas DataFrame with a `text_field` column, ids from `id_field` (a column or
        the named index; without one, made from the text) and every other column as metadata.

        Documents are committed together (one segment) every `commit_every` documents or about
        every 30 s of encoding (indexing.COMMIT_SECONDS), whichever comes first: an interrupted or
        failed add keeps what it committed, and running it again skips those as unchanged.

        Raises:
            IndexBusyError: another writer held the index for longer than `wait` seconds.
            AddInterrupted: Ctrl-C (a KeyboardInterrupt); says what the index holds after the commits that landed.
        """
        from hyperamy.frames import frame_records, is_frame
        from hyperamy.indexing import add_records

        if is_frame(records):
            records = frame_records(records, id_field=id_field, text_field=text_field)
        if commit_every < 1:
            raise InputError("commit_every must be at least 1")
        report = AddReport()
        held = len(self)
        try:
            with self._writing() as transaction:
                before = {segment.name for segment in transaction.base.segments}
                try:
                    add_records(transaction, records, commit_every, report, progress)
                except HyperamyError as exc:
                    committed = report.added + report.updated
                    if committed and exc.args:
                        exc.args = (f"{exc.args[0]} ({committed} documents before it were committed; "
                                    "after fixing it, run the same command again to add the rest)",)
                    raise
                transaction.merge_new(before)
        except KeyboardInterrupt:  # what the index holds now, read back: a commit may have just landed
            raise AddInterrupted(held, len(self)) from None
        return report

    def add_distributed(self, records: Iterable[Record | dict], ray, actors: int = 2, gpus_per_actor: float = 0.0,
                        segment_size: int = COMMIT_EVERY, encoder_factory: Callable | None = None) -> AddReport:
        """`add` with Ray Data encoder actors (see hyperamy.distributed): one commit at the end."""
        from hyperamy import distributed

        with self._writing() as transaction:
            return distributed.add(transaction, records, ray, actors=actors, gpus_per_actor=gpus_per_actor,
                                   segment_size=segment_size, encoder_factory=encoder_factory,
                                   weights=None if self._encoders.weights is None else str(self._encoders.weights))

    def delete(self, ids: Sequence[str]) -> int:
        """Remove documents by id; returns how many were there."""
        return len(self.remove(ids))

    def remove(self, ids: Sequence[str]) -> list[str]:
        """Remove documents by id; returns the ids that were there (the others were not found)."""
        if isinstance(ids, str):
            ids = [ids]
        with self._writing() as transaction:
            return transaction.remove([str(i) for i in ids])

    def compact(self) -> dict:
        """Merge every segment into one, without deleted documents; returns before and after counts."""
        with self._writing() as transaction:
            view = transaction.base
            before = {"segments": len(view.segments), "deleted": len(view.tombstones)}
            if len(view.segments) > 1 or len(view.tombstones):
                transaction.merge([s.name for s in view.segments])
            view = transaction.base
            return {"before": before, "after": {"segments": len(view.segments), "deleted": len(view.tombstones)},
                    "documents": len(view)}

    def reshard(self, shards: int) -> dict:
        """Rewrite the index as `shards` segments of about equal size, one per search shard
        (shards.py); later merges keep at least that many."""
        if shards < 1:
            raise InputError("--shards must be at least 1")
        with self._writing() as transaction:
            transaction.merge([s.name for s in transaction.base.segments], parts=shards, shards=shards)
            return {"segments": len(transaction.base.segments), "documents": len(transaction.base)}

    def use_shards(self, shards: int, address: str | None = None) -> None:
        """Search through `shards` Ray actors from now on (address: a Ray cluster; default: local).

        The shards hold the index as it is now; call again to pick up later writes.
        """
        from hyperamy import shards as sharding

        ray = sharding.connect(address)
        self._sharded = sharding.open_sharded(self, shards, ray)

    def search(self, query: str, k: int = 10, mode: str = "hybrid", where: str | None = None,
               emotion: str | Sequence[str] | None = None, span: str | None = None, about: str | None = None,
               recency: str | None = None, **settings) -> Results:
        """Rank documents for a query; see hyperamy.search for how scores are made.

        `about` keeps the documents that mention that entity and ranks their feeling by how the
        entity is felt there (its mention's emotion) instead of the whole passage's.
        `recency` ("FIELD:HALF_LIFE", e.g. "published:30d") fades older documents' scores.
        `settings` override this search's ranking settings (config.SearchSettings, e.g.
        `semantic_share=0.7`); the index's own stay as they are.
        """
        from hyperamy.search import search

        chosen = self.settings.changed(**settings)
        view = self._sharded or self.refresh()
        if len(view) == 0:
            raise IndexStateError(f"index {self.folder} is empty; add documents with "
                                  f"`hyperamy index CORPUS.jsonl --index {self.folder}`")
        if isinstance(emotion, str):
            emotion = [emotion]
        return Results(search(self, view, query, k=k, mode=mode, where=where, emotion=emotion, span=span,
                              settings=chosen, about=about, recency=recency))

    def remove_others(self, field: str, kept: dict[str, Collection[str]]) -> list[str]:
        """Remove the documents whose metadata `field` holds one of kept's keys but whose id is not
        among that key's ids: the passages a re-indexed book (`source`) or re-cut record (`parent`)
        no longer has. Returns the ids removed."""
        if not kept:
            return []
        with self._writing() as transaction:
            return transaction.remove_others(field, kept)

    def get(self, id: str) -> dict | None:
        """One document (id, text, kappa, emotion, emotions, strength, intensity, metadata, row), or None."""
        from hyperamy import browse

        return browse.get(self.refresh(), [str(id)]).get(str(id))

    def list(self, where: str | None = None, limit: int | None = None, offset: int = 0) -> Results:
        """Documents in index order (optionally those passing a --where condition), a page at a time."""
        from hyperamy import browse

        if offset < 0 or (limit is not None and limit < 0):
            raise InputError("limit and offset must not be negative")
        rows = browse.matching_rows(self.refresh(), where)
        rows = rows[offset:] if limit is None else rows[offset:offset + limit]
        return Results(browse.documents(self.snapshot, rows))

    def count(self, where: str | None = None) -> int:
        """How many documents there are (passing `where`, when given)."""
        from hyperamy import browse

        view = self.refresh()
        return len(browse.matching_rows(view, where)) if where else len(view)

    def arc(self, by: str | None = None, labels: str = "ekman", window: int | None = None, points: int = 200,
            where: str | None = None, entity: str | None = None, bin: str | None = None, smooth: int = 1):
        """How feeling moves through the index (or, with `entity`, how that entity is felt, mention
        by mention): per-class intensity in index order, smoothed over `window` documents, or along
        the field `by`, one point per chapter, date `bin` or value (arcs.Arc)."""
        from hyperamy import arcs, entities

        view = self.refresh()
        about = entities.about(view, entity, self.mention_settings.names) if entity is not None else None
        return arcs.arc(view, by=by, labels=labels, window=window, points=points, where=where, entity=about, bin=bin,
                        smooth=smooth)

    def books(self, top: int = 3) -> Results:
        """The books (sources) in the index: passages, chapters, characters, mean strength and the
        emotions each is felt with most (books.shelf)."""
        from hyperamy.books.shelf import books

        return Results(books(self.refresh(), top))

    def entities(self, limit: int | None = None, min_mentions: int = 1) -> Results:
        """The entities mentioned in the index, most mentioned first, each with its counts and the
        emotion it is felt with most (see hyperamy.entities)."""
        from hyperamy import entities

        return Results(entities.entities(self.refresh(), limit=limit, min_mentions=min_mentions))

    def entity(self, name: str, top: int = 3, passages: int = 3) -> dict:
        """How one entity is felt: mentions, top emotions by mean intensity and, for each, the
        passages where it is felt most (aliases and names without accents resolve)."""
        from hyperamy import entities

        return entities.profile(self.refresh(), name, self.mention_settings.names, top=top, passages=passages)

    def export(self, path: str | Path, format: str | None = None, vectors: bool = False,
               where: str | None = None) -> int:
        """Write the documents to a JSON Lines, CSV or Parquet file (`format`, else from the path's
        suffix); returns how many."""
        from hyperamy import browse

        return browse.export(self.refresh(), path, format, vectors, where)

    def check(self, repair: bool = False, drop_damaged: bool = False) -> dict:
        """Verify every file against the manifest's sizes and checksums; see hyperamy.check."""
        from hyperamy.check import check

        return check(self, repair, drop_damaged)

    def info(self) -> dict:
        """Counts, models, versions, thresholds, settings (entity mentions too) and size on disk."""
        view = self.refresh()
        if self.manifest is None:
            return {"index": str(self.folder), "exists": False}
        return {"index": str(self.folder), "exists": True, "documents": len(view),
                "segments": len(view.segments), "deleted": len(view.tombstones),
                "metadata_fields": list(view.manifest.get("fields", {})),
                "mentions": self.mention_settings.to_dict(),
                "size_bytes": persist.folder_size(self.folder),
                "config": dataclasses.asdict(persist.stored_config(self.folder, view.manifest)),
                **{k: view.manifest[k] for k in ("models", "versions", "created", "updated")}}
