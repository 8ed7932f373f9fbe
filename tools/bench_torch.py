"""Forward+backward throughput of archspec's resnet50 module against torchvision's, side by side.

Both models train on the same batch in alternating timed rounds (archspec's one timing harness,
archspec.runtime.bench), so load on a shared machine hits both alike; throughput is images per
second at the median round, and the ratio of the two is the figure. Goal: archspec / torchvision >= 0.97.

    python tools/bench_torch.py [--spec resnet50] [--batch 16] [--rounds 6] [--iters 1] [--threads N]
"""

from __future__ import annotations

import argparse
from functools import partial

import torch
import torchvision

import archspec
from archspec.runtime import time_interleaved


def steps(model: torch.nn.Module, x: torch.Tensor, n: int) -> None:
    """`n` forward+backward steps on the batch `x`."""
    for _ in range(n):
        model.zero_grad(set_to_none=True)
        model(x).float().sum().backward()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default="resnet50")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=6, help="timed rounds per model, alternating")
    ap.add_argument("--iters", type=int, default=1, help="steps per round")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    ours = archspec.load(args.spec).to_torch(seed=0).train()
    ref = getattr(torchvision.models, args.spec)().train()
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(args.batch, *archspec.load(args.spec).input_shape, generator=torch.Generator().manual_seed(0))
    models = {"archspec": ours, "torchvision": ref}
    calls = {k: partial(steps, m, x, args.iters) for k, m in models.items()}
    stats = time_interleaved(calls, warmup=1, iters=args.rounds, desc="forward+backward")  # warm-up: allocator, oneDNN
    a, t = (args.iters * args.batch / stats[k].p50 for k in models)  # images/s at the median round
    print(f"{args.spec}, CPU, batch {args.batch}, {torch.get_num_threads()} threads, forward+backward, "
          f"median of {args.rounds} alternating rounds x {args.iters} steps")
    print(f"  archspec     {a:8.2f} images/s")
    print(f"  torchvision  {t:8.2f} images/s")
    print(f"  ratio        {a / t:8.3f}  (goal >= 0.97)")


if __name__ == "__main__":
    main()
