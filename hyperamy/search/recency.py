"""`--recency FIELD:HALF_LIFE`: scores that fade with a document's age."""
from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np

from hyperamy.errors import InputError
from hyperamy.store import identifier
from hyperamy.view import View, require_local

UNITS = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0, "y": 365.25 * 86400.0}


@dataclasses.dataclass(frozen=True)
class Recency:
    """`--recency FIELD:HALF_LIFE`: a document's score fades by half every HALF_LIFE of age.

    For a date or time field (or ISO text) the age runs to now and HALF_LIFE takes a unit
    (90s, 30m, 12h, 7d, 2w, 1y); for a numeric field (a chapter, a version) the age runs to the
    largest value in the index and HALF_LIFE is in the field's own units. A document whose field
    is empty is not faded.
    """

    view: Any
    field: str
    half_life: float
    unit: str  # "seconds" or "field"
    newest: float

    @classmethod
    def parse(cls, view: View, spec: str) -> "Recency":
        require_local(view, "--recency is")
        field, _, life = spec.rpartition(":")
        if not field or not life:
            raise InputError(f"--recency {spec!r}: give FIELD:HALF_LIFE, e.g. published:30d or chapter:10")
        names = view.store.columns()
        if field not in names or field == "_row":
            raise InputError(f"--recency: {field!r} is not a field of this index; its fields are "
                             f"{', '.join(n for n in names if n != '_row')}")
        kind = cls._kind(view, field)
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-z]*)\s*", life.lower())
        if not match or float(match.group(1)) <= 0:
            raise InputError(f"--recency {spec!r}: the half-life must be a positive number, with a unit for "
                             "dates (s, m, h, d, w, y)")
        number, unit = float(match.group(1)), match.group(2)
        if kind == "field":
            if unit:
                raise InputError(f"--recency {spec!r}: {field} holds numbers, so the half-life is a plain number "
                                 "in its units")
            found, _ = view.store.query(f"SELECT max({identifier(field)}) FROM documents")
            return cls(view, field, number, kind, float(found[0][0] or 0.0))
        if unit not in UNITS:
            raise InputError(f"--recency {spec!r}: {field} holds dates, so the half-life needs a unit: "
                             "s, m, h, d, w or y (e.g. 30d)")
        column = identifier(field)
        bad, _ = view.store.query(f"SELECT {column} FROM documents WHERE {column} IS NOT NULL "
                                  f"AND TRY_CAST({column} AS TIMESTAMP) IS NULL LIMIT 1")
        if bad:
            raise InputError(f"--recency: {field!r} holds text that is not a date, such as {str(bad[0][0])[:40]!r}; "
                             "give a date or time field (ISO text like 2026-12-02 counts)")
        import time

        return cls(view, field, number * UNITS[unit], kind, time.time())

    @property
    def age_unit(self) -> str:
        """What a hit's `age` counts: days to now for dates, else the field's own units below its largest value."""
        return "days" if self.unit == "seconds" else f"{self.field} below the largest ({self.newest:g})"

    @staticmethod
    def _kind(view, field: str) -> str:
        found, _ = view.store.query(f"SELECT typeof({identifier(field)}) FROM documents "
                                    f"WHERE {identifier(field)} IS NOT NULL LIMIT 1")
        kind = found[0][0] if found else "NULL"
        if kind in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE") or \
                kind.startswith("DECIMAL") or kind.startswith("UINTEGER") or kind.startswith("UBIGINT"):
            return "field"
        if kind.startswith("TIMESTAMP") or kind in ("DATE", "VARCHAR"):
            return "seconds"
        raise InputError(f"--recency: {field!r} holds {kind}; it needs numbers, dates or ISO date text")

    def decay(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(decay factor, age: in days for dates, in the field's units for numbers, the log of the
        decay) of each row; an empty field gives (1, NaN, 0).

        The log is computed as -ln 2 x age / half-life, never as log(0.5 ** ...): past ~1,074
        half-lives the power underflows to 0 and its log to -inf, which would collapse the ranking.
        """
        column = identifier(self.field)
        value = (f"epoch(CAST({column} AS TIMESTAMP))" if self.unit == "seconds" else f"CAST({column} AS DOUBLE)")
        found, _ = self.view.store.query(f"SELECT _row, {value} FROM documents WHERE _row = ANY(?)",
                                         [[int(r) for r in rows]])  # dates were checked by parse()
        ages = dict(found)
        age = np.asarray([np.nan if ages.get(int(r)) is None else max(self.newest - float(ages[int(r)]), 0.0)
                          for r in rows], np.float64)
        log_decay = -np.log(2.0) * np.nan_to_num(age) / self.half_life
        return np.exp(log_decay), age / (86400.0 if self.unit == "seconds" else 1.0), log_decay
