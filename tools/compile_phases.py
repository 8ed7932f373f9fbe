"""Where the time of `archspec compile MODEL` goes, phase by phase, in one fresh process.

    python tools/compile_phases.py [--model resnet50] [--repeat 3]

Prints the best of N of: interpreter start (a bare `python -c pass`), importing archspec and its
ONNX backend, loading and expanding the spec, compiling (passes and layout, while the pool starts
drawing the weights), and writing (waiting for each weight in turn, writing, fsync and rename).
For scale it also times drawing every weight at once, which a compile overlaps with its writing.
It explains the compile goals of tools/bench_compile.py and bench_transformers.py; it sets no
goal of its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from _bench import byte_compile

PHASES = """
import json, sys, tempfile, time
t0 = time.perf_counter()
import archspec, archspec.onnx_backend.compile as c, archspec.onnx_backend.save as s, archspec.weights
t1 = time.perf_counter()
model = archspec.load(sys.argv[1])
t2 = time.perf_counter()
compiled = c.compile_model(model.program)
t3 = time.perf_counter()
with tempfile.TemporaryDirectory() as d:
    s.save_model(compiled, d + "/model.onnx")
    t4 = time.perf_counter()
    archspec.weights.init_weights(model.graph, 0)
    t5 = time.perf_counter()
print(json.dumps({"import archspec + ONNX backend": t1 - t0, "load " + sys.argv[1]: t2 - t1,
                  "compile (passes, layout; drawing starts)": t3 - t2,
                  "write (waits for each weight; fsync, rename)": t4 - t3, "draw": t5 - t4}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet50", help="a built-in or a spec file")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    best: dict[str, float] = {}
    byte_compile()
    for _ in range(args.repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        runs = {"interpreter start": time.perf_counter() - t}
        phases = [sys.executable, "-c", PHASES, args.model]
        out = subprocess.run(phases, check=True, capture_output=True, text=True).stdout
        runs |= json.loads(out)
        best = {k: min(v, best.get(k, v)) for k, v in runs.items()}
    draw = best.pop("draw")
    for name, seconds in best.items():
        print(f"{name:48s} {seconds:6.3f} s")
    print(f"{'sum':48s} {sum(best.values()):6.3f} s")
    print(f"for scale, drawing every weight at once takes {draw:.3f} s")


if __name__ == "__main__":
    main()
