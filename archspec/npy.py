"""A .npy header read before its data: what an array declares, so a crafted file (a huge shape, a
header that is not a literal, more bytes declared than the file holds) is refused before anything
is allocated. Used for `.npy` inputs and for the members of every `.npz` (archspec.npz: weights,
training and calibration data)."""

from __future__ import annotations

import math
import tokenize
from typing import IO

import numpy as np

from archspec.limits import LIMITS


class HeaderError(ValueError):
    """A .npy header that is unreadable or declares an array past the limits."""


def declared_bytes(f: IO[bytes], available: int) -> int:
    """The bytes of data `f`'s header declares (`f` at the start of a .npy); HeaderError past
    LIMITS.array_bytes or past `available`, the bytes the file holds."""
    try:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(f)  # numpy's parser: a Python literal of at most 10,000 bytes
    except (ValueError, SyntaxError, tokenize.TokenError, RecursionError, MemoryError, EOFError) as e:
        raise HeaderError(f"not a readable .npy header ({type(e).__name__}: {str(e)[:160]})") from None
    size = math.prod(shape) * dtype.itemsize
    if size > LIMITS.array_bytes:
        raise HeaderError(f"an array of {size:,} bytes is past the limit {LIMITS.array_bytes:,} "
                          f"(raise it with --limit array_bytes=N)")
    if size > available:
        raise HeaderError(f"truncated: its header declares {size:,} bytes of data, the file holds {available:,}")
    return size
