"""What a search reads: one protocol met by an index's snapshot in this process (snapshot.Snapshot)
and by the same snapshot spread over Ray actors (shards.ShardedView)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from hyperamy.segments.feelings import Feelings


class View(Protocol):
    """The documents of one snapshot, as search, entities and arcs read them.

    `sharded` says whether the documents are held by other processes: such a view answers
    searches (filters, vectors, feelings, hits) but not SQL over the documents, entity mentions
    or arcs, which need the segments here.
    """

    manifest: dict
    sharded: bool
    store: object  # filter_rows(where, emotions); with sharded False, the whole store.Store
    keyword: object  # scores(text) -> (rows, BM25 scores)

    def __len__(self) -> int: ...

    def alive(self, rows: np.ndarray) -> np.ndarray: ...

    def fetch(self, rows) -> dict[int, dict]: ...

    def search(self, which: str, query: np.ndarray, k: int, allowed: np.ndarray | None,
               breadth: int | None = None) -> tuple[np.ndarray, np.ndarray]: ...

    def feelings(self, rows: np.ndarray) -> Feelings: ...

    def vectors(self, which: str, rows: np.ndarray) -> np.ndarray: ...


def require_local(view: View, what: str) -> None:
    """Raise InputError when `what` needs the segments in this process and the view is sharded."""
    from hyperamy.errors import InputError

    if view.sharded:
        raise InputError(f"{what} not served through search shards yet; open the index without --shards")
