"""HyperAmy: an index of documents searchable by meaning, keywords and feeling."""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import os
import shutil
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from hyperamy import persist
from hyperamy.config import IndexConfig, from_dict
from hyperamy.corpus import Record
from hyperamy.errors import IndexStateError, InputError
from hyperamy.lexical import KeywordIndex
from hyperamy.store import Store
from hyperamy.vectors import VectorIndex

log = logging.getLogger(__name__)
DEFAULT_INDEX = Path("indexes") / "default"
# Settings baked into the stored files; the others only steer ranking and may change at open time.
STORAGE_FIELDS = ("vector_index", "hnsw_m")
STORE_FILE = "store.duckdb"


def index_path(path: str | Path | None = None) -> Path:
    """The index folder: the argument, else $HYPERAMY_INDEX, else indexes/default."""
    return Path(path or os.environ.get("HYPERAMY_INDEX") or DEFAULT_INDEX)


def default_encoder(weights: str | Path | None = None):
    """The emotion encoder of a weights folder (default: the shipped one), sharing its lower
    layers with its backbone's semantic model (MiniLM for the shipped one)."""
    from hyperamy.encoder import EmotionEncoder
    from hyperamy.encoder.joint import SharedTrunkEncoder

    return SharedTrunkEncoder.from_backbone(EmotionEncoder.load(weights))


@dataclasses.dataclass
class AddReport:
    """What one `add` did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0  # ids seen more than once in this input (the last one won)
    truncated: int = 0  # texts longer than the encoder window (stored whole, encoded cut)


@dataclasses.dataclass
class Parts:
    store: Store
    semantic: VectorIndex
    emotion: VectorIndex
    keyword: KeywordIndex
    _feelings: tuple[np.ndarray, np.ndarray] | None = None

    def feelings(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Kappa and label probabilities of some rows, from an in-memory copy read on first use."""
        if self._feelings is None:
            self._feelings = self.store.emotion_table()
        kappa, probs = self._feelings
        return kappa[rows], probs[rows]


