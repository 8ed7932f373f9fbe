""".npz archives read safely, for weights and for labelled datasets (training data, calibration).

The zip directory and every member's .npy header are checked before anything is inflated, so a
crafted archive (a zip bomb, a member declaring more than it holds, a truncated or foreign file)
is an NpzError that names it, never a traceback or an exhausted machine.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from archspec.limits import LIMITS
from archspec.npy import HeaderError, declared_bytes


class NpzError(ValueError):
    """An .npz that is unreadable, past the limits, or not the arrays asked for."""


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of the archive at `path`, by name."""
    try:
        _check_members(path)
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except NpzError:
        raise
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, ValueError, OSError, EOFError) as e:
        # what zipfile raises for a corrupt member (zlib.error), an unknown compression method
        # (NotImplementedError) or an encrypted one (RuntimeError), and numpy for a bad array
        raise NpzError(f"'{path}': not a readable .npz file ({type(e).__name__}: {str(e)[:200]})") from None


def _check_members(path: Path) -> None:
    with zipfile.ZipFile(path) as z:
        members = z.infolist()
        if len(members) > LIMITS.zip_members:
            raise NpzError(f"'{path}' has {len(members):,} members (limit zip_members={LIMITS.zip_members:,})")
        total = sum(m.file_size for m in members)
        big = max(members, key=lambda m: m.file_size, default=None)
        if big is not None and big.file_size > LIMITS.array_bytes:
            raise NpzError(f"'{path}': '{big.filename}' inflates to {big.file_size:,} bytes "
                           f"(limit array_bytes={LIMITS.array_bytes:,}; raise it with --limit array_bytes=N)")
        if total > LIMITS.memory_bytes():
            raise NpzError(f"'{path}' inflates to {total:,} bytes, more than the memory budget")
        for m in members:  # what each array declares, against what its member holds
            try:
                with z.open(m) as f:
                    declared_bytes(f, m.file_size)
            except HeaderError as e:
                raise NpzError(f"'{path}': '{m.filename}': {e}") from None


def load_labelled(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A dataset archive: `x` images as N,C,H,W (N,H,W and N,H,W,C are turned so), `y` their N
    integer labels from 0, and the class names: an optional `classes` array's, else the labels
    0 to the largest."""
    arrays = load_npz(path)
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing:
        raise NpzError(f"'{path}' lacks array{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                       f"(has: {', '.join(arrays) or 'none'}); save it with np.savez(path, x=images, y=labels)")
    x, y = arrays["x"], arrays["y"]
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[1] not in (1, 3) and x.shape[-1] in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    if x.ndim != 4 or y.ndim != 1 or len(x) != len(y) or x.dtype.kind not in "fiub" or y.dtype.kind not in "iu":
        raise NpzError(f"'{path}': x must be N images (N,H,W or N,C,H,W; numbers) and y N integer labels; "
                       f"got x {list(x.shape)} {x.dtype}, y {list(y.shape)} {y.dtype}")
    if not len(y):
        raise NpzError(f"'{path}' holds no images (x and y are empty)")
    if y.min() < 0:
        raise NpzError(f"'{path}': labels must be 0 or more, found {int(y.min())}")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise NpzError(f"'{path}': the images hold NaN or infinite values")
    names = arrays.get("classes")
    if names is not None and names.ndim != 1:
        raise NpzError(f"'{path}': classes must be a list of names, got an array of shape {list(names.shape)}")
    return x, y, [str(c) for c in names] if names is not None else [str(i) for i in range(int(y.max()) + 1)]
