"""JSON as hyperamy writes it everywhere (CLI, HTTP, export): strict, and plain.

Dates and times become ISO 8601 text, NumPy numbers plain numbers, and numbers JSON cannot hold
(NaN, infinity) become null, so every line parses with any JSON reader, not only Python's.
"""
from __future__ import annotations

import datetime
import decimal
import json
import math
from typing import Any


def plain(value: Any) -> Any:
    """`value` with everything JSON lacks turned into what it can hold."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return plain(float(value))
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return plain(value.tolist())
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def dumps(value: Any) -> str:
    """One line of strict JSON (UTF-8 text, not ASCII escapes)."""
    return json.dumps(plain(value), ensure_ascii=False, allow_nan=False)
