"""Loss and error curves of one or several runs, side by side (matplotlib, no display needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from archspec.errors import Diagnostic, SpecError
from archspec.io import atomic_path

METRICS = "metrics.jsonl"
# solid: training, dashed: validation
SPLITS: tuple[tuple[str, Literal["-", "--"]], ...] = (("train", "-"), ("val", "--"))


def read_metrics(run: str | Path) -> list[dict[str, Any]]:
    """The per-epoch rows of a run folder (or of a metrics.jsonl file)."""
    path = Path(run)
    path = path / METRICS if path.is_dir() else path
    if not path.is_file():
        raise SpecError(Diagnostic(f"no {METRICS} in {run}", hint="give run folders written by archspec train"))
    return [row for _, row in metric_rows(path)]


def metric_rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(line, row) of each row of a metrics.jsonl, each checked: an object whose epoch and
    losses and accuracies are numbers. SpecError at the file's line otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(Diagnostic(f"{path}: cannot read it ({e})")) from None
    rows = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise SpecError(Diagnostic(f"{path}:{i}: not a JSON line ({e.msg})")) from None
        problem = _bad_row(row)
        if problem:
            raise SpecError(Diagnostic(f"{path}:{i}: not a metrics row: {problem}",
                                       hint=f"{METRICS} holds one JSON object per epoch, as archspec train writes it"))
        rows.append((line, row))
    return rows


def _bad_row(row: Any) -> str:
    if not isinstance(row, dict):
        return f"a {type(row).__name__}, not an object"
    for key in ("epoch", *(f"{split}_{what}" for split, _ in SPLITS for what in ("loss", "acc"))):
        value = row.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            return f"'{key}' is {'missing' if key not in row else json.dumps(value)[:40]}, not a number"
    return ""


def run_names(runs: list[str | Path]) -> list[str]:
    """Legend names: each run's folder name (a metrics.jsonl file: its folder's); where two runs
    share a name, the folder above is kept too (a/lenet5, b/lenet5)."""
    folders = [Path(r).resolve() for r in runs]
    folders = [p.parent if p.suffix == ".jsonl" else p for p in folders]
    names = [p.name for p in folders]
    return [f"{p.parent.name}/{p.name}" if names.count(p.name) > 1 else p.name for p in folders]


def log_floor(data: list[list[dict[str, Any]]]) -> float:
    """Where a log error axis stops: half the smallest error above zero (a 0% point is drawn there)."""
    errors = [_value(r, split, "error") for rows in data for r in rows for split, _ in SPLITS]
    return min((e for e in errors if e > 0), default=0.02) / 2


def figure(runs: list[str | Path], labels: list[str] | None = None, title: str | None = None,
           panels: tuple[str, ...] = ("loss", "error"), log: bool = False) -> Any:
    """The matplotlib figure: one panel per quantity, a colour per run, one legend of the run
    names below. Loss is on a log axis always; error with `log` (sub-1% errors show)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    data = [read_metrics(r) for r in runs]
    labels = labels or run_names(runs)
    floor = log_floor(data) if log else 0.0
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.3), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, what in zip(axes[0], panels):
        for k, rows in enumerate(data):
            epochs = [r["epoch"] for r in rows]
            for split, style in SPLITS:
                ys = [max(_value(r, split, what), floor) if what == "error" else _value(r, split, what) for r in rows]
                ax.plot(epochs, ys, style, color=colors[k % len(colors)])
        ax.set_xlabel("epoch")
        ax.set_ylabel("error (%)" if what == "error" else what)
        ax.grid(alpha=0.3, which="both" if what == "loss" or log else "major")
        if what == "loss":
            ax.set_yscale("log")
        elif log:
            ax.set_yscale("log")
            ax.set_ylim(floor * 0.8, 100)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.text(0.99, 0.01, f"0% drawn at {floor:.2g}%", transform=ax.transAxes, ha="right", va="bottom",
                    fontsize=7, color="0.4")
    handles = [Line2D([], [], color=colors[k % len(colors)], label=name) for k, name in enumerate(labels)]
    handles += [Line2D([], [], color="0.3", linestyle=style, label=split) for split, style in SPLITS]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    rows_of_legend = -(-len(handles) // 6)
    fig.tight_layout(rect=(0, 0.05 * rows_of_legend + 0.02, 1, 1))
    return fig


def plot_runs(runs: list[str | Path], out: str | Path, labels: list[str] | None = None,
              title: str | None = None, panels: tuple[str, ...] = ("loss", "error"), log: bool = False) -> Path:
    """Train (solid) and validation (dashed) curves of the runs in one figure; a PNG/SVG/PDF."""
    import matplotlib.pyplot as plt

    fig = figure(runs, labels, title, panels, log)
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format=out.suffix.lstrip(".") or "png", dpi=120)
    plt.close(fig)
    return out


def _value(row: dict[str, Any], split: str, what: str) -> float:
    return float(100 * (1 - row[f"{split}_acc"]) if what == "error" else row[f"{split}_loss"])
