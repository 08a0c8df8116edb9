"""The horizontal axis of an arc along a field: numbers, dates in bins, or plain values."""
from __future__ import annotations

import datetime

import numpy as np

from hyperamy.errors import InputError

BINS = ("day", "week", "month", "year")


def axis_kind(present: list, bin: str | None, points: int) -> tuple[str, str | None]:
    if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in present):
        if all(float(v).is_integer() for v in present):
            return "number", None
        return "value", None
    if all(timestamp(v) is not None for v in present[:1000]) and all(timestamp(v) is not None for v in present):
        if bin:
            return "date", bin
        stamps = [timestamp(v) for v in present]
        first, last = min(stamps), max(stamps)
        for choice in BINS:
            if len(date_bins(first, last, choice)[0]) <= points:
                return "date", choice
        return "date", "year"
    return "value", None


def timestamp(value) -> datetime.datetime | None:
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day)
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-":
        try:
            return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            return None
    return None


def date_bins(first: datetime.datetime, last: datetime.datetime, bin: str):
    """(every bin's start date from first to last, the function giving a timestamp's bin start)."""
    def start(t: datetime.datetime) -> datetime.date:
        day = t.date()
        if bin == "week":
            return day - datetime.timedelta(days=day.weekday())
        if bin == "month":
            return day.replace(day=1)
        if bin == "year":
            return day.replace(month=1, day=1)
        return day

    keys, at, end = [], start(first), start(last)
    while at <= end:
        keys.append(at)
        if bin == "day":
            at += datetime.timedelta(days=1)
        elif bin == "week":
            at += datetime.timedelta(days=7)
        elif bin == "month":
            at = (at.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        else:
            at = at.replace(year=at.year + 1)
        if len(keys) > 100_000:
            raise InputError(f"over 100,000 {bin}s between {first.date()} and {last.date()}: choose a longer --bin")
    return keys, start
