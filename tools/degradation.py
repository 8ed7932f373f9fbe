"""The degradation experiment of He et al. 2015 (Fig. 1 and 6): plain-20/56 against ResNet-20/56.

Deeper plain nets train to a HIGHER training error than shallower ones, which is not
overfitting (it is the training error) and which residual shortcuts remove. Here the four
built-in specs train by the same recipe (the built-in `cifar` recipe: the paper's SGD, momentum,
weight decay, step schedule and crop augmentation) on the same data, with the same seed and
number of steps. archspec downloads nothing, so the data is the built-in digits as 3-channel
images; --size sets their side (default 16: the specs end in global pooling, so any size fits,
and 16 px keeps the 56-layer nets at seconds an epoch on one CPU core; the crop padding scales
with the size: 2 px at 16 as the paper's 4 px at 32).

Prints each run's final and best errors and the ratios that show degradation (deep/shallow
training error, plain and residual), and draws the training (solid) and validation (dashed)
error curves to docs/img/degradation.png.

    python tools/degradation.py [--epochs 40] [--size 16] [--jobs 2] [--out runs/degradation]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archspec.train.plot import read_metrics  # noqa: E402

SPECS = ("cifar_plain20", "cifar_plain56", "cifar_resnet20", "cifar_resnet56")
FLOOR = 0.1  # % error: where the log axis stops (a 0% point is drawn there)


def train_one(job: tuple[str, int, int, str, int]) -> None:
    """Train one spec in its own process (one torch thread each: the runs share the cores)."""
    spec, size, epochs, out, threads = job
    import archspec
    from archspec.train.loop import train
    from archspec.train.recipe import load_recipe

    model = archspec.load(spec, (3, size, size))
    recipe = load_recipe("cifar")
    milestones = [round(epochs * 0.5), round(epochs * 0.75)]  # the paper's 32k and 48k of 64k iterations
    crop = recipe.augment.random_crop.model_copy(update={"padding": max(1, round(4 * size / 32))})  # 4 px at 32 px
    recipe = recipe.override(epochs=epochs, schedule=recipe.schedule.model_copy(update={"milestones": milestones}),
                             augment=recipe.augment.model_copy(update={"random_crop": crop}))
    run = Path(out) / spec
    shutil.rmtree(run, ignore_errors=True)  # this tool's own output: start afresh
    train(model, recipe, run, log=None, progress_bar=False, threads=threads)


def plot(out: Path, runs: dict[str, list[dict]], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, family, label in ((axes[0], "plain", "plain"), (axes[1], "resnet", "ResNet")):
        for spec, color in ((f"cifar_{family}20", "tab:orange"), (f"cifar_{family}56", "tab:red")):
            rows = runs[spec]
            epochs = [r["epoch"] for r in rows]
            depth = spec[-2:]
            for split, style in (("train", "-"), ("val", "--")):  # 0% drawn at the floor of the log axis
                ax.plot(epochs, [max(100 * (1 - r[f"{split}_acc"]), FLOOR) for r in rows], style, color=color,
                        label=f"{label}-{depth} {split}")
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
        ax.set_ylim(FLOOR * 0.8, 100)
        ax.grid(alpha=0.3, which="both")
        ax.legend()
    axes[0].set_ylabel("error (%)")
    fig.suptitle(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def report(runs: dict[str, list[dict]]) -> dict:
    """Print each run's errors; the training error is the mean of the last 5 epochs (it jitters)."""
    def err(rows: list[dict], split: str) -> float:
        return sum(100 * (1 - r[f"{split}_acc"]) for r in rows) / len(rows)

    tail = {s: err(runs[s][-5:], "train") for s in SPECS}
    print(f"{'spec':16} {'train err':>10} {'val err':>8} {'best val err':>13} {'train s/epoch':>14}  "
          "(errors: mean of the last 5 epochs)")
    for s in SPECS:
        best = 100 * (1 - max(r["val_acc"] for r in runs[s]))
        print(f"{s:16} {tail[s]:9.2f}% {err(runs[s][-5:], 'val'):7.2f}% {best:12.2f}% "
              f"{sum(r['seconds'] for r in runs[s]) / len(runs[s]):14.1f}")
    mid = len(runs[SPECS[0]]) // 2
    early = {s: 100 * (1 - runs[s][mid - 1]["train_acc"]) for s in SPECS}
    print("training error, 56 layers minus 20 layers: "
          f"plain {tail['cifar_plain56'] - tail['cifar_plain20']:+.2f} points, "
          f"ResNet {tail['cifar_resnet56'] - tail['cifar_resnet20']:+.2f} points; "
          f"at 56 layers, plain minus ResNet: {tail['cifar_plain56'] - tail['cifar_resnet56']:+.2f} points")
    print(f"at epoch {mid}: train error " + ", ".join(f"{s.removeprefix('cifar_')} {early[s]:.2f}%" for s in SPECS))
    return {"train_error_last5": tail, "train_error_mid": early}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--size", type=int, default=16, help="image side in pixels (the digits are 8x8)")
    ap.add_argument("--jobs", type=int, default=2, help="runs trained at once, one process each")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per run")
    ap.add_argument("--out", default="runs/degradation")
    ap.add_argument("--plot", default=str(ROOT / "docs" / "img" / "degradation.png"))
    ap.add_argument("--report", action="store_true", help="do not train: report and plot the runs in --out")
    args = ap.parse_args()

    wall = 0.0
    if not args.report:
        jobs = [(s, args.size, args.epochs, args.out, args.threads) for s in sorted(SPECS, key=lambda s: -int(s[-2:]))]
        start = time.perf_counter()
        with get_context("spawn").Pool(args.jobs) as pool:  # the 56-layer runs first: the longest
            pool.map(train_one, jobs, chunksize=1)
        wall = time.perf_counter() - start
    runs = {s: read_metrics(Path(args.out) / s) for s in SPECS}
    summary = report(runs)
    if wall:
        print(f"{len(SPECS)} runs, {args.epochs} epochs each, {args.size}x{args.size} digits, {args.jobs} at once: "
              f"{wall:.0f} s wall")
    title = (f"Digits as 3x{args.size}x{args.size}, {args.epochs} epochs, He et al.'s CIFAR recipe "
             f"(solid: training error, dashed: validation error)")
    plot(Path(args.plot), runs, title)
    summary |= {"epochs": args.epochs, "size": args.size, "wall_s": wall}
    (Path(args.out) / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"wrote {args.plot} and {args.out}/summary.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
