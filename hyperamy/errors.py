"""Errors raised by hyperamy. The library raises; only the CLI renders them."""
from __future__ import annotations


class HyperamyError(Exception):
    """Base class for every error hyperamy raises on purpose."""


class InputError(HyperamyError, ValueError):
    """Bad user input: an empty text, a span that is not in its text, a bad flag value."""


class NotFoundError(InputError):
    """A name asked for is not there (an entity nobody mentions): HTTP 404, exit 2."""


class DataFormatError(HyperamyError):
    """A data file that cannot be read: names the file and, where known, the line."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.line = line
        self.row = False  # set when the problem is one row of a file, which skipping would pass over


class WeightsError(HyperamyError):
    """A model folder that is missing, incomplete, corrupt or does not fit its backbone."""


class ExportError(WeightsError):
    """A model that loads but cannot be exported to an ONNX graph (torch then encodes its queries)."""


class IndexStateError(HyperamyError):
    """An index that is missing, of another format, or inconsistent."""


class IndexBusyError(HyperamyError):
    """Another process holds the index's writer lock for longer than this one would wait."""


class CancelledError(HyperamyError):
    """Work stopped because whoever asked for it went away (an HTTP client that disconnected)."""


class AddInterrupted(KeyboardInterrupt):
    """Ctrl-C during `HyperAmy.add`: says what the index holds after the commits that landed."""

    def __init__(self, before: int, after: int):
        super().__init__()
        self.before = before
        self.after = after

    def __str__(self) -> str:
        return (f"Interrupted: what was committed is kept; the index holds {self.after:,} documents "
                f"({self.before:,} when this run began). Run the same command again to add the rest: "
                "what was committed is skipped as unchanged.")
