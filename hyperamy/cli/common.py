"""Helpers shared by the CLI commands."""
from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

import click

from hyperamy.errors import DataFormatError

weights_option = click.option("--weights", "-w", type=click.Path(file_okay=False), envvar="HYPERAMY_WEIGHTS",
                              help="Weights folder from `hyperamy train` or `hyperamy soup` "
                                   "[default: the shipped model, or $HYPERAMY_WEIGHTS].")


def data_dir(value: str | None) -> Path:
    """--data, else $HYPERAMY_DATA, else the repository's data/ folder."""
    from hyperamy.training.data import default_data_dir

    folder = Path(value or os.environ.get("HYPERAMY_DATA") or default_data_dir())
    if not (folder / "goemotions" / "train.tsv").is_file():
        raise DataFormatError("no GoEmotions data here (expected goemotions/train.tsv); "
                              "pass --data or set HYPERAMY_DATA to the project's data/ folder", str(folder))
    return folder


def emit_json(value) -> None:
    from hyperamy.jsontext import dumps

    click.echo(dumps(value))


def progress_wanted() -> bool:
    """Progress bars only where a person watches: stderr is a terminal."""
    return sys.stderr.isatty()


class LineProgress:
    """Progress for a log, not a terminal: one line on stderr at most every `every` seconds."""

    def __init__(self, desc: str, total: int | None, unit: str, every: float = 30.0):
        self.desc, self.total, self.unit, self.every = desc, total, unit, every
        self.done, self.started = 0, time.monotonic()
        self.last = self.started

    def update(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            click.echo(self.line(now), err=True)

    def line(self, now: float) -> str:
        rate = self.done / max(now - self.started, 1e-9)
        text = f"{self.desc}: {self.done:,}"
        if self.total:
            left = (self.total - self.done) / rate if rate > 0 else float("inf")
            text += f"/{self.total:,} {self.unit}s ({100 * self.done / self.total:.0f}%), {rate:.0f}/s, " \
                    f"about {_duration(left)} left"
        else:
            text += f" {self.unit}s, {rate:.0f}/s"
        return text


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


@contextlib.contextmanager
def progress(desc: str, total: int | None, unit: str = "doc"):
    """An `update(n)` callable: a tqdm bar with total and ETA on a terminal, else periodic lines."""
    if progress_wanted():
        from tqdm import tqdm

        with tqdm(desc=desc, total=total, unit=unit, file=sys.stderr) as bar:
            yield bar.update
    else:
        yield LineProgress(desc, total, unit).update
