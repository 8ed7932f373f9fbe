"""Training throughput of `archspec train`'s default threads and loader workers against a sweep.

For each case (a spec, its input size, a batch), one Trainer trains on the case's recipe data
(the built-in digits by default) with every setting in turn: torch threads x loader workers,
plus the setting `archspec train` chooses by default (archspec.train.speed), timed as its own
entry. Settings alternate in rounds of rotating order in this one process (archspec's timing
harness), so a shared machine's drift hits all alike; a call is one epoch of optimizer steps
(or --steps), its loader's start included, as in a run. The figure is the default's images/s
over the best setting's: the median over rounds of their ratio in each round (goal >= 0.9).

    python tools/bench_train.py [--case lenet5@32 --case cifar_resnet20:3x16x16@128 ...]
        [--threads 1,2] [--workers 0,1] [--rounds 5] [--steps N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from itertools import islice, product
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's archspec

import archspec
from archspec.cli import parse_input
from archspec.runtime import time_interleaved
from archspec.train import distributed as D
from archspec.train.loop import Trainer, run_settings
from archspec.train.recipe import load_recipe
from archspec.train.speed import usable_cores

CASES = ["lenet5@32", "cifar_resnet20:3x16x16@128", "cifar_resnet20@128"]
GOAL = 0.9


def trainer_for(case: str, out: Path) -> Trainer:
    """`SPEC[:CxHxW][@BATCH]`: the spec's built-in recipe at that input size and batch."""
    spec, _, batch = case.partition("@")
    name, _, shape = spec.partition(":")
    model = archspec.load(name, parse_input(shape or None))
    recipe = load_recipe(None, model.name)
    recipe = recipe.override(batch_size=int(batch)) if batch else recipe
    return Trainer(model, recipe, out, D.World(), torch.device("cpu"), None)


def steps(trainer: Trainer, threads: int, workers: int, n: int) -> None:
    """`n` optimizer steps with this setting, from a fresh loader (its workers start, as each epoch's)."""
    torch.set_num_threads(threads)
    trainer.data.workers = workers
    trainer.net.train()
    for x, y in islice(trainer.data.train_loader(0, 0, 0, 1, False), n):
        trainer.step(x, y)


def bench(case: str, threads: list[int], workers: list[int], rounds: int, n_steps: int | None) -> float:
    with tempfile.TemporaryDirectory() as d:
        t = trainer_for(case, Path(d))
        load = os.getloadavg()[0]
        chosen = run_settings(t, None, None)
        n = min(n_steps or t.data.steps_per_epoch, t.data.steps_per_epoch)
        grid = {f"t{a} w{b}": (a, b) for a, b in product(threads, workers)}
        setting = {"default": (chosen.threads, chosen.workers), **grid}
        calls = {k: (lambda a=a, b=b: steps(t, a, b, n)) for k, (a, b) in setting.items()}
        before = torch.get_num_threads()
        try:
            stats = time_interleaved(calls, warmup=1, iters=rounds, desc=case)
        finally:
            torch.set_num_threads(before)
    rate = {k: n * t.data.batch / s.p50 for k, s in stats.items()}  # images/s at the median round
    best = max(grid, key=rate.__getitem__)
    # the default's speed over the best's, round by round (drift between rounds cancels), median
    ratio = float(np.median([b / d for b, d in zip(stats[best].latencies, stats["default"].latencies)]))
    print(f"{case}: {t.model.macs * t.data.batch / 1e9:.3g} GMACs a step, {usable_cores()} cores "
          f"(load {load:.1f} at the start), {n} steps a call, median of {rounds} rounds")
    print(f"  default: {chosen.header()}")
    for k, v in rate.items():
        print(f"  {k:<10}{v:>9,.0f} images/s" + ("  best of the sweep" if k == best else ""))
    print(f"  default / best (median per-round ratio): {ratio:.2f} (goal >= {GOAL}): "
          f"{'PASS' if ratio >= GOAL else 'FAIL'}")
    return ratio


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", action="append", help=f"SPEC[:CxHxW][@BATCH], repeatable (default: {' '.join(CASES)})")
    ap.add_argument("--threads", default=None, help="threads to sweep, e.g. 1,2 (default: powers of 2 up to the cores)")
    ap.add_argument("--workers", default="0,1", help="loader workers to sweep")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=None, help="steps a call (default: an epoch)")
    args = ap.parse_args()
    cores = usable_cores()
    threads = ([int(x) for x in args.threads.split(",")] if args.threads
               else sorted({min(2 ** k, cores) for k in range(cores.bit_length() + 1)}))
    workers = [int(x) for x in args.workers.split(",")]
    ratios = [bench(c, threads, workers, args.rounds, args.steps) for c in args.case or CASES]
    print(f"worst default / best: {min(ratios):.2f} (goal >= {GOAL}): {'PASS' if min(ratios) >= GOAL else 'FAIL'}")


if __name__ == "__main__":
    main()
