"""Atomic file output: a failure never leaves a half-written or clobbered file."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from archspec.errors import UserError

SYNC_EVERY = 16 << 20  # bytes written between two background flushes of SyncBehind


class OutputError(UserError):
    """An output path that archspec will not write: a symlink, a folder, or unwritable."""


TMP_SUFFIX = ".archspec-tmp"  # `.<name>.<pid>.<random>.archspec-tmp`, beside the file it becomes


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success fsync it, rename it over `path` and fsync the
    folder (so the rename itself survives a crash).

    On any exception the temporary file is removed and `path` is left as it was. A process killed
    midway leaves its temporary, which the next write to the same folder removes (its pid is in its
    name). `path` must be a regular file or absent: a symlink or a folder is refused, never replaced;
    a device or pipe (`-o /dev/null`) is written through, since it cannot be replaced atomically.
    """
    path = Path(path)
    kind = _existing_kind(path)
    if kind == "special":
        yield path
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_temporaries(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=TMP_SUFFIX, dir=path.parent)
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


def _existing_kind(path: Path) -> str:
    """'absent', 'file' or 'special' (a device or pipe, written through); OutputError for what is
    refused."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "absent"
    if stat.S_ISLNK(st.st_mode):
        raise OutputError(f"{path} is a symbolic link (to {os.readlink(path)}): archspec does not replace "
                          f"it; remove it, or name the file it points to")
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{path} is a folder: name a file to write")
    if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return "special"
    return "file"


def safe_filename(name: str, suffix: str) -> str:
    """A default output file name made from a spec's name: one file in the working folder (no
    path separators, no leading dot, nothing but letters, digits, '-', '_' and inner dots)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "model"
    return re.sub(r"\.{2,}", ".", stem)[:200] + suffix


def fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be fsynced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def clean_temporaries(folder: str | Path) -> None:
    """Remove the temporaries of atomic_path that killed writers left in `folder`: those whose
    process is gone (never another live writer's, never a finished file)."""
    with contextlib.suppress(OSError):
        for tmp in Path(folder).glob(f".*{TMP_SUFFIX}"):
            parts = tmp.name.split(".")
            pid = int(parts[-3]) if len(parts) >= 4 and parts[-3].isdigit() else None
            if pid is None or not _alive(pid):
                with contextlib.suppress(OSError):
                    tmp.unlink()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: alive
        return True
    return True


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
