"""An index directory: manifest.json naming the live segments and tombstones, switched atomically.

    manifest.json          format version, config, models, counts, fields, segments, tombstones
    write.lock             the writer lock (locking.py)
    segments/seg-*/        immutable segments (segments/)
    tombstones/del-*.npy   rows deleted from segments that still hold them

A write adds files beside the live ones and then replaces manifest.json with one atomic rename:
readers see the old index or the new one, never a mix. Files the manifest no longer names are
removed by the next writer, except segment folders that a reader still pins.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from hyperamy.errors import IndexStateError
from hyperamy.files import atomic_path, read_json_object, write_json
from hyperamy.locking import remove_if_unused

FORMAT_VERSION = 3
MANIFEST = "manifest.json"
SEGMENTS = "segments"
TOMBSTONES = "tombstones"


def read_manifest(folder: Path, checksum: bool = True) -> dict:
    """The manifest, its shape checked; with `checksum`, also its checksum (a changed byte is
    refused; `hyperamy check` reads past it to say what else is wrong, and `--repair` rewrites it)."""
    path = folder / MANIFEST
    if not path.is_file():
        raise IndexStateError(f"no index at {folder}; create one with `hyperamy index CORPUS.jsonl --index {folder}`")
    manifest = read_json_object(path, IndexStateError)
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexStateError(f"{path}: index format version {version!r}, this hyperamy reads version "
                              f"{FORMAT_VERSION}; rebuild the index with `hyperamy index` into a new folder")
    if checksum and not checksum_matches(manifest):
        raise IndexStateError(f"{path} is damaged: it does not match its checksum (a byte changed since it was "
                              "written); `hyperamy check` says what else is wrong, `hyperamy check --repair` rewrites "
                              "it from the segments")
    for key in ("segments", "counts", "config", "models", "next_row", "commit"):
        if key not in manifest:
            raise IndexStateError(f"{path} is damaged: it has no {key!r}")
    wrong = _shape_problem(manifest)
    if wrong:
        raise IndexStateError(f"{path} is damaged: {wrong}; run `hyperamy check`")
    return manifest


def stored_config(folder: Path, manifest: dict):
    """The index settings (config.IndexConfig) a manifest stores; a value hyperamy refuses there
    is damage named in the manifest, not a bad option of the user's."""
    from hyperamy.config import IndexConfig, from_dict
    from hyperamy.errors import InputError

    from hyperamy.analyzer import BEFORE_ANALYZERS

    try:  # a manifest from before analyzers names none: its words were stored as written
        return from_dict(IndexConfig, {"analyzer": BEFORE_ANALYZERS, **manifest["config"]})
    except InputError as exc:
        raise IndexStateError(f"{folder / MANIFEST} stores settings hyperamy refuses: {exc}") from None


