"""Time `archspec summary NAME` for every built-in spec, each as a whole process.

The goal is under 1 s per spec, whole process. Timings on a shared machine drift, so each
spec takes the best of --repeat runs (timed by archspec's one harness, archspec.runtime.bench),
and every time is also printed as a ratio to a bare interpreter start (`python -c pass`) measured
in the same run, beside the process's CPU time (user + sys), which contention from other processes
inflates less than wall time. --torchinfo adds torchinfo's summary of the torchvision model of the
same name (a whole process too), side by side.

    python tools/bench_summary_zoo.py [--repeat 3] [--torchinfo resnet152]
"""

from __future__ import annotations

import argparse
import sys

from _bench import Process

from archspec.loader import builtin_names
from archspec.runtime import time_calls

GOAL_S = 1.0
TORCHINFO = ("import torchinfo, torchvision.models as tv; "
             "torchinfo.summary(getattr(tv, '{name}')(), input_size=(1, 3, 224, 224), verbose=0)")


def best_time(cmd: list[str], repeat: int) -> tuple[float, float]:
    """Best wall and CPU seconds of `repeat` runs of `cmd`; fails loudly if the command fails."""
    proc = Process(cmd)
    stats = time_calls(proc, warmup=0, iters=repeat)
    return min(stats.latencies), min(proc.cpu)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, help="runs per spec; the best counts (default 3)")
    p.add_argument("--torchinfo", nargs="*", default=[], metavar="NAME",
                   help="also time torchinfo on these torchvision models")
    args = p.parse_args(argv)
    py = sys.executable
    base, _ = best_time([py, "-c", "pass"], args.repeat)
    print(f"python -c pass: {base:.3f} s (the unit of the ratio column)")
    print(f"{'spec':22s} {'wall s':>7s} {'x start':>8s} {'cpu s':>6s}  under {GOAL_S:g} s")
    times = {}
    for name in builtin_names():
        t, cpu = best_time([py, "-m", "archspec", "summary", name], args.repeat)
        times[name] = t
        print(f"{name:22s} {t:7.3f} {t / base:8.1f} {cpu:6.3f}  {'yes' if t < GOAL_S else 'NO'}")
    slow = [n for n, t in times.items() if t >= GOAL_S]
    worst = max(times, key=times.__getitem__)
    print(f"{len(times) - len(slow)} of {len(times)} under {GOAL_S:g} s; slowest {worst} "
          f"{times[worst]:.3f} s ({times[worst] / base:.1f}x interpreter start)")
    for name in args.torchinfo:
        t, _ = best_time([py, "-c", TORCHINFO.format(name=name)], 1)
        ours = times.get(name) or best_time([py, "-m", "archspec", "summary", name], args.repeat)[0]
        print(f"torchinfo {name}: {t:.3f} s; archspec summary is {t / ours:.1f}x faster")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
