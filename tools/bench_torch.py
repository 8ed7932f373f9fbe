"""Forward+backward throughput of archspec's resnet50 module against torchvision's, side by side.

Both models train on the same batch in alternating timed rounds (so load on a shared machine hits
both alike); the ratio of median throughputs is the figure. Goal: archspec / torchvision >= 0.97.

    python tools/bench_torch.py [--spec resnet50] [--batch 16] [--rounds 6] [--iters 1] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torchvision

import archspec


def step(model: torch.nn.Module, x: torch.Tensor) -> None:
    model.zero_grad(set_to_none=True)
    out = model(x)
    out.float().sum().backward()


def images_per_s(model: torch.nn.Module, x: torch.Tensor, iters: int) -> float:
    t = time.perf_counter()
    for _ in range(iters):
        step(model, x)
    return iters * x.shape[0] / (time.perf_counter() - t)


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
    for m in (ours, ref):  # warm-up: allocator, oneDNN primitives
        step(m, x)

    rates: dict[str, list[float]] = {"archspec": [], "torchvision": []}
    for r in range(args.rounds):
        pair = [("archspec", ours), ("torchvision", ref)]
        for name, m in pair if r % 2 == 0 else pair[::-1]:
            rates[name].append(images_per_s(m, x, args.iters))
    a, t = (statistics.median(rates[k]) for k in ("archspec", "torchvision"))
    print(f"{args.spec}, CPU, batch {args.batch}, {torch.get_num_threads()} threads, forward+backward, "
          f"median of {args.rounds} alternating rounds x {args.iters} steps")
    print(f"  archspec     {a:8.2f} images/s")
    print(f"  torchvision  {t:8.2f} images/s")
    print(f"  ratio        {a / t:8.3f}  (goal >= 0.97)")


if __name__ == "__main__":
    main()
