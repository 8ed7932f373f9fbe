"""`archspec summary resnet152` against torchinfo's summary of torchvision's resnet152.

    python tools/bench_summary.py [--repeat 5]

Both run as whole processes, interleaved by archspec's one timing harness, on the same machine
in one run; the table gives the median wall time and peak memory (ru_maxrss) of each and the
ratio. Goal: archspec at least 15x faster. The two print the same totals, which the tool checks.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

from _bench import Process

from archspec.runtime import time_interleaved

TORCHINFO = """
import torchvision, torchinfo
m = torchvision.models.resnet152()
print(torchinfo.summary(m, input_size=(1, 3, 224, 224), verbose=0))
"""
COMMANDS = {
    "archspec summary resnet152": [sys.executable, "-m", "archspec", "summary", "resnet152"],
    "torchinfo.summary(resnet152)": [sys.executable, "-c", TORCHINFO],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    procs = {name: Process(cmd) for name, cmd in COMMANDS.items()}
    stats = time_interleaved(procs, warmup=0, iters=args.repeat, desc="whole processes")  # drift hits both alike
    peaks = {name: _peak(cmd) for name, cmd in COMMANDS.items()}
    print(f"{'command':32} {'median s':>9} {'peak MiB':>9}")
    for name in COMMANDS:
        print(f"{name:32} {stats[name].p50:9.3f} {peaks[name]:9.0f}")
    ours, theirs = (stats[k].p50 for k in COMMANDS)
    ratio = theirs / ours
    print(f"speed-up: {ratio:.1f}x (goal >= 15x): {'PASS' if ratio >= 15 else 'FAIL'}")
    a = re.search(r"params:\s+([\d,]+)", procs["archspec summary resnet152"].outputs[-1]).group(1)
    t = re.search(r"Total params: ([\d,]+)", procs["torchinfo.summary(resnet152)"].outputs[-1]).group(1)
    print(f"params: archspec {a}, torchinfo {t}: {'same' if a == t else 'DIFFERENT'}")


def _peak(cmd: list[str]) -> float:
    """Peak RSS of one more run of `cmd`, measured in a fresh child so the maxima do not mix."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *cmd], check=True, capture_output=True, text=True)
    return int(out.stdout) / 1024


if __name__ == "__main__":
    main()
