"""FAISS wrapper (the only import of faiss): inner-product search over unit vectors with int64 ids."""
from __future__ import annotations

import functools
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from hyperamy.errors import IndexStateError

KINDS = ("flat", "hnsw")
# HNSW's breadth while it builds a graph (FAISS's default is 40). Chosen on the semantic graph of a
# million passages drawn near real ones (benchmarks/million.py's), by recall@10 against exact search
# for the Monte Cristo paraphrased dev questions at the default search breadth (512): 0.888 with 40,
# 0.950 with 100; the graph takes 2.2x as long to build (198 s against 90 on 2 cores). The public
# questions, read after: 0.938 -> 0.980 (docs/scale.md).
BUILD_BREADTH = 100
_UNKNOWN = object()  # VectorIndex._sorter before the stored ids were looked at


class VectorIndex:
    """Exact search by default; `hnsw` adds an approximate graph for large collections.

    The exact flat index is always kept: it holds the vectors (for re-ranking candidates and for
    merging segments) and answers filtered searches exactly; deleted documents are left out of
    a search by a live mask, since segments never change.
    """

    def __init__(self, dimension: int, kind: str = "flat", hnsw_m: int = 32, ef_search: int = 128):
        import faiss

        if kind not in KINDS:
            raise IndexStateError(f"unknown vector index {kind!r}; choose one of {', '.join(KINDS)}")
        self.dimension, self.kind, self.hnsw_m, self.ef_search = dimension, kind, hnsw_m, ef_search
        # IndexIDMap, not IndexIDMap2: reading an IndexIDMap2 builds a hash map of every id (55-60 ms
        # a million vectors, each time a process opens the index); stored vectors are found by id
        # through the sorted ids instead (`vectors`). Files written before are IndexIDMap2 and read as such.
        self.exact = faiss.IndexIDMap(faiss.IndexFlatIP(dimension))
        self._graph = None
        self._graph_reading: Future | None = None  # a graph file being read in the background (read())
        self._graph_stale = kind == "hnsw"
        self._ids: np.ndarray | None = None  # id of each stored vector, in storage order
        self._sorter = _UNKNOWN  # the storage order by id, None where the ids ascend (`_by_id`)
        self.mapped = False  # read from a file, memory-mapped: never added to

    def __len__(self) -> int:
        return int(self.exact.ntotal)

    @property
    def graph(self):
        """The HNSW graph (None: none), once a background read of its file has finished.

        Raises:
            IndexStateError: its file could not be read.
        """
        if self._graph_reading is not None:
            try:
                self._graph = self._graph_reading.result()
            except RuntimeError as exc:
                raise IndexStateError(f"an HNSW graph file is not a FAISS index: {str(exc).splitlines()[0]}; "
                                      "run `hyperamy check --repair`") from None
            finally:
                self._graph_reading = None
        return self._graph

    @graph.setter
    def graph(self, value) -> None:
        self._graph, self._graph_reading = value, None

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if self.mapped:  # FAISS would abort the process, not raise
            raise IndexStateError("a memory-mapped vector index is read-only; build a new one")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        self.exact.add_with_ids(vectors, ids)
        self._ids, self._sorter = None, _UNKNOWN
        if self.graph is not None and not self._graph_stale:
            self.graph.add_with_ids(vectors, ids)

    def ids(self) -> np.ndarray:
        """Every stored id, in storage order."""
        import faiss

        if self._ids is None:
            self._ids = faiss.vector_to_array(self.exact.id_map).astype(np.int64)
        return self._ids

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of some ids, in that order.

        Raises:
            IndexStateError: an id is not stored here.
        """
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if not len(ids):
            return np.zeros((0, self.dimension), np.float32)
        stored, sorter = self.ids(), self._by_id()
        at = np.minimum(np.searchsorted(stored, ids, sorter=sorter), max(len(stored) - 1, 0))
        if sorter is not None:
            at = sorter[at]
        found = stored[at] == ids if len(stored) else np.zeros(len(ids), bool)
        if not found.all():
            raise IndexStateError(f"vector ids not stored in this index: {ids[~found][:5].tolist()}")
        return self._stored()[at]

    def _by_id(self) -> np.ndarray | None:
        """The storage order sorted by id; None where the stored ids ascend (every file written does)."""
        if self._sorter is _UNKNOWN:
            stored = self.ids()
            self._sorter = None if np.all(stored[1:] > stored[:-1]) else np.argsort(stored, kind="stable")
        return self._sorter

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None,
               live: np.ndarray | None = None, breadth: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) for one query vector, best first.

        `allowed` (sorted ids) restricts the search to those ids, exactly; `live` (a boolean
        mask in storage order) leaves out the vectors of deleted documents; `breadth` is HNSW's
        efSearch for this search (None: the one the index was made with).
        """
        import faiss

        query = np.ascontiguousarray(query.reshape(-1), dtype=np.float32)
        ids = self.ids()
        if allowed is not None:
            allowed = allowed[np.isin(allowed, ids)]
            positions = np.searchsorted(ids, allowed)
            if live is not None:
                positions = positions[live[positions]]
            return best(self._stored()[positions] @ query, ids[positions], k)
        if self.kind == "flat":
            scores = self._stored() @ query
            if live is not None and not live.all():
                return best(scores[live], ids[live], k)
            return best(scores, ids, k)
        dead = 0 if live is None else int((~live).sum())
        wanted = min(k + dead, len(self))
        if wanted <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        self._ensure_graph()
        scores, found = self.graph.search(query.reshape(1, -1), wanted,
                                          params=faiss.SearchParametersHNSW(efSearch=max(breadth or self.ef_search, wanted)))
        keep = found[0] >= 0
        scores, found = scores[0][keep], found[0][keep]
        if dead:
            alive = live[np.searchsorted(ids, found)]
            scores, found = scores[alive], found[alive]
        return scores[:k], found[:k]

    def _stored(self) -> np.ndarray:
        """FAISS's own storage of the vectors as a NumPy view (no copy), in storage order.

        Scoring one query with NumPy over it skips FAISS's thread start-up, which dominates at
        10k vectors (0.6 ms instead of 2.0 ms on 2 cores); the answer is the same.
        """
        import faiss

        flat = faiss.downcast_index(self.exact.index)
        return faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)

    def _ensure_graph(self) -> None:
        import faiss

        if self.graph is not None and not self._graph_stale:
            return
        hnsw = faiss.IndexHNSWFlat(self.dimension, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = BUILD_BREADTH
        graph = faiss.IndexIDMap(hnsw)
        ids = self.ids()
        if len(ids):
            graph.add_with_ids(self._stored(), ids)  # in storage order, as ids() gives them: no copy
        self.graph, self._graph_stale = graph, False

    def save(self, folder: Path, name: str) -> None:
        import faiss

        faiss.write_index(self.exact, str(folder / f"{name}.faiss"))
        if self.kind == "hnsw":
            self._ensure_graph()
            faiss.write_index(self.graph, str(folder / f"{name}.hnsw.faiss"))

    @classmethod
    def read(cls, folder: Path, name: str, config) -> "VectorIndex":
        """The index saved as `name` in `folder` by `save`, its vectors memory-mapped (read-only:
        the pages are read as searches touch them, and shared by every process that opens it).

        Raises:
            ValueError: the file is not a FAISS index, or its ids are not ascending.
        """
        import faiss

        index = cls(1, config.vector_index, config.hnsw_m, config.hnsw_ef_search)
        try:
            index.exact = faiss.read_index(str(folder / f"{name}.faiss"), faiss.IO_FLAG_MMAP_IFC)
            graph = folder / f"{name}.hnsw.faiss"
            if config.vector_index == "hnsw" and graph.is_file():
                # its neighbour lists are copied into memory (about 0.05 s and 260 MB a million
                # vectors): done in the background (FAISS lets go of the GIL), so opening returns and a
                # process loads its query encoder meanwhile; the first search that needs it waits
                index._graph_reading = _reader().submit(faiss.read_index, str(graph), faiss.IO_FLAG_MMAP_IFC)
                index._graph_stale = False
        except RuntimeError as exc:
            raise ValueError(f"{name}.faiss is not a FAISS index: {str(exc).splitlines()[0]}") from None
        index.dimension, index.mapped = index.exact.d, True
        if index._by_id() is not None:
            raise ValueError(f"{name}.faiss holds ids out of order")
        return index


@functools.lru_cache(maxsize=1)
def _reader() -> ThreadPoolExecutor:
    """One thread that reads graph files (exit waits for a read under way, never cuts it)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="hyperamy-graph")


def best(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k highest (scores, ids), best first; equal scores in ascending id order.

    Ties are broken by id, not by storage order, so the answer does not depend on how documents
    are split into segments or shards.
    """
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    if k < len(scores):
        kth = scores[np.argpartition(-scores, k - 1)[k - 1]]
        keep = np.flatnonzero(scores >= kth)  # every tie at the boundary, so the id decides among them
        scores, ids = scores[keep], ids[keep]
    order = np.lexsort((ids, -scores))[:k]
    return scores[order].astype(np.float32), ids[order]
