"""Run folders: what `archspec train` writes beside its checkpoints, and what --resume reads back."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError

from archspec.errors import Diagnostic, SpecError
from archspec.io import OutputError, write_atomic
from archspec.model import Model
from archspec.train import checkpoint as ckpt
from archspec.train import distributed as D
from archspec.train.plot import METRICS, metric_rows
from archspec.train.recipe import Recipe, recipe_from_dict
from archspec.train.speed import Settings


def check_folder(out: Path, resume: bool) -> None:
    """A run folder holds a run exactly when it holds last.pt: --resume continues that; a plain
    train starts one in a folder without last.pt (what a run killed before its first checkpoint
    left is replaced)."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} is not a folder: --out names the run folder")
    if out.exists() and not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"{out}: no permission to write in this folder")
    if resume and not (out / "last.pt").exists():
        started = (out / METRICS).exists() or (out / "run.json").exists()
        raise SpecError(Diagnostic(
            f"nothing to resume: {out} holds no last.pt"
            + (" (the run stopped before its first checkpoint)" if started else ""),
            hint=f"train without --resume to start the run again in {out}" if started else ""))
    if not resume and (out / "last.pt").exists():
        raise SpecError(Diagnostic(f"{out} already holds a run",
                                   hint="add --resume to continue it, or give another --out"))


def start_folder(out: Path, model: Model, recipe: Recipe, world: D.World, settings: Settings | None = None) -> None:
    """Start a run in `out`: run.json, and no metrics of a run that stopped before its first checkpoint."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / METRICS).unlink(missing_ok=True)
    except OSError as e:
        raise OutputError(f"{out}: cannot write the run folder ({e.strerror or e})") from None
    info = {"spec": model.name, "spec_path": str(model.source.path), "spec_hash": model.spec_hash,
            "input": list(model.input_shape), "recipe": recipe.model_dump(mode="json", exclude_unset=True),
            "recipe_path": str(recipe.path or ""),
            "processes": world.size, "torch": torch.__version__}
    if settings is not None:  # per process
        info |= {"threads": settings.threads, "workers": settings.workers}
    write_atomic(out / "run.json", (json.dumps(info, indent=1) + "\n").encode())


def keep_metrics(out: Path, epochs: int) -> None:
    """Drop metric rows written after the checkpoint a run resumes from (killed before saving)."""
    path = out / METRICS
    if not path.exists():
        return
    rows = metric_rows(path)  # a damaged file is an error naming its line, not a traceback
    kept = [ln for ln, row in rows if row["epoch"] <= epochs]
    if len(kept) != len(rows):
        write_atomic(path, "".join(ln + "\n" for ln in kept).encode())


def resumed(out: Path) -> tuple[Recipe, tuple[int, ...], dict[str, Any]]:
    """The recipe and input shape a run folder was trained with, and its last.pt (loaded once: pass
    it to loop.train as `resume`)."""
    check_folder(out, resume=True)
    data = ckpt.load_run(out / "last.pt")
    try:
        recipe = recipe_from_dict(data["recipe"])
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(k) for k in err["loc"]) or "recipe"
        raise SpecError(Diagnostic(f"{out}/last.pt: its recipe is not valid: {where}: {err['msg']}",
                                   hint="the checkpoint is damaged or was not written by archspec train")) from None
    return recipe, tuple(data["spec"]["input"]), data


def recorded_threads(out: Path) -> int | None:
    """The threads per process that run.json recorded (None if absent or not a count)."""
    try:
        info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    threads = info.get("threads") if isinstance(info, dict) else None
    return threads if isinstance(threads, int) and not isinstance(threads, bool) and 0 < threads <= 1024 else None
