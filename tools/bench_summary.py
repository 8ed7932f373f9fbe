"""`archspec summary resnet152` against torchinfo's summary of torchvision's resnet152.

    python tools/bench_summary.py [--repeat 5]

Both run as whole processes, interleaved, on the same machine in one run; the table gives
the median wall time and peak memory (ru_maxrss) of each and the ratio. Goal: archspec at
least 15x faster. The two print the same totals, which the tool checks.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time

TORCHINFO = """
import torchvision, torchinfo
m = torchvision.models.resnet152()
print(torchinfo.summary(m, input_size=(1, 3, 224, 224), verbose=0))
"""
COMMANDS = {
    "archspec summary resnet152": [sys.executable, "-m", "archspec", "summary", "resnet152"],
    "torchinfo.summary(resnet152)": [sys.executable, "-c", TORCHINFO],
}


def run(cmd: list[str]) -> tuple[float, str]:
    """Wall seconds of a whole process, and its output."""
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    times: dict[str, list[float]] = {k: [] for k in COMMANDS}
    outputs = {}
    for _ in range(args.repeat):  # interleaved, so drift hits both alike
        for name, cmd in COMMANDS.items():
            wall, outputs[name] = run(cmd)
            times[name].append(wall)
    peaks = {name: _peak(cmd) for name, cmd in COMMANDS.items()}
    ours, theirs = (statistics.median(times[k]) for k in COMMANDS)
    print(f"{'command':32} {'median s':>9} {'peak MiB':>9}")
    for name in COMMANDS:
        print(f"{name:32} {statistics.median(times[name]):9.3f} {peaks[name]:9.0f}")
    ratio = theirs / ours
    print(f"speed-up: {ratio:.1f}x (goal >= 15x): {'PASS' if ratio >= 15 else 'FAIL'}")
    a = re.search(r"params:\s+([\d,]+)", outputs["archspec summary resnet152"]).group(1)
    t = re.search(r"Total params: ([\d,]+)", outputs["torchinfo.summary(resnet152)"]).group(1)
    print(f"params: archspec {a}, torchinfo {t}: {'same' if a == t else 'DIFFERENT'}")


def _peak(cmd: list[str]) -> float:
    """Peak RSS of one more run of `cmd`, measured in a fresh child so the maxima do not mix."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *cmd], check=True, capture_output=True, text=True)
    return int(out.stdout) / 1024


if __name__ == "__main__":
    main()
