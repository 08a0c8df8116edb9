"""DuckDB schema and queries (the only import of duckdb): ids, texts, emotions and metadata."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from hyperamy.errors import DataFormatError, IndexStateError, InputError

# Columns of the `documents` view that metadata may not shadow; such fields get a meta_ prefix.
RESERVED = {"_row", "row", "id", "text", "hash", "kappa", "emotion", "emotions", "probs"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (row BIGINT, id VARCHAR, text VARCHAR, hash VARCHAR, kappa FLOAT,
                                 emotion VARCHAR, emotions VARCHAR[], probs FLOAT[28]);
CREATE TABLE IF NOT EXISTS meta (row BIGINT);
CREATE INDEX IF NOT EXISTS docs_row ON docs (row);
"""
# docs_row lets a search fetch its hits by index lookups instead of a scan (up to 122,880 rows
# make one row group, whose zone map prunes nothing; benchmarks/query_latency.py times the fetch).
# meta has no index: DuckDB cannot add columns to an indexed table.



def metadata_column(name: str) -> str:
    return f"meta_{name}" if name.lower() in RESERVED else name


class Store:
    """One DuckDB file. Writers use a read-write connection; searches a read-only, sandboxed one."""

    def __init__(self, path: Path, read_only: bool):
        import duckdb

        self.path, self.read_only = path, read_only
        self._metadata_columns: list[str] | None = None  # cached on read-only connections
        config = {"enable_external_access": False, "threads": 1} if read_only else {}
        try:
            self.db = duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.Error as exc:
            raise IndexStateError(f"cannot open {path}: {str(exc).splitlines()[0]}") from exc
        if not read_only:
            self.db.execute(SCHEMA)
            self._refresh_view()

    def close(self) -> None:
        self.db.close()

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM docs").fetchall()[0][0])

    def hashes(self, ids: Sequence[str]) -> dict[str, tuple[int, str]]:
        """id -> (row, content hash) for those ids that are stored."""
        if not ids:
            return {}
        result = self.db.execute("SELECT id, row, hash FROM docs WHERE id IN (SELECT unnest(?))", [list(ids)])
        return {i: (int(r), h) for i, r, h in result.fetchall()}

    def rows_of(self, ids: Sequence[str]) -> dict[str, int]:
        return {i: row for i, (row, _) in self.hashes(ids).items()}

    def delete_rows(self, rows: Sequence[int]) -> None:
        if len(rows):
            for table in ("docs", "meta"):
                self.db.execute(f"DELETE FROM {table} WHERE row IN (SELECT unnest(?))", [list(map(int, rows))])

    def insert(self, rows: np.ndarray, records, kappa: np.ndarray, emotion: list[str],
               emotions: list[list[str]], probs: np.ndarray) -> None:
        """Append documents and their metadata (new metadata fields become new columns)."""
        import pyarrow as pa

        docs = pa.table({
            "row": np.asarray(rows, np.int64), "id": [r.id for r in records], "text": [r.text for r in records],
            "hash": [r.content_hash for r in records], "kappa": np.asarray(kappa, np.float32),
            "emotion": emotion, "emotions": emotions,
            "probs": pa.FixedSizeListArray.from_arrays(pa.array(np.asarray(probs, np.float32).ravel()), 28),
        })
        self._append("docs", docs)
        self._append("meta", self._metadata_table(rows, records))

    def _metadata_table(self, rows: np.ndarray, records):
        import pyarrow as pa

        names: dict[str, None] = {}
        for record in records:
            names.update(dict.fromkeys(record.metadata))
        columns: dict[str, Any] = {"row": np.asarray(rows, np.int64)}
        for name in names:
            values = [record.metadata.get(name) for record in records]
            try:
                columns[metadata_column(name)] = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types: keep them as JSON text
                columns[metadata_column(name)] = pa.array([None if v is None else json.dumps(v, default=str)
                                                           for v in values])
        return pa.table(columns)

    def _append(self, table: str, data) -> None:
        import duckdb

        self.db.register("incoming", data)
        try:
            existing = {row[0] for row in self.db.execute(f"DESCRIBE {table}").fetchall()}
            for name, kind, *_ in self.db.execute("DESCRIBE SELECT * FROM incoming").fetchall():
                if name not in existing:
                    kind = "JSON" if kind == '"NULL"' or kind == "NULL" else kind
                    self.db.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {kind}')
            self.db.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
        except duckdb.ConversionException as exc:
            raise DataFormatError(f"a metadata field changes type between documents: {str(exc).splitlines()[0]}") \
                from None
        finally:
            self.db.unregister("incoming")
        self._refresh_view()

    def _refresh_view(self) -> None:
        self.db.execute("""CREATE OR REPLACE VIEW documents AS
            SELECT d.row AS _row, d.id, d.text, d.kappa, d.emotion, d.emotions, m.* EXCLUDE (row)
            FROM docs d LEFT JOIN meta m ON d.row = m.row""")

    def filter_rows(self, where: str | None = None, emotions: Sequence[str] | None = None) -> np.ndarray | None:
        """Rows passing a read-only SQL condition over the `documents` view and an emotion filter.

        Returns None when there is nothing to filter on.
        """
        import duckdb

        clauses, params = [], []
        if where:
            if ";" in where:
                raise InputError("--where takes one boolean expression, not statements (no ';')")
            clauses.append(f"({where})")
        if emotions:
            clauses.append("(list_has_any(emotions, ?) OR list_contains(?, emotion))")
            params += [list(emotions), list(emotions)]
        if not clauses:
            return None
        try:
            result = self.db.execute(f"SELECT _row FROM documents WHERE {' AND '.join(clauses)}", params)
            return np.asarray([r[0] for r in result.fetchall()], np.int64)
        except duckdb.Error as exc:
            raise InputError(f"--where {where!r}: {str(exc).splitlines()[0]}") from None

    def fetch(self, rows: Sequence[int]) -> dict[int, dict]:
        """{"id", "text", "metadata"} of some rows, keyed by row (kappa and emotions live in memory)."""
        if not len(rows):
            return {}
        rows = [int(r) for r in rows]
        found = {r: {"id": i, "text": t, "metadata": {}}
                 for r, i, t in self.db.execute("SELECT row, id, text FROM docs WHERE row = ANY(?)", [rows]).fetchall()}
        if self.metadata_columns():
            result = self.db.execute("SELECT * FROM meta WHERE row = ANY(?)", [rows])
            names = [d[0] for d in result.description]
            for values in result.fetchall():
                fields = dict(zip(names, values))
                row = int(fields.pop("row"))
                if row in found:
                    found[row]["metadata"] = fields
        return found

    def emotion_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Kappa (rows,) and label probabilities (rows, 28) of every row, indexed by row number."""
        # one NumPy column per label: no Arrow conversion, whose import costs a one-off search ~0.25 s
        labels = [f"probs[{i}] AS p{i}" for i in range(1, 29)]
        table = self.db.execute(f"SELECT row, kappa, {', '.join(labels)} FROM docs").fetchnumpy()
        rows = np.asarray(table["row"])
        size = int(rows.max()) + 1 if len(rows) else 0
        kappa = np.ones(size, np.float32)
        probs = np.zeros((size, 28), np.float32)
        kappa[rows] = table["kappa"]
        probs[rows] = np.stack([table[f"p{i}"] for i in range(1, 29)], axis=1)
        return kappa, probs

    def texts(self, chunk: int = 10000) -> Iterator[tuple[np.ndarray, list[str]]]:
        """(rows, texts) of every document, ascending by row, in chunks."""
        result = self.db.execute("SELECT row, text FROM docs ORDER BY row")
        while batch := result.fetchmany(chunk):
            yield np.asarray([r for r, _ in batch], np.int64), [t for _, t in batch]

    def metadata_columns(self) -> list[str]:
        if self.read_only and self._metadata_columns is not None:
            return self._metadata_columns
        names = [row[0] for row in self.db.execute("DESCRIBE meta").fetchall() if row[0] != "row"]
        if self.read_only:
            self._metadata_columns = names
        return names
