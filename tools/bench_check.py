"""How `archspec check` scales with depth: whole-process time for specs of 1,250 to 10,000 layers.

    python tools/bench_check.py [--repeat 5]

Each spec repeats a 4-layer unit (conv 3x3, bn, relu, conv 1x1) with `repeat`. The goal: 10,000
layers check in under 2 s (whole process, best of N), and time grows linearly with depth: the
cost per layer of a warm load (a second load in the same process, so start-up and one-off costs
drop out) at 10,000 layers stays within 1.5x of that at 1,250 layers.
The whole processes are timed by archspec's one timing harness, the two kinds of run interleaved.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from _bench import Process

from archspec.runtime import time_interleaved

UNIT = """archspec: 1
name: deep{n}
input: {{shape: [16, 32, 32]}}
layers:
  - identity
  - repeat: {reps}
    body:
      - conv: {{out: 16, kernel: 3, pad: 1, bias: false}}
      - bn
      - relu
      - conv: {{out: 16, kernel: 1}}
"""


# a warm load: one-off costs (Pydantic building its validators, first imports) are paid by the first
LOAD = ("import sys, time; import archspec; archspec.load(sys.argv[1]); t = time.perf_counter(); "
        "archspec.load(sys.argv[1]); print(time.perf_counter() - t)")


def time_check(path: Path, repeat: int) -> tuple[float, float]:
    """Best of `repeat`: (whole `archspec check` process, a warm load+expansion inside a process)."""
    check = Process([sys.executable, "-m", "archspec", "check", "-q", str(path)])
    load = Process([sys.executable, "-c", LOAD, str(path)])  # prints its own time
    stats = time_interleaved({"check": check, "load": load}, warmup=0, iters=repeat, desc=path.stem)
    return min(stats["check"].latencies), min(float(out) for out in load.outputs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        results = {}
        for layers in (1250, 2500, 5000, 10000):
            path = Path(d) / f"deep{layers}.yaml"
            path.write_text(UNIT.format(n=layers, reps=layers // 4))
            results[layers] = time_check(path, args.repeat)
    print(f"{'layers':>7} {'process s':>10} {'warm load s':>12} {'us/layer':>9}")
    for n, (whole, inner) in results.items():
        print(f"{n:>7} {whole:10.3f} {inner:12.3f} {inner / n * 1e6:9.1f}")
    whole10k = results[10000][0]
    per_layer = {n: inner / n for n, (_, inner) in results.items()}
    ratio = per_layer[10000] / per_layer[1250]
    print(f"10,000 layers, whole process: {whole10k:.2f} s (goal < 2 s): {'PASS' if whole10k < 2 else 'FAIL'}")
    verdict = "PASS" if ratio <= 1.5 else "FAIL"
    print(f"warm load time per layer, 10,000 vs 1,250 layers: {ratio:.2f}x (linear growth: ~1; goal <= 1.5): "
          f"{verdict}")
    xs, ys = list(results), [inner for _, inner in results.values()]
    slope, intercept = statistics.linear_regression(xs, ys)
    r2 = statistics.correlation(xs, ys) ** 2
    print(f"least-squares fit of load time: {intercept * 1e3:.1f} ms + {slope * 1e6:.1f} us/layer, R^2 = {r2:.3f}")


if __name__ == "__main__":
    main()
