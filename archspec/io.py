"""Atomic file output: a failure never leaves a half-written or clobbered file."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

SYNC_EVERY = 16 << 20  # bytes written between two background flushes of SyncBehind


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success fsync it, rename it over `path` and fsync the
    folder (so the rename itself survives a crash).

    On any exception the temporary file is removed and `path` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the permissions open() would
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be fsynced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def clean_temporaries(folder: str | Path) -> None:
    """Remove the temporaries of atomic_path that a killed writer left in `folder` (never a
    finished file)."""
    for tmp in Path(folder).glob(".*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_atomic(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


class SyncBehind:
    """Writes to `f`, and every SYNC_EVERY bytes starts flushing what is written to disk on a
    background thread (one at a time), so the disk works while the writer still computes and the
    fsync that ends an atomic write finds little left to do. A flush's error (EIO, ENOSPC) is
    raised by the next write or on leaving. Use it as a context manager: leaving it waits for the
    flush in flight, before `f` may be closed."""

    def __init__(self, f: BinaryIO, every: int = SYNC_EVERY) -> None:
        self.f, self.every, self.unsynced = f, every, 0
        self._flush: threading.Thread | None = None
        self._error: OSError | None = None

    def write(self, data: bytes | memoryview) -> int:
        self._raise()
        n = self.f.write(data)
        self.unsynced += n
        if self.unsynced >= self.every and (self._flush is None or not self._flush.is_alive()):
            self.f.flush()
            self._flush = threading.Thread(target=self._sync, daemon=True)
            self._flush.start()
            self.unsynced = 0
        return n

    def tell(self) -> int:
        return self.f.tell()

    def seek(self, offset: int) -> int:
        return self.f.seek(offset)

    def _sync(self) -> None:
        try:
            os.fdatasync(self.f.fileno())
        except OSError as e:  # the writer's thread raises it
            self._error = e

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def __enter__(self) -> SyncBehind:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if self._flush is not None:
            self._flush.join()
        if kind is None:  # else that error is the one to report
            self._raise()