def _shape_problem(manifest: dict) -> str | None:
    """What in a manifest has the wrong shape (a flipped bit that still parses as JSON), or None."""
    def whole(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    if not isinstance(manifest["segments"], list) or not isinstance(manifest["counts"], dict):
        return "'segments' is not a list or 'counts' not an object"
    if not whole(manifest["counts"].get("documents")):
        return "'counts' lacks the number of documents"
    if not whole(manifest["next_row"]) or not whole(manifest["commit"]):
        return "'next_row' and 'commit' must be whole numbers"
    if not isinstance(manifest["config"], dict) or not isinstance(manifest["models"], dict):
        return "'config' and 'models' must be objects"
    for entry in manifest["segments"]:
        if not (isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"].startswith("seg-")
                and "/" not in entry["name"] and whole(entry.get("documents")) and isinstance(entry.get("files"), dict)
                and all(isinstance(f, dict) and whole(f.get("size")) and isinstance(f.get("sha256"), str)
                        for f in entry["files"].values())):
            return "a segment entry is malformed"
    tombstones = manifest.get("tombstones")
    if tombstones is not None and not (isinstance(tombstones, dict) and isinstance(tombstones.get("file"), str)
                                       and tombstones["file"].startswith(f"{TOMBSTONES}/") and ".." not in tombstones["file"]
                                       and whole(tombstones.get("size")) and isinstance(tombstones.get("sha256"), str)):
        return "the tombstones entry is malformed"
    if "alpha" not in manifest["models"] or "encoder" not in manifest["models"]:
        return "'models' lacks the encoder or alpha"
    return None


def stamp(folder: Path) -> tuple[int, int, int] | None:
    """What changes whenever manifest.json is replaced (inode, modification time, size)."""
    try:
        info = os.stat(folder / MANIFEST)
    except FileNotFoundError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


def write_manifest(folder: Path, manifest: dict) -> None:
    """Write the manifest with a checksum of what it holds, so a changed byte is refused on open."""
    write_json(folder / MANIFEST, {**{k: v for k, v in manifest.items() if k != "checksum"},
                                   "checksum": manifest_checksum(manifest)})


def manifest_checksum(manifest: dict) -> str:
    """SHA-256 of what a manifest holds (its checksum left out), written canonically."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def checksum_matches(manifest: dict) -> bool:
    """Whether a manifest holds what its checksum says (one written before checksums: True)."""
    return "checksum" not in manifest or manifest["checksum"] == manifest_checksum(manifest)


def new_segment_folder(folder: Path) -> Path:
    """A path for a new segment (named so later ones sort after earlier ones); not yet created."""
    (folder / SEGMENTS).mkdir(parents=True, exist_ok=True)
    return folder / SEGMENTS / f"seg-{time.time_ns():020d}-{os.getpid()}"


def write_tombstones(folder: Path, rows: np.ndarray, commit: int) -> dict | None:
    """Save the sorted deleted rows; returns the manifest entry (None when there are none)."""
    if not len(rows):
        return None
    (folder / TOMBSTONES).mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(rows, np.int64))
    payload = buffer.getvalue()
    path = folder / TOMBSTONES / f"del-{commit:010d}.npy"
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    return {"file": f"{TOMBSTONES}/{path.name}", "count": len(rows), "size": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest()}


def read_tombstones(folder: Path, entry: dict | None) -> np.ndarray:
    """The deleted rows named by a manifest (FileNotFoundError: replaced meanwhile, read again)."""
    if entry is None:
        return np.zeros(0, np.int64)
    path = folder / entry["file"]
    payload = path.read_bytes()
    if len(payload) != entry["size"] or hashlib.sha256(payload).hexdigest() != entry["sha256"]:
        raise IndexStateError(f"{path} is damaged: its size or checksum differs from the manifest's; "
                              "run `hyperamy check`")
    try:
        return np.load(io.BytesIO(payload))
    except ValueError as exc:
        raise IndexStateError(f"{path} is damaged: {exc}") from exc


def remove_unused(folder: Path) -> None:
    """Delete what the manifest on disk does not name: old segments no reader pins, old
    tombstones, unfinished segments and temporary files of killed writers. Call only under the
    writer lock. The manifest is read here, never taken from a caller's snapshot, so a file the
    live manifest names is never removed; with an unreadable manifest nothing is removed.
    """
    try:
        manifest = read_manifest(folder) if stamp(folder) is not None else {}
    except IndexStateError:
        return
    named = {entry["name"] for entry in manifest.get("segments", [])}
    for path in (folder / SEGMENTS).glob("seg-*") if (folder / SEGMENTS).is_dir() else []:
        if path.name not in named:
            remove_if_unused(path)
    live = manifest.get("tombstones") or {}
    for path in (folder / TOMBSTONES).glob("*") if (folder / TOMBSTONES).is_dir() else []:
        if f"{TOMBSTONES}/{path.name}" != live.get("file"):
            path.unlink(missing_ok=True)
    for path in folder.glob(f".{MANIFEST}.*"):
        path.unlink(missing_ok=True)


def remove_scaffolding(folder: Path) -> None:
    """Remove what a first write that committed nothing made inside a folder the user made."""
    from hyperamy.locking import LOCK_FILE

    (folder / LOCK_FILE).unlink(missing_ok=True)
    for name in (SEGMENTS, TOMBSTONES):
        shutil.rmtree(folder / name, ignore_errors=True)


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
