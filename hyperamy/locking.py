"""OS file locks: one writer per index at a time, and pins that keep a reader's segments on disk.

Both are `flock` locks, which the kernel drops when their process dies, so a killed writer
never leaves a stale lock behind.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from pathlib import Path

from hyperamy.errors import IndexBusyError

LOCK_FILE = "write.lock"
DEFAULT_WAIT = 300.0  # seconds a writer waits for another one before giving up


class WriterLock:
    """The index folder's exclusive writer lock, held for a whole write.

    The holder's pid is written into the lock file, so a writer that gives up can name it.
    """

    def __init__(self, folder: Path, wait: float = DEFAULT_WAIT):
        self.path, self.wait = Path(folder) / LOCK_FILE, wait
        self._fd: int | None = None

    def __enter__(self) -> "WriterLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + max(self.wait, 0.0)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if time.monotonic() >= deadline:
                    raise IndexBusyError(f"index {self.path.parent} is being written by {self._holder()}; "
                                         f"waited {self.wait:g}s (raise --wait, or try again when it is done)")
                time.sleep(0.05)
                continue
            # the file may have been replaced while we waited (a failed first build removes its folder)
            if _same_file(fd, self.path):
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the lock
            self._fd = None

    def _holder(self) -> str:
        try:
            pid = self.path.read_text().strip()
        except OSError:
            pid = ""
        return f"process {pid}" if pid.isdigit() else "another process"


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


class Pin:
    """A shared lock on a segment folder: while any reader holds one, cleanup leaves it alone."""

    def __init__(self, folder: Path):
        self._fd = None  # set first: __del__ runs even when opening fails
        self._fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)  # FileNotFoundError: already removed
        fcntl.flock(self._fd, fcntl.LOCK_SH)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()


def remove_if_unused(folder: Path) -> bool:
    """Delete `folder` unless a reader pins it; the exclusive lock is held while it goes.

    A reader that pins the folder meanwhile finds it gone and reads the manifest again.
    """
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    try:
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        os.close(fd)
    return True


@contextlib.contextmanager
def exclusive(path: Path):
    """Hold an exclusive flock on a lock file for a block, waiting as long as another holder does."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the lock
