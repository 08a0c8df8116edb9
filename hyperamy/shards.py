"""Sharded search on Ray: each shard, a Ray actor, holds some of an index's segments.

A query fans out to every shard and is ranked once, by the same code as an unsharded search
(search.rank): the vector legs merge each shard's top candidates, keyword scores use statistics
summed over all shards (document count, lengths, document frequencies), and fusion runs after
the merge. So the hits do not depend on the number of shards. Ray is imported only here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from hyperamy import lexical, persist
from hyperamy.analyzer import analyzer
from hyperamy.errors import HyperamyError, IndexStateError
from hyperamy.segments.feelings import Feelings
from hyperamy.vectors import best


def connect(address: str | None = None, num_cpus: int | None = None):
    """Start a local Ray instance (address None or "auto" with none running) or join a cluster.

    Raises:
        HyperamyError: the cluster at `address` cannot be reached.
    """
    import ray

    if ray.is_initialized():
        return ray
    if address not in (None, "", "local", "auto"):
        _reachable(address)
    try:
        if address in (None, "", "local"):
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, logging_level=_ray_log_level())
        else:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=_ray_log_level())
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise HyperamyError(f"cannot reach the Ray cluster at {address!r}: {str(exc).splitlines()[0]}") from None
    return ray


def _reachable(address: str, seconds: float = 5.0) -> None:
    """Fail fast on an address nothing answers at (Ray itself waits minutes before it gives up)."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=seconds):
            return
    except (OSError, ValueError) as exc:
        raise HyperamyError(f"cannot reach the Ray cluster at {address!r}: {exc}; give its head node's "
                            "HOST:PORT, or leave --ray out to start a local one") from None


class Shard:
    """The part of an index one actor serves: a snapshot of some of its segments."""

    def __init__(self, folder: str, names: Sequence[str]):
        from hyperamy import snapshot

        manifest = persist.read_manifest(Path(folder))
        self.view = snapshot.load(Path(folder), persist.stored_config(Path(folder), manifest), only=set(names))
        self.live = self.view.live_rows()  # the snapshot never changes: computed once

    def count(self) -> int:
        return len(self.view)

    def state(self) -> tuple[int, list[str]]:
        """(the commit it loaded, the names of the segments it holds)."""
        return int(self.view.manifest["commit"]), sorted(segment.name for segment in self.view.segments)

    def statistics(self, query: str) -> dict:
        return self.view.keyword.statistics(query)

    def keyword_scores(self, query: str, statistics: dict):
        return self.view.keyword.scores(query, statistics)

    def search(self, which: str, query: np.ndarray, k: int, allowed, breadth=None):
        return self.view.search(which, query, k, None if allowed is None else self._mine(allowed), breadth)

    def feelings(self, rows):
        """(which of `rows` this shard holds, their kappa, probabilities, strength, affect), in one answer."""
        return (np.isin(rows, self.live), *self.view.feelings(rows))

    def vectors(self, which: str, rows):
        """(which of `rows` this shard holds, their vectors)."""
        return np.isin(rows, self.live), self.view.vectors(which, rows)

    def filter_rows(self, where, emotions):
        found = self.view.store.filter_rows(where, emotions)
        return None if found is None else self.view.alive(found)

    def fetch(self, rows):
        return self.view.fetch(self._mine(np.asarray(rows, np.int64)))

    def _mine(self, rows: np.ndarray) -> np.ndarray:
        return np.intersect1d(rows, self.live)


