"""A segment's files against the manifest: sizes on every open, checksums once.

Sizes are checked every time a segment is opened (a stat, no read). A file's SHA-256 is checked the
first time any process reads it; the segment folder then keeps a stamp (`verified.json`) of each
file that matched, with its size, modification and change times and inode. A later open skips the
checksum of a file whose stamp still holds, so opening a large index reads no more than it uses.
Any write to a file (or a copy of the index) changes those, and the file is checksummed again.
Damage that changes none of them (a failing disk) is what `hyperamy check` finds: it checksums
every file, always. Where the folder cannot be written (a read-only index), nothing is stamped
and every open checksums, as before.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from hyperamy.errors import IndexStateError

STAMP = "verified.json"


def checksum(path: Path) -> str:
    """SHA-256 of a file, read 1 MiB at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def check_file(path: Path, expected: dict, verify: bool, payload: bytes | None = None) -> bytes | None:
    """Raise unless `path` (or its `payload`, already read) has the manifest's size and, with
    `verify`, its checksum; returns the payload."""
    if not path.is_file():
        raise IndexStateError(f"index is incomplete: {path} is missing; run `hyperamy check --repair`")
    size = len(payload) if payload is not None else path.stat().st_size
    if size != expected["size"]:
        raise IndexStateError(f"{path} is damaged: {size} bytes, the manifest says {expected['size']}; "
                              "run `hyperamy check --repair`")
    if verify:
        digest = hashlib.sha256(payload).hexdigest() if payload is not None else checksum(path)
        if digest != expected["sha256"]:
            raise IndexStateError(f"{path} is damaged: its checksum differs from the manifest's; "
                                  "run `hyperamy check --repair`")
    return payload


def verified(folder: Path, files: dict) -> set[str]:
    """Names among `files` ({name: manifest entry}) whose checksum a reader already checked, the
    file unchanged since and the manifest expecting the same checksum."""
    stamp = _read(folder)
    found = set()
    for name, expected in files.items():
        try:
            if stamp.get(name) == [expected["sha256"], *_state(folder / name)]:
                found.add(name)
        except OSError:
            pass
    return found


def record(folder: Path, files: dict, names) -> None:
    """Stamp `names` (just checksummed against `files`) as verified; best effort: an unwritable
    folder keeps no stamp, and two readers stamping at once lose at most the other's entries."""
    names = list(names)
    if not names:
        return
    try:
        stamp = _read(folder)
        stamp.update({name: [files[name]["sha256"], *_state(folder / name)] for name in names})
        temporary = folder / f".{STAMP}.{os.getpid()}.{threading.get_ident()}"
        temporary.write_text(json.dumps(stamp, sort_keys=True), "utf-8")
        os.replace(temporary, folder / STAMP)
    except OSError:
        pass


def _state(path: Path) -> list[int]:
    status = path.stat()
    return [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino]


def _read(folder: Path) -> dict:
    try:
        stamp = json.loads((folder / STAMP).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}
