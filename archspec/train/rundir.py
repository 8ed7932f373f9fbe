"""Run folders: what `archspec train` writes beside its checkpoints, and what --resume reads back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from archspec.errors import Diagnostic, SpecError
from archspec.io import write_atomic
from archspec.model import Model
from archspec.train import checkpoint as ckpt
from archspec.train import distributed as D
from archspec.train.plot import METRICS
from archspec.train.recipe import Recipe, recipe_from_dict
from archspec.train.speed import Settings


def check_folder(out: Path, resume: bool) -> None:
    if resume and not (out / "last.pt").exists():
        raise SpecError(Diagnostic(f"nothing to resume: {out} holds no last.pt"))
    if not resume and ((out / "last.pt").exists() or (out / METRICS).exists()):
        raise SpecError(Diagnostic(f"{out} already holds a run",
                                   hint="add --resume to continue it, or give another --out"))


def start_folder(out: Path, model: Model, recipe: Recipe, world: D.World, settings: Settings | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
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
    rows = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    kept = [ln for ln in rows if json.loads(ln)["epoch"] <= epochs]
    if len(kept) != len(rows):
        write_atomic(path, "".join(ln + "\n" for ln in kept).encode())


def resumed(out: Path) -> tuple[Recipe, tuple[int, ...], dict[str, Any]]:
    """The recipe and input shape a run folder was trained with, and its last.pt (loaded once: pass
    it to loop.train as `resume`)."""
    data = ckpt.load_run(out / "last.pt")
    return recipe_from_dict(data["recipe"]), tuple(data["spec"]["input"]), data
