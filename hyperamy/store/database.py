"""DuckDB over the segments' docs.parquet files: texts, metadata, filters.

Each snapshot of an index gets its own in-memory DuckDB database whose `documents` view reads the
snapshot's segment files and holds only its live documents (the tombstones applied: a deleted
document stays in its segment's file until compaction, never in this view). A user's `--where`
condition is one expression over that view, checked on DuckDB's own parse tree before it runs
(store/sql.py `condition`): no subquery (so no FROM, no table function, no other view, no file), no catalog or
setting function. It runs on its own connection, with a time limit (FILTER_SECONDS, interrupted)
and the database's memory limit (MEMORY_LIMIT), so a slow filter holds up nothing else; a server
also stops it when its client goes away (`cancelled_by`).
The database reads only the snapshot's own files (DuckDB's `allowed_paths`, external access off).
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import threading
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from hyperamy.errors import CancelledError, IndexStateError, InputError
from hyperamy.store.files import connect, interrupted
from hyperamy.store.sql import condition, literal

log = logging.getLogger(__name__)

MEMORY_LIMIT = "1GB"  # DuckDB's memory_limit for one snapshot's queries
FILTER_SECONDS = 10.0  # a --where running longer is interrupted ($HYPERAMY_FILTER_SECONDS)
EMPTY = ("SELECT NULL::BIGINT AS row, NULL::VARCHAR AS id, NULL::VARCHAR AS text, NULL::VARCHAR AS hash, "
         "NULL::FLOAT AS kappa, NULL::VARCHAR AS emotion, NULL::VARCHAR[] AS emotions WHERE false")


class Store:
    """Read-only SQL over some docs.parquet files (hits are fetched from segments' hits files)."""

    def __init__(self, root: Path, files: Sequence[Path], mention_files: Sequence[Path] = (),
                 deleted: np.ndarray | None = None):
        self._lock = threading.Lock()  # a DuckDB connection serves one query at a time
        self._opening = threading.Lock()
        self._files, self._mention_files = list(files), list(mention_files)
        self._deleted = np.asarray(deleted if deleted is not None else [], np.int64)
        self._db = None
        self._closed = False
        self.has_mentions = bool(mention_files)

    @property
    def db(self):
        """The snapshot's database, made on first use: a search without --where, and `get`, read
        the segments' own files and never need it (DuckDB's import and views cost a search
        process 0.12 s of its 0.49 s at 100,000 passages, benchmarks/million.py).

        Raises:
            IndexStateError: DuckDB cannot read the files, or the store was closed.
        """
        if self._db is None:
            with self._opening:
                if self._closed:
                    raise IndexStateError("the index's documents cannot be read: this snapshot was closed")
                if self._db is None:
                    self._db = self._connect()
        return self._db

    def bind(self) -> None:
        """Make the database now: a file DuckDB refuses raises here (a writer checks a commit's files)."""
        self.db  # noqa: B018

    def _connect(self):
        import duckdb

        try:
            db = connect({"threads": 1, "memory_limit": MEMORY_LIMIT})
        except duckdb.Error as exc:
            raise IndexStateError(f"the index's documents cannot be read: {str(exc).splitlines()[0]}") from None
        try:
            files, mention_files = self._files, self._mention_files
            if files:
                source = f"SELECT * FROM read_parquet([{_paths(files)}], union_by_name = true)"
            else:
                source = EMPTY
            # every stored version, deleted ones included: only this module reads it (versions())
            db.execute(f"CREATE VIEW docs AS {source}")
            # copied into a table, which every cursor sees (a registered array is this connection's
            # alone); DuckDB scans the NumPy array itself: 18 ms for 1M rows, and no pyarrow import
            db.register("deleted_array", {"row": self._deleted})
            db.execute("CREATE TABLE deleted_rows AS SELECT row FROM deleted_array")
            db.unregister("deleted_array")
            db.execute("CREATE VIEW documents AS SELECT row AS _row, * EXCLUDE (row, hash) FROM docs "
                       "WHERE row NOT IN (SELECT row FROM deleted_rows)")
            if mention_files:  # entity mentions (segments.write_mentions), joined to documents by row
                db.execute(f"CREATE VIEW mentions AS SELECT * FROM read_parquet([{_paths(mention_files)}])")
            readable = [str(Path(f).resolve()) for f in [*files, *mention_files]]
            db.execute("SET allowed_paths = [" + ", ".join(literal(p) for p in readable) + "]")
            db.execute("SET enable_external_access = false")
            db.execute("SET lock_configuration = true")
        except duckdb.Error as exc:
            db.close()
            raise IndexStateError(f"the index's documents cannot be read: {str(exc).splitlines()[0]}; "
                                  "run `hyperamy check`") from None
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        with self._opening, self._lock:
            self._closed = True
            if self._db is not None:
                self._db.close()

    def columns(self) -> list[str]:
        """The documents view's column names: `_row`, id, text, the stored fields, the metadata."""
        _, names = self.query("SELECT * FROM documents LIMIT 0")
        return names

    def query(self, sql: str, params: list | None = None):
        """(rows, column names) of one of hyperamy's own queries (a user's condition goes through
        `filter_rows` or `select`)."""
        import duckdb

        with self._lock:
            try:
                result = self.db.execute(sql, params or [])
                return result.fetchall(), [d[0] for d in result.description]
            except (RuntimeError, duckdb.InterruptException) as exc:
                if interrupted(exc):  # Ctrl-C while DuckDB ran: the caller keeps what was committed, exit 130
                    raise KeyboardInterrupt from None
                raise
            except duckdb.Error as exc:
                message = str(exc).splitlines()[0]
                raise IndexStateError(f"the index's documents cannot be read: {message}; "
                                      "run `hyperamy check`") from None

    def versions(self, ids: Sequence[str]) -> list[tuple[str, int, str]]:
        """(id, row, content hash) of every stored version of these ids, deleted ones included."""
        if not ids:
            return []
        found, _ = self.query("SELECT id, row, hash FROM docs WHERE id IN (SELECT unnest(?))", [list(ids)])
        return [(i, int(r), h) for i, r, h in found]

    def filter_rows(self, where: str | None = None, emotions: Sequence[str] | None = None) -> np.ndarray | None:
        """Sorted live rows passing a user's SQL condition over `documents` and an emotion filter.

        Returns None when there is nothing to filter on.

        Raises:
            InputError: the condition is not one allowed expression, fails, or runs too long.
        """
        clauses, params = [], []
        if where:
            clauses.append(self.condition(where))
        if emotions:
            clauses.append("(list_has_any(emotions, ?) OR list_contains(?, emotion))")
            params += [list(emotions), list(emotions)]
        if not clauses:
            return None
        found = self._filter(f"SELECT _row FROM documents WHERE {' AND '.join(clauses)} ORDER BY _row", params,
                             where or "")
        return np.asarray([r[0] for r in found], np.int64)

    def select(self, where: str, sql: str, params: list | None = None) -> list[tuple]:
        """Run `sql`, whose WHERE holds `self.condition(where)`, as a user's filter: on its own
        connection, within the time limit."""
        return self._filter(sql, params or [], where)

    def condition(self, where: str) -> str:
        """A user's --where as one checked, parenthesised SQL expression (see `condition`)."""
        with self._lock:
            return condition(where, self.db)

    def _filter(self, sql: str, params: list, where: str) -> list[tuple]:
        import duckdb

        seconds = _filter_seconds()
        with self._lock:
            cursor = self.db.cursor()  # its own connection: other queries go on meanwhile
        cancel, finished, why = _CANCEL.get(), threading.Event(), []

        def watch() -> None:  # interrupts the query at the time limit, or when its asker goes away
            deadline = time.monotonic() + seconds
            while not finished.wait(min(0.1, max(0.0, deadline - time.monotonic()))):
                if cancel is not None and cancel.is_set():
                    why.append("cancelled")
                elif time.monotonic() >= deadline:
                    why.append("time")
                else:
                    continue
                cursor.interrupt()
                return

        watcher = threading.Thread(target=watch, name="hyperamy-filter-watch", daemon=True)
        watcher.start()
        try:
            return cursor.execute(sql, params).fetchall()
        except (RuntimeError, duckdb.InterruptException) as exc:
            if not why:  # not our watcher: Ctrl-C, or another runtime failure
                if interrupted(exc):
                    raise KeyboardInterrupt from None
                raise
            if why == ["cancelled"]:
                log.info("--where %r stopped: its client went away", where)
                raise CancelledError(f"--where {where!r}: stopped, its client went away") from None
            raise InputError(f"--where {where!r}: stopped after {seconds:g} s; make the condition simpler "
                             "(the limit is $HYPERAMY_FILTER_SECONDS)") from None
        except duckdb.OutOfMemoryException:
            raise InputError(f"--where {where!r}: needs more than the {MEMORY_LIMIT} a filter may use") from None
        except duckdb.Error as exc:
            raise InputError(f"--where {where!r}: {str(exc).splitlines()[0]}") from None
        finally:
            finished.set()
            watcher.join()
            cursor.close()

    def documents(self, rows: np.ndarray) -> tuple[list[tuple], list[str]]:
        """Rows of the `documents` view for some rows, ascending (for listing and export)."""
        return self.query("SELECT * FROM documents WHERE _row = ANY(?) ORDER BY _row", [[int(r) for r in rows]])


def readable_documents(root: Path, files: Sequence[Path], mention_files: Sequence[Path]) -> int:
    """How many documents DuckDB reads from some segments' files (texts, and mentions), read as a
    snapshot reads them.

    Raises:
        IndexStateError: DuckDB cannot read them.
    """
    store = Store(root, files, mention_files)
    try:
        found, _ = store.query("SELECT count(*) FROM docs")
    finally:
        store.close()
    return int(found[0][0])


def _paths(files: Sequence[Path]) -> str:
    """File names as a list of SQL string literals."""
    return ", ".join(literal(f) for f in files)


_CANCEL: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar("hyperamy_filter_cancel",
                                                                                default=None)


@contextlib.contextmanager
def cancelled_by(event: threading.Event):
    """Filters run inside this block stop (CancelledError) once `event` is set: a server sets it
    when the client that asked goes away."""
    token = _CANCEL.set(event)
    try:
        yield
    finally:
        _CANCEL.reset(token)


def _filter_seconds() -> float:
    value = os.environ.get("HYPERAMY_FILTER_SECONDS")
    try:
        seconds = float(value) if value else FILTER_SECONDS
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise InputError(f"HYPERAMY_FILTER_SECONDS must be a positive number of seconds, not {value!r}")
    return seconds