class HyperAmy:
    """Open with `HyperAmy.open(path)`, then `add`, `delete` and `search`."""

    def __init__(self, folder: Path, manifest: dict | None, config: IndexConfig, encoder=None,
                 weights: str | Path | None = None):
        self.folder, self.manifest, self.config = folder, manifest, config
        self._encoder = encoder
        self._weights = weights  # the encoder's weights folder when none is given (None: shipped)
        self._query_encoder = None  # loaded on the first search when no encoder is
        self._parts: Parts | None = None
        if manifest is not None:
            self._parts = self._load(folder / manifest["generation"], read_only=True)
            self._check_counts()

    @classmethod
    def open(cls, path: str | Path | None = None, create: bool = False, encoder=None,
             config: IndexConfig | None = None, weights: str | Path | None = None) -> "HyperAmy":
        """Open an index folder; with create=True a missing one starts empty (written on first add).

        Documents and queries are encoded with `encoder` if given, else with the model in the
        `weights` folder (from `hyperamy train` or `hyperamy soup`; default: the shipped one),
        loaded when first needed. An index only accepts the model it was built with.

        `config` sets a new index's settings; for an existing index it may change the ranking
        settings (candidates, semantic_share, emotion_weight, hnsw_ef_search) but not the stored ones.

        Raises:
            IndexStateError: no index there (and create is False), another format version, or
                an inconsistent index.
        """
        folder = index_path(path)
        if (folder / persist.MANIFEST).is_file():
            manifest = persist.read_manifest(folder)
            stored = from_dict(IndexConfig, manifest["config"])
            if config is not None:
                fixed = {name: (getattr(stored, name), getattr(config, name)) for name in STORAGE_FIELDS
                         if getattr(stored, name) != getattr(config, name)}
                if fixed:
                    raise InputError(f"index {folder} was built with {', '.join(f'{k}={v[0]!r}' for k, v in fixed.items())}; "
                                     f"build a new index to use {', '.join(f'{k}={v[1]!r}' for k, v in fixed.items())}")
                stored = config  # ranking settings may change from one session to the next
            return cls(folder, manifest, stored, encoder, weights)
        if not create:
            persist.read_manifest(folder)  # raises the "no index here; create one with ..." error
        return cls(folder, None, config or IndexConfig(), encoder, weights)

    @property
    def encoder(self):
        """The encoder that indexes (and, once loaded, also encodes queries)."""
        if self._encoder is None:
            self._encoder = default_encoder(self._weights)
        return self._checked(self._encoder)

    @property
    def query_encoder(self):
        """What encodes queries: the index encoder when loaded or given, else the light path.

        The light path (encoder/light.py) runs the model in NumPy without importing torch
        or transformers, which makes a one-off search process seconds faster; it applies to
        BERT-style backbones. A long-running process that searches a lot can pass
        `encoder=default_encoder()` to `open` instead: its packed layers encode a query faster
        (bfloat16 where the CPU has it) after a load of a few seconds.
        """
        if self._encoder is None and self._query_encoder is None:
            from hyperamy.encoder.light import LightQueryEncoder

            # False: the light path does not apply to this backbone; use the full encoder
            self._query_encoder = LightQueryEncoder.load(self._weights) or False
        if self._encoder is None and self._query_encoder:
            return self._checked(self._query_encoder)
        return self.encoder

    def _checked(self, encoder):
        if self.manifest is not None:
            expected = self.manifest["models"]
            if expected.get("encoder") != encoder.model_id:
                raise IndexStateError(f"index {self.folder} was built with encoder {expected.get('encoder')!r}, "
                                      f"not {encoder.model_id!r}; use the weights it was built with "
                                      f"(--weights or $HYPERAMY_WEIGHTS), or rebuild it with `hyperamy index`")
        return encoder

    def __len__(self) -> int:
        return 0 if self.manifest is None else self.manifest["counts"]["documents"]

    def _load(self, generation: Path, read_only: bool) -> Parts:
        c = self.config
        return Parts(store=Store(generation / STORE_FILE, read_only=read_only),
                      semantic=VectorIndex.load(generation, "semantic", c.vector_index, c.hnsw_m, c.hnsw_ef_search),
                      emotion=VectorIndex.load(generation, "emotion", c.vector_index, c.hnsw_m, c.hnsw_ef_search),
                      keyword=KeywordIndex.load(generation / "keywords"))

    def _check_counts(self) -> None:
        parts, expected = self._parts, self.manifest["counts"]["documents"]
        counts = {"DuckDB": parts.store.count(), "FAISS semantic": len(parts.semantic),
                  "FAISS emotion": len(parts.emotion)}
        if set(counts.values()) != {expected}:
            raise IndexStateError(f"index {self.folder} is inconsistent: manifest says {expected} documents, "
                              + ", ".join(f"{k} holds {v}" for k, v in counts.items())
                              + "; rebuild it with `hyperamy index`")

    @contextlib.contextmanager
    def _transaction(self):
        """A writable copy of the live generation; it becomes live only if the block succeeds."""
        persist.remove_stale_generations(self.folder, self.manifest and self.manifest["generation"])
        created = not self.folder.exists()
        generation = persist.new_generation(self.folder)
        try:
            if self.manifest is not None:
                shutil.copy2(self.folder / self.manifest["generation"] / STORE_FILE, generation / STORE_FILE)
                parts = self._load(self.folder / self.manifest["generation"], read_only=True)
                parts.store.close()
                parts.store = Store(generation / STORE_FILE, read_only=False)
            else:
                dimension = self.encoder.dimension
                parts = Parts(Store(generation / STORE_FILE, read_only=False),
                               VectorIndex(dimension, self.config.vector_index, self.config.hnsw_m,
                                           self.config.hnsw_ef_search),
                               VectorIndex(self.encoder.emotion.config.dim, self.config.vector_index,
                                           self.config.hnsw_m, self.config.hnsw_ef_search), KeywordIndex())
            state = {"next_row": self.manifest["next_row"] if self.manifest else 0, "changed": False}
            yield parts, state
            if state["changed"] or self.manifest is None:
                self._commit(generation, parts, state["next_row"])
            else:
                parts.store.close()
                shutil.rmtree(generation, ignore_errors=True)
        except BaseException:
            with contextlib.suppress(Exception):
                parts.store.close()
            shutil.rmtree(generation, ignore_errors=True)
            if created:
                with contextlib.suppress(OSError):
                    self.folder.rmdir()  # a failed first build leaves no empty index folder behind
            raise

    def _commit(self, generation: Path, parts: Parts, next_row: int) -> None:
        parts.keyword = KeywordIndex.build(parts.store.texts())
        parts.keyword.save(generation / "keywords")
        parts.semantic.save(generation, "semantic")
        parts.emotion.save(generation, "emotion")
        count = parts.store.count()
        parts.store.close()
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        manifest = {
            "format_version": persist.FORMAT_VERSION, "generation": generation.name,
            "config": dataclasses.asdict(self.config), "counts": {"documents": count}, "next_row": next_row,
            "models": self._model_info(), "versions": _versions(),
            "created": (self.manifest or {}).get("created", now), "updated": now,
        }
        persist.write_manifest(self.folder, manifest)
        old = self._parts
        self.manifest = manifest
        self._parts = self._load(generation, read_only=True)
        if old is not None:
            old.store.close()
        persist.remove_stale_generations(self.folder, generation.name)

    def _model_info(self) -> dict:
        if self._encoder is None and self.manifest is not None:
            return self.manifest["models"]  # nothing was encoded (a delete): no model to load
        encoder = self.encoder
        return {"encoder": encoder.model_id, "semantic_dimension": encoder.dimension,
                "emotion_dimension": encoder.emotion.config.dim, "alpha": encoder.emotion.config.alpha,
                "thresholds": [round(float(t), 4) for t in encoder.emotion.thresholds]}

    def add(self, records: Iterable[Record | dict], progress: Callable[[int], None] | None = None) -> AddReport:
        """Insert or replace documents by id; unchanged ones (same content hash) are not re-encoded.

        Records are `Record`s (see `read_records`) or dicts with `id` and `text` (other keys are metadata).

        Nothing is visible, and the previous index stays intact on disk, until every record is in.
        """
        from hyperamy.indexing import add_records

        report = AddReport()
        with self._transaction() as (parts, state):
            add_records(self.encoder, parts, state, records, self.config.batch_size, report, progress)
        return report

    def delete(self, ids: Sequence[str]) -> int:
        """Remove documents by id; returns how many were there."""
        with self._transaction() as (parts, state):
            rows = list(parts.store.rows_of(list(ids)).values())
            parts.store.delete_rows(rows)
            parts.semantic.remove(rows)
            parts.emotion.remove(rows)
            state["changed"] = bool(rows)
        return len(rows)

    def search(self, query: str, k: int = 10, mode: str = "hybrid", where: str | None = None,
               emotion: Sequence[str] | None = None, span: str | None = None) -> list:
        """Rank documents for a query; see hyperamy.search for how scores are made."""
        from hyperamy.search import search

        if self._parts is None or len(self) == 0:
            raise IndexStateError(f"index {self.folder} is empty; add documents with "
                              f"`hyperamy index CORPUS.jsonl --index {self.folder}`")
        return search(self, self._parts, query, k=k, mode=mode, where=where, emotion=emotion, span=span)

    def info(self) -> dict:
        """Counts, models, versions, thresholds, settings and size on disk."""
        if self.manifest is None:
            return {"index": str(self.folder), "exists": False}
        return {"index": str(self.folder), "exists": True, "documents": len(self),
                "metadata_fields": self._parts.store.metadata_columns(),
                "size_bytes": persist.folder_size(self.folder / self.manifest["generation"]),
                **{k: self.manifest[k] for k in ("config", "models", "versions", "created", "updated")}}


def _versions() -> dict:
    from importlib import metadata

    names = ("hyperamy", "torch", "transformers", "faiss-cpu", "duckdb", "bm25s")
    found = {}
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found
