"""An index directory: manifest.json naming the live generation folder, written atomically.

Every write builds a new generation folder beside the live one and switches manifest.json to it
with one atomic rename. A build that is interrupted or fails leaves the manifest, and so the
previous generation, untouched; its half-written folder is removed by the next write.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from hyperamy.errors import IndexStateError
from hyperamy.files import read_json_object, write_json

FORMAT_VERSION = 2
MANIFEST = "manifest.json"


def read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        raise IndexStateError(f"no index at {folder}; create one with `hyperamy index CORPUS.jsonl --index {folder}`")
    manifest = read_json_object(path, IndexStateError)
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexStateError(f"{path}: index format version {version!r}, this hyperamy reads version "
                          f"{FORMAT_VERSION}; rebuild the index with `hyperamy index`")
    if not (folder / manifest.get("generation", "")).is_dir():
        raise IndexStateError(f"{path} names generation {manifest.get('generation')!r}, which is missing")
    return manifest


def write_manifest(folder: Path, manifest: dict) -> None:
    write_json(folder / MANIFEST, manifest)


def new_generation(folder: Path) -> Path:
    """A fresh, empty generation folder (named so later ones sort after earlier ones)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"gen-{time.time_ns():020d}"
    path.mkdir()
    return path


def remove_stale_generations(folder: Path, live: str | None) -> None:
    """Delete generation folders the manifest does not name: old ones and interrupted builds."""
    for path in folder.glob("gen-*"):
        if path.name != live and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
    for path in folder.glob(".manifest.*"):
        path.unlink(missing_ok=True)


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
