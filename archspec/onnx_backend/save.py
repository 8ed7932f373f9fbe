"""Writing a compiled model atomically, its tensors streamed from their arrays, or moved to an
external data file when together they exceed a size."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from archspec.io import SyncBehind, atomic_path
from archspec.onnx_backend.emit import Compiled
from archspec.onnx_backend.proto import external
from archspec.parallel import cancel, resolve

EXTERNAL_DATA_THRESHOLD = 2_000_000_000  # bytes of tensors; protobuf cannot encode 2 GiB
EXTERNAL_MIN_TENSOR = 1024  # smaller tensors stay inline
ALIGN = 4096  # tensor offsets in the data file, so runtimes can map them page by page


def save_model(model: Compiled, path: str | Path, external_threshold: int = EXTERNAL_DATA_THRESHOLD) -> Path:
    """Write the model to `path` (its large tensors to `<path>.data` when all tensors together exceed
    the threshold). A failure leaves no new file and an existing one untouched."""
    try:
        return _save(model, Path(path), external_threshold)
    except BaseException:
        cancel(a for _, a in model.tensors.values())  # no waiting for weights that will not be written
        raise


def _save(model: Compiled, path: Path, external_threshold: int) -> Path:
    if model.nbytes <= external_threshold:
        with atomic_path(path) as tmp, open(tmp, "wb") as f, SyncBehind(f) as out:
            model.write(out)
        return path
    data = path.with_name(path.name + ".data")
    # the data file is renamed first, so the model never points at a missing file
    with atomic_path(path) as tmp_model, atomic_path(data) as tmp_data:
        with open(tmp_data, "wb") as f, SyncBehind(f) as out:
            moved = _externalise(model, out, data.name)
        with open(tmp_model, "wb") as f:
            model.write(f, moved)
    return path


def _externalise(model: Compiled, f: SyncBehind, location: str) -> dict[str, bytes]:
    """Write tensors of EXTERNAL_MIN_TENSOR bytes or more to the data file; returns, by name, the
    TensorProto fields that point at them."""
    moved = {}
    for name, (_, a) in model.tensors.items():
        if a.nbytes >= EXTERNAL_MIN_TENSOR:
            offset = -(-f.tell() // ALIGN) * ALIGN
            f.seek(offset)
            f.write(resolve(a).reshape(-1).view(np.uint8).data)
            moved[name] = external(location, offset, a.nbytes)
    return moved
