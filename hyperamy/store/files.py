"""SQL over files outside any snapshot: streaming rows, counting, copying (input files, merges, repairs).

Each call has its own DuckDB connection (one thread), closed when its rows are consumed or the
caller stops early. DuckDB's errors come out as FileQueryError, so no other module imports DuckDB.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence


def connect(config: dict):
    """A new in-memory DuckDB connection that draws no progress bar of its own (on a terminal
    DuckDB draws one for any query over 2 s, across hyperamy's progress line: seen in a merge)."""
    import duckdb

    connection = duckdb.connect(config=config)
    connection.execute("SET enable_progress_bar = false")
    return connection


class FileQueryError(Exception):
    """DuckDB could not read or write a file; str() is its first line."""


def interrupted(exc: BaseException) -> bool:
    """Whether DuckDB stopped a query because the process got SIGINT. It says so with an
    InterruptException (a duckdb.Error) or a RuntimeError "Query interrupted", and Python's
    KeyboardInterrupt is gone by then: callers raise one again, so Ctrl-C is never read as a file
    that cannot be read, nor lost."""
    import duckdb

    return isinstance(exc, duckdb.InterruptException) or (isinstance(exc, RuntimeError)
                                                           and str(exc).startswith("Query interrupted"))


def _failure(exc: Exception) -> BaseException:
    """What to raise for an exception DuckDB raised: KeyboardInterrupt for Ctrl-C, FileQueryError
    for its own errors, anything else as it was."""
    import duckdb

    if interrupted(exc):
        return KeyboardInterrupt()
    if isinstance(exc, duckdb.Error):
        return FileQueryError(str(exc).splitlines()[0])
    return exc


def rows(sql: str, params: Sequence = (), chunk: int = 4096, threads: int | None = 1) -> Iterator[dict]:
    """Each row of a query, as {column: value}, fetched `chunk` at a time (large files stream);
    `threads` None lets DuckDB use every core.

    Raises:
        FileQueryError: DuckDB refused the query or a file it reads.
    """
    import duckdb

    connection = connect({} if threads is None else {"threads": threads})
    try:
        try:
            result = connection.execute(sql, list(params))
            columns = [d[0] for d in result.description]
            while batch := result.fetchmany(chunk):
                for values in batch:
                    yield dict(zip(columns, values))
        except (duckdb.Error, RuntimeError) as exc:
            raise _failure(exc) from None
    finally:
        connection.close()


def value(sql: str, params: Sequence = ()):
    """The first column of a query's first row.

    Raises:
        FileQueryError: DuckDB refused the query or a file it reads.
    """
    for row in rows(sql, params, chunk=1):
        return next(iter(row.values()))
    return None


def copy_parquet(sql: str, params: Sequence, target: Path, row_group: int) -> None:
    """Write a query's rows to a Parquet file (zstd, `row_group` rows a group).

    Raises:
        FileQueryError: DuckDB refused the query, a file it reads, or the target.
    """
    import duckdb

    from hyperamy.store.sql import literal

    connection = connect({"threads": 1})
    try:
        connection.execute(f"COPY ({sql}) TO {literal(target)} (FORMAT parquet, ROW_GROUP_SIZE {int(row_group)}, "
                           "COMPRESSION zstd)", list(params))
    except (duckdb.Error, RuntimeError) as exc:
        raise _failure(exc) from None
    finally:
        connection.close()
