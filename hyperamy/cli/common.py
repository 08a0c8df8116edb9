"""Helpers shared by the CLI commands."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from hyperamy.errors import DataFormatError

weights_option = click.option("--weights", "-w", type=click.Path(file_okay=False), envvar="HYPERAMY_WEIGHTS",
                              help="Weights folder from `hyperamy train` or `hyperamy soup` "
                                   "[default: the shipped model, or $HYPERAMY_WEIGHTS].")


def data_dir(value: str | None) -> Path:
    """--data, else $HYPERAMY_DATA, else the repository's data/ folder."""
    from hyperamy.encoder.data import default_data_dir

    folder = Path(value or os.environ.get("HYPERAMY_DATA") or default_data_dir())
    if not (folder / "goemotions" / "train.tsv").is_file():
        raise DataFormatError("no GoEmotions data here (expected goemotions/train.tsv); "
                              "pass --data or set HYPERAMY_DATA to the project's data/ folder", str(folder))
    return folder


def emit_json(value) -> None:
    click.echo(json.dumps(value, ensure_ascii=False))


def progress_wanted() -> bool:
    """Progress bars only where a person watches: stderr is a terminal."""
    return sys.stderr.isatty()
