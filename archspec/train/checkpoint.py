"""Checkpoints that survive a crash and run no code when loaded.

Written atomically (archspec.io.atomic_path): torch.save to a temporary file beside the target,
fsync, rename, fsync of the folder; a kill at any moment leaves the previous file whole. Loaded with
torch.load(weights_only=True): only tensors and plain containers, so a file holding pickled
code or objects is refused instead of executed.
"""

from __future__ import annotations

import hashlib
import math
import pickle
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archspec.errors import Diagnostic, SpecError
from archspec.io import atomic_path, write_atomic
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
    return data  # type: ignore[no-any-return]  # a dict or whatever the file holds: load_run checks


HASHES = ".sha256"  # beside each run checkpoint: `sha256sum` lines of its bytes (last.pt.sha256)
# the keys of a run checkpoint and their types; the nested ones are checked by check_run
KEYS: dict[str, type | tuple[type, ...]] = {
    "spec": dict, "recipe": dict, "world": int, "model": dict, "optimizer": dict, "scaler": dict,
    "progress": dict, "ranks": list}
PROGRESS: dict[str, type | tuple[type, ...]] = {
    "epoch": int, "step": int, "global_step": int, "best_acc": (int, float), "best_epoch": int,
    "seconds": (int, float)}


def save_run(path: str | Path, payload: dict[str, Any]) -> None:
    """A run checkpoint and the sha256 of its bytes beside it, which load_run checks (a flipped
    byte is an error). The hash file lists the new hash and the old one until the new checkpoint
    is in place, so a kill at any moment leaves a checkpoint whose hash is listed."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
        new = file_hash(tmp)
        write_atomic(hash_path(path), _hash_lines(path, [new, *listed_hashes(path)[:1]]))
    write_atomic(hash_path(path), _hash_lines(path, [new]))


def hash_path(path: Path) -> Path:
    return path.with_name(path.name + HASHES)


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def listed_hashes(path: Path) -> list[str]:
    """The hashes the hash file beside `path` lists for it ([] if none can be read)."""
    try:
        text = hash_path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return []
    words = [ln.split() for ln in text.splitlines()]
    return [w[0] for w in words if len(w) == 2 and w[1] == path.name and len(w[0]) == 64]


def _hash_lines(path: Path, hashes: list[str]) -> bytes:
    return "".join(f"{h}  {path.name}\n" for h in hashes).encode()


def load_run(path: str | Path) -> dict[str, Any]:
    """A checkpoint written by `archspec train` (last.pt, best.pt), checked as data: the hash of
    its bytes, its keys and their types. SpecError naming the file otherwise."""
    path = Path(path)
    listed = listed_hashes(path) if path.is_file() else []
    if listed and file_hash(path) not in listed:
        raise SpecError(Diagnostic(f"{path}: damaged: its bytes do not match the sha256 in {hash_path(path).name}",
                                   hint="resume from a copy of the run folder, or start the run again"))
    data = load(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SpecError(Diagnostic(f"{path}: not an archspec training checkpoint",
                                   hint="--resume continues a run folder written by archspec train"))
    if data.get("version") != VERSION:
        raise SpecError(Diagnostic(f"{path}: checkpoint version {data.get('version')} (this archspec "
                                   f"reads {VERSION})"))
    if not listed:  # after load: a file of pickled code is refused as that
        raise SpecError(Diagnostic(f"{path}: no hash of it in {hash_path(path).name} beside it, so it cannot "
                                   f"be checked", hint="archspec train writes the two together"))
    problem = check_run(data)
    if problem:
        raise SpecError(Diagnostic(f"{path}: damaged or not written by archspec train: {problem}"))
    return data


def check_run(data: dict[str, Any]) -> str:
    """What is wrong with a run checkpoint's structure ('' if nothing)."""
    problem = _types(data, KEYS, "")
    if problem:
        return problem
    spec, progress, ranks = data["spec"], data["progress"], data["ranks"]
    problem = (_types(spec, {"name": str, "hash": str, "input": list}, "spec.")
               or _types(progress, PROGRESS, "progress."))
    if problem:
        return problem
    if set(progress) != set(PROGRESS):
        return f"progress has keys {sorted(progress)[:10]}, not {sorted(PROGRESS)}"
    if not all(isinstance(d, int) and not isinstance(d, bool) and 0 < d < 1 << 31 for d in spec["input"]):
        return f"spec.input is {spec['input']!r}, not a list of sizes"
    if any(not math.isfinite(v) or v < (-1 if k == "best_acc" else 0) for k, v in progress.items()):  # best_acc: -1
        return f"progress holds a negative or non-finite value ({progress})"
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in data["model"].items()):
        return "model is not a mapping of names to tensors"
    if data["world"] < 1 or len(ranks) != data["world"]:
        return f"ranks holds {len(ranks)} process(es) for a world of {data['world']}"
    for i, r in enumerate(ranks):
        tally = r.get("tally") if isinstance(r, dict) else None
        if not (isinstance(r, dict) and isinstance(r.get("rng"), dict) and isinstance(tally, list) and len(tally) == 3
                and all(isinstance(t, int | float) for t in tally)):
            return f"ranks[{i}] is not a process's random state and tally"
    return ""


def _types(data: dict[str, Any], want: dict[str, type | tuple[type, ...]], where: str) -> str:
    for key, kind in want.items():
        if key not in data:
            return f"no '{where}{key}'"
        value = data[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"'{where}{key}' is a {type(value).__name__}"
    return ""


# ---- random number generators -------------------------------------------------------------


def rng_state() -> dict[str, Any]:
    """Every RNG training touches, as tensors and plain values (weights_only-loadable)."""
    _, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    version, state, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(np.asarray(keys).astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": {"version": version, "state": list(state), "gauss": gauss},
    }


def set_rng_state(s: dict[str, Any]) -> None:
    """Restore rng_state()'s; KeyError, TypeError, ValueError or RuntimeError for a crafted one."""
    torch.set_rng_state(s["torch"])
    if s["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])
    n = s["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    p = s["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))
