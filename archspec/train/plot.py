"""Loss and error curves of one or several runs, side by side (matplotlib, no display needed)."""

from __future__ import annotations

import json
from pathlib import Path

from archspec.errors import Diagnostic, SpecError
from archspec.io import atomic_path

METRICS = "metrics.jsonl"


def read_metrics(run: str | Path) -> list[dict]:
    """The per-epoch rows of a run folder (or of a metrics.jsonl file)."""
    path = Path(run)
    path = path / METRICS if path.is_dir() else path
    if not path.is_file():
        raise SpecError(Diagnostic(f"no {METRICS} in {run}", hint="give run folders written by archspec train"))
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise SpecError(Diagnostic(f"{path}:{i}: not a JSON line ({e.msg})")) from None
    return rows


def plot_runs(runs: list[str | Path], out: str | Path, labels: list[str] | None = None,
              title: str | None = None, panels: tuple[str, ...] = ("loss", "error")) -> Path:
    """Train (solid) and validation (dashed) curves per run, one panel per quantity; a PNG/SVG/PDF."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = [read_metrics(r) for r in runs]
    labels = labels or [Path(r).name or str(r) for r in runs]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, what in zip(axes[0], panels):
        for k, (rows, label) in enumerate(zip(data, labels)):
            epochs = [r["epoch"] for r in rows]
            for split, style in (("train", "-"), ("val", "--")):
                ys = [_value(r, split, what) for r in rows]
                ax.plot(epochs, ys, style, color=colors[k % len(colors)], label=f"{label} {split}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("error (%)" if what == "error" else what)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        if what == "loss":
            ax.set_yscale("log")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format=out.suffix.lstrip(".") or "png", dpi=120)
    plt.close(fig)
    return out


def _value(row: dict, split: str, what: str) -> float:
    return 100 * (1 - row[f"{split}_acc"]) if what == "error" else row[f"{split}_loss"]
