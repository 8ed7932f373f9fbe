"""Checkpoints that survive a crash and run no code when loaded.

Written atomically (archspec.io.atomic_path): torch.save to a temporary file beside the target,
fsync, rename, fsync of the folder; a kill at any moment leaves the previous file whole. Loaded with
torch.load(weights_only=True): only tensors and plain containers, so a file holding pickled
code or objects is refused instead of executed.
"""

from __future__ import annotations

import pickle
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archspec.errors import Diagnostic, SpecError
from archspec.torch_backend.weights import save_torch

FORMAT = "archspec-checkpoint"
VERSION = 1


def save(path: str | Path, payload: dict[str, Any]) -> None:
    save_torch(path, payload)


def load(path: str | Path) -> dict[str, Any]:
    """A checkpoint's contents, on the CPU. Refuses pickled code with a clear SpecError."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(Diagnostic(f"no checkpoint at {path}"))
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        why = next((ln.strip() for ln in str(e).splitlines() if "GLOBAL" in ln or "Unsupported" in ln), "")
        raise SpecError(Diagnostic(
            f"{path}: refused: the file holds pickled Python code or objects, not only tensors"
            + (f" ({why})" if why else ""),
            hint="archspec loads checkpoints with torch.load(weights_only=True) so that no code in a "
                 "file ever runs; save a plain state_dict (tensors only) or .safetensors")) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile) as e:
        raise SpecError(Diagnostic(f"{path}: not a readable torch checkpoint ({str(e).splitlines()[0]})")) from None
    return data


def load_run(path: str | Path) -> dict[str, Any]:
    """A checkpoint written by `archspec train` (last.pt, best.pt)."""
    data = load(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SpecError(Diagnostic(f"{path}: not an archspec training checkpoint",
                                   hint="--resume continues a run folder written by archspec train"))
    if data.get("version") != VERSION:
        raise SpecError(Diagnostic(f"{path}: checkpoint version {data.get('version')} (this archspec "
                                   f"reads {VERSION})"))
    return data


# ---- random number generators -------------------------------------------------------------


def rng_state() -> dict[str, Any]:
    """Every RNG training touches, as tensors and plain values (weights_only-loadable)."""
    _, keys, pos, has_gauss, cached = np.random.get_state()
    version, state, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": {"version": version, "state": list(state), "gauss": gauss},
    }


def set_rng_state(s: dict[str, Any]) -> None:
    torch.set_rng_state(s["torch"])
    if s["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])
    n = s["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    p = s["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))
