"""DuckDB over the segments' docs.parquet files (the only import of duckdb): texts, metadata, filters.

Each snapshot of an index gets its own in-memory DuckDB connection whose `documents` view reads
the snapshot's segment files. The connection can read only the index folder (DuckDB's
`allowed_directories` with external access off), so a `--where` condition cannot touch any
other file. Deleted documents are still in their segments' files until compaction; callers
drop their rows (the index's tombstones) from what comes back here.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from hyperamy.errors import IndexStateError, InputError

EMPTY = ("SELECT NULL::BIGINT AS row, NULL::VARCHAR AS id, NULL::VARCHAR AS text, NULL::VARCHAR AS hash, "
         "NULL::FLOAT AS kappa, NULL::VARCHAR AS emotion, NULL::VARCHAR[] AS emotions WHERE false")


class Store:
    """Read-only SQL over some docs.parquet files (hits are fetched from segments' hits files)."""

    def __init__(self, root: Path, files: Sequence[Path], mention_files: Sequence[Path] = ()):
        import duckdb

        self._lock = threading.Lock()  # a DuckDB connection serves one query at a time
        self.db = duckdb.connect(config={"threads": 1})
        if files:
            source = f"SELECT * FROM read_parquet([{_paths(files)}], union_by_name = true)"
        else:
            source = EMPTY
        self.db.execute(f"CREATE VIEW docs AS {source}")
        self.db.execute("CREATE VIEW documents AS SELECT row AS _row, * EXCLUDE (row, hash) FROM docs")
        if mention_files:  # entity mentions (segments.write_mentions), joined to documents by row
            self.db.execute(f"CREATE VIEW mentions AS SELECT * FROM read_parquet([{_paths(mention_files)}])")
        self.has_mentions = bool(mention_files)
        root = str(Path(root).resolve()).replace("'", "''")
        self.db.execute(f"SET allowed_directories = ['{root}']")
        self.db.execute("SET enable_external_access = false")
        self.db.execute("SET lock_configuration = true")

    def query(self, sql: str, params: list | None = None, where: str | None = None):
        """(rows, column names) of a query; an error names `where` when the query carries one."""
        import duckdb

        with self._lock:
            try:
                result = self.db.execute(sql, params or [])
                return result.fetchall(), [d[0] for d in result.description]
            except duckdb.Error as exc:
                message = str(exc).splitlines()[0]
                if where is not None:
                    raise InputError(f"--where {where!r}: {message}") from None
                raise IndexStateError(f"the index's documents cannot be read: {message}; "
                                      "run `hyperamy check`") from None

    def versions(self, ids: Sequence[str]) -> list[tuple[str, int, str]]:
        """(id, row, content hash) of every stored version of these ids, deleted ones included."""
        if not ids:
            return []
        found, _ = self.query("SELECT id, row, hash FROM docs WHERE id IN (SELECT unnest(?))", [list(ids)])
        return [(i, int(r), h) for i, r, h in found]

    def filter_rows(self, where: str | None = None, emotions: Sequence[str] | None = None) -> np.ndarray | None:
        """Sorted rows passing a read-only SQL condition over `documents` and an emotion filter.

        Returns None when there is nothing to filter on.
        """
        clauses, params = [], []
        if where:
            clauses.append(condition(where))
        if emotions:
            clauses.append("(list_has_any(emotions, ?) OR list_contains(?, emotion))")
            params += [list(emotions), list(emotions)]
        if not clauses:
            return None
        found, _ = self.query(f"SELECT _row FROM documents WHERE {' AND '.join(clauses)} ORDER BY _row", params,
                              where or "")
        return np.asarray([r[0] for r in found], np.int64)

    def documents(self, rows: np.ndarray) -> tuple[list[tuple], list[str]]:
        """Rows of the `documents` view for some rows, ascending (for listing and export)."""
        return self.query("SELECT * FROM documents WHERE _row = ANY(?) ORDER BY _row", [[int(r) for r in rows]])


def _paths(files: Sequence[Path]) -> str:
    """File names as a list of SQL string literals."""
    return ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)


def identifier(name: str) -> str:
    """A column name quoted for SQL, whatever it holds ("intensity_anger", "my field")."""
    return '"' + name.replace('"', '""') + '"'


def condition(where: str) -> str:
    """A user's --where condition as one parenthesised SQL expression it cannot escape.

    DuckDB's own tokenizer reads it: its parentheses must balance outside string literals and
    it may hold no comment (which could hide a closing parenthesis). Anything else, including a
    statement, is then a syntax error inside the parentheses.
    """
    import duckdb

    if not where.strip():
        raise InputError("--where is empty")
    tokens = duckdb.tokenize(where)
    depth = 0
    for i, (start, kind) in enumerate(tokens):
        end = tokens[i + 1][0] if i + 1 < len(tokens) else len(where)
        text = where[start:end]
        if kind == duckdb.token_type.comment:
            raise InputError(f"--where {where!r}: comments are not allowed")
        if kind == duckdb.token_type.operator:
            if ";" in text:
                raise InputError(f"--where {where!r}: takes one boolean expression, not statements "
                                 "(no ';' outside quotes)")
            for char in text:
                depth += {"(": 1, ")": -1}.get(char, 0)
                if depth < 0:
                    raise InputError(f"--where {where!r}: a ')' closes more than the condition opened")
    if depth:
        raise InputError(f"--where {where!r}: unbalanced parentheses")
    return f"({where}\n)"