class ShardedView:
    """What search.search and search.rank read from a snapshot, gathered from shard actors (a view.View)."""

    sharded = True

    def __init__(self, ray, actors, manifest: dict, reader):
        self.ray, self.actors, self.manifest = ray, actors, manifest
        self.store, self.keyword = _Store(self), _Keywords(self, reader)
        self.count = sum(self._all("count"))

    def __len__(self) -> int:
        return self.count

    def _all(self, method: str, *args):
        try:
            return self.ray.get([getattr(actor, method).remote(*args) for actor in self.actors])
        except self.ray.exceptions.RayError as exc:
            raise HyperamyError(f"a search shard failed: {str(exc).splitlines()[0]}") from None

    def alive(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(rows, np.int64)  # the shards return live rows only

    def fetch(self, rows) -> dict[int, dict]:
        found = {}
        for part in self._all("fetch", rows):
            found.update(part)
        return found

    def search(self, which: str, query: np.ndarray, k: int, allowed, breadth=None):
        parts = self._all("search", which, query, k, allowed, breadth)
        scores = np.concatenate([s for s, _ in parts]) if parts else np.zeros(0, np.float32)
        rows = np.concatenate([r for _, r in parts]) if parts else np.zeros(0, np.int64)
        return best(scores, rows, k)

    def feelings(self, rows: np.ndarray):
        kappa, probs = np.zeros(len(rows), np.float32), np.zeros((len(rows), 28), np.float32)
        strength, affect = np.zeros(len(rows), np.float32), np.zeros((len(rows), 3), np.float32)
        for here, part_kappa, part_probs, part_strength, part_affect in self._all("feelings", rows):
            kappa[here], probs[here], strength[here] = part_kappa[here], part_probs[here], part_strength[here]
            affect[here] = part_affect[here]
        return Feelings(kappa, probs, strength, affect)

    def vectors(self, which: str, rows: np.ndarray) -> np.ndarray:
        out = None
        for here, part in self._all("vectors", which, rows):
            if part.shape[1]:  # a shard holding none of the rows answers with no columns
                if out is None:
                    out = np.zeros((len(rows), part.shape[1]), np.float32)
                out[here] = part[here]
        return out if out is not None else np.zeros((len(rows), 0), np.float32)


class _Keywords:
    def __init__(self, view: ShardedView, reader):
        self.view, self.analyzer = view, reader  # the index's analyzer.Analyzer, as each shard reads it

    def statistics(self, query: str) -> dict:
        """KeywordScorer.statistics of the whole index, added up over its shards."""
        return lexical.combine(self.view._all("statistics", query))

    def scores(self, query: str, statistics: dict | None = None):
        """KeywordScorer.scores over every shard, with the whole index's statistics (read here if not given)."""
        statistics = self.statistics(query) if statistics is None else statistics
        parts = self.view._all("keyword_scores", query, statistics)
        rows = np.concatenate([r for r, _ in parts])
        scores = np.concatenate([s for _, s in parts])
        order = np.argsort(rows, kind="stable")
        return rows[order], scores[order]


class _Store:
    def __init__(self, view: ShardedView):
        self.view = view

    def filter_rows(self, where=None, emotions=None):
        parts = self.view._all("filter_rows", where, emotions)
        return None if parts[0] is None else np.sort(np.concatenate(parts))



def assign(manifest: dict, shards: int) -> list[list[str]]:
    """Segments to shards, largest first onto the least filled shard (sizes stay even)."""
    if shards < 1:
        raise HyperamyError("--shards must be at least 1")
    groups: list[list[str]] = [[] for _ in range(shards)]
    filled = [0] * shards
    for entry in sorted(manifest["segments"], key=lambda e: -e["documents"]):
        least = int(np.argmin(filled))
        groups[least].append(entry["name"])
        filled[least] += entry["documents"]
    return [group for group in groups if group]


ATTEMPTS = 5  # openings tried while writes keep replacing the segments the shards were given


def open_sharded(engine, shards: int, ray):
    """A view of `engine`'s index, as it is now, served by `shards` actors (fewer if it has
    fewer segments).

    Each actor loads the manifest itself; one that finds another commit than the one its
    segments were chosen from (a write came between) would serve a part of the index, so the
    shards are opened again on the newer commit.

    Raises:
        IndexStateError: the index is empty, or kept changing while the shards opened.
    """
    actor = ray.remote(Shard)
    for _ in range(ATTEMPTS):
        manifest = engine.refresh().manifest
        if not manifest.get("segments"):
            raise IndexStateError(f"index {engine.folder} is empty")
        groups = assign(manifest, shards)
        actors = [actor.remote(str(engine.folder), names) for names in groups]
        view = ShardedView(ray, actors, manifest, analyzer(engine.stored_config.analyzer))
        states = view._all("state")
        if all(commit == manifest["commit"] and held == sorted(names)
               for (commit, held), names in zip(states, groups)) and len(view) == manifest["counts"]["documents"]:
            return view
        for handle in actors:
            ray.kill(handle)
    raise IndexStateError(f"index {engine.folder} changed {ATTEMPTS} times while its search shards were opening; "
                          "try again when writes pause")


def _ray_log_level() -> int:
    """Ray's own start-up messages only with --debug (hyperamy logging at DEBUG); errors always."""
    import logging

    return logging.INFO if logging.getLogger("hyperamy").isEnabledFor(logging.DEBUG) else logging.ERROR
