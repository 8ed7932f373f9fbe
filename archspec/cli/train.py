"""`archspec train SPEC --recipe R --out RUN_DIR`: train a spec by a declarative recipe.

Under torchrun (`torchrun --nproc-per-node N -m archspec train ...`) every process runs this;
`--nproc N` starts torchrun itself.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from archspec.cli import count, seed

if TYPE_CHECKING:
    from archspec.train.recipe import Recipe


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("train", help="train a spec by a recipe (checkpoints, resume, DDP)")
    p.add_argument("spec", metavar="SPEC", help="a spec file or built-in name")
    p.add_argument("--recipe", metavar="R", help="a recipe file or built-in name (default: the spec's built-in one)")
    p.add_argument("--out", metavar="RUN_DIR", help="the run folder (default: runs/SPEC)")
    p.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR from last.pt")
    p.add_argument("--epochs", type=count(1, 100_000), help="override the recipe's epochs")
    p.add_argument("--batch-size", type=count(1, 1 << 20), help="override the recipe's (global) batch size")
    p.add_argument("--seed", type=seed, help="override the recipe's seed")
    p.add_argument("--input", help="override the spec's input size, CxHxW (kept by --resume)")
    p.add_argument("--data", metavar="SOURCE", help="override the training data: digits, a folder or an .npz")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="override the recipe's device")
    p.add_argument("--nproc", type=count(1, 256), default=1, help="processes (DistributedDataParallel via torchrun)")
    p.add_argument("--threads", type=count(1, 1024),
                   help="CPU threads per process (default: chosen for the model and cores; see the run header)")
    p.add_argument("--workers", type=count(0, 256),
                   help="data-loader worker processes (default: the recipe's, else chosen)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def child_argv(args: argparse.Namespace) -> list[str]:
    """The same command without --nproc, for the processes torchrun starts."""
    argv = ["train", args.spec]
    for flag in ("recipe", "out", "epochs", "batch_size", "seed", "input", "data", "device", "threads",
                 "workers"):
        value = getattr(args, flag)
        if value is not None:
            argv += [f"--{flag.replace('_', '-')}", str(value)]
    return argv + (["--resume"] if args.resume else []) + (["--quiet"] if args.quiet else [])


def with_overrides(args: argparse.Namespace, recipe: Recipe) -> Recipe:
    """The recipe with the fields given on the command line."""
    update = {k: getattr(args, k) for k in ("epochs", "batch_size", "seed", "device") if getattr(args, k) is not None}
    if args.data:
        from archspec.train.recipe import resolve_data

        update["data"] = recipe.data.model_copy(update={"train": resolve_data(args.data), "val": None})
    return recipe.override(**update) if update else recipe


def run(args: argparse.Namespace) -> int:
    if args.nproc > 1 and "WORLD_SIZE" not in os.environ:
        from archspec.train.distributed import launch

        return launch(args.nproc, child_argv(args))
    from archspec import budget, load
    from archspec.cli import UsageError, parse_input
    from archspec.loader import find_spec
    from archspec.train.distributed import from_env
    from archspec.train.loop import train
    from archspec.train.recipe import load_recipe
    from archspec.train.rundir import resumed

    out = Path(args.out or Path("runs") / find_spec(args.spec).stem)
    if args.resume:
        if args.recipe or args.input:
            raise UsageError("--resume continues a run with its own recipe and input size; drop --recipe and --input")
        recipe, shape, last = resumed(out)  # last.pt, read once
        model = load(args.spec, shape)
    else:
        model = load(args.spec, parse_input(args.input))
        recipe, last = load_recipe(args.recipe, model.name), None
    recipe = with_overrides(args, recipe)
    budget.check(model.graph, "training", batch=recipe.batch_size, train=True)
    result = train(model, recipe, out, resume=last or False, progress_bar=not args.quiet,
                   threads=args.threads, workers=args.workers)
    if from_env().main:
        print(f"best val acc {100 * result['best_val_acc']:.2f}% (epoch {result['best_epoch']}); "
              f"wrote {out}/last.pt, best.pt, best.safetensors, metrics.jsonl")
    return 0
