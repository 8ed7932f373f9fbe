"""Where the time goes: onnxruntime's own per-kernel profile of archspec's ONNX against
torch.onnx.export (dynamo) of torchvision's model, op type by op type.

    python tools/profile_kernels.py [MODEL ...] [--runs 100] [--threads 1]

The latency benches (bench_mobile.py, bench_transformers.py) time whole runs; at parity their
per-run ratio moves by about 1% from one process to the next. This tool says which kernels differ:
both models built as those benches build them (torchvision's weights in archspec's file), run in
alternating order with onnxruntime's profiler on, and summed per op type (microseconds per run);
the first row is the median time of a whole run as the profiler saw it.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from bench_mobile import EXPORT, RANDOMISE, SAVE_STATE

import archspec


def build(name: str, out: Path) -> dict[str, Path]:
    """archspec's file (with the very weights torch exported) and dynamo's, for model `name`."""
    dynamo, state, ours = out / f"{name}.dynamo.onnx", out / f"{name}.pt", out / f"{name}.archspec.onnx"
    for script in (EXPORT.format(name=name, path=str(dynamo), randomise=RANDOMISE),
                   SAVE_STATE.format(name=name, path=str(state), randomise=RANDOMISE)):
        subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    archspec.load(name).save_onnx(ours, weights=state, batch=1)
    return {"archspec": ours, "dynamo": dynamo}


def run_profiled(files: dict[str, Path], runs: int, threads: int, out: Path) -> dict[str, Any]:
    """A session per file with onnxruntime's profiler on (its optimised graph written to
    `out/<key>.ort.onnx`), each run `runs` times on one random input, in alternating order."""
    import onnxruntime as ort

    sessions = {}
    for k, f in files.items():
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        opts.enable_profiling, opts.profile_file_prefix = True, str(out / k)
        opts.optimized_model_filepath, opts.log_severity_level = str(out / f"{k}.ort.onnx"), 3
        sessions[k] = ort.InferenceSession(str(f), opts, providers=["CPUExecutionProvider"])
    first = next(iter(sessions.values())).get_inputs()[0]
    x = np.random.default_rng(0).standard_normal((1, *first.shape[1:])).astype(np.float32)
    order = list(sessions)
    for i in range(runs):
        for k in order[i % 2:] + order[:i % 2]:
            sessions[k].run(None, {sessions[k].get_inputs()[0].name: x})
    return sessions


def profile(files: dict[str, Path], runs: int, threads: int, out: Path) -> dict[str, tuple[collections.Counter, float]]:
    """Per file: microseconds per run of each op type, and the median microseconds of a whole run."""
    sessions = run_profiled(files, runs, threads, out)
    result = {}
    for k, s in sessions.items():
        events = json.loads(Path(s.end_profiling()).read_text())
        per_op: collections.Counter = collections.Counter()
        whole = []
        for e in events:
            if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
                per_op[e["args"]["op_name"]] += e["dur"] / runs
            elif e.get("name") == "model_run":
                whole.append(e["dur"])
        result[k] = (per_op, float(np.median(whole[len(whole) // 10:])))
    return result


def report(name: str, prof: dict[str, tuple[collections.Counter, float]]) -> str:
    (ours, t_ours), (theirs, t_theirs) = prof["archspec"], prof["dynamo"]
    whole = f"{t_ours - t_theirs:+.0f} ({t_ours / t_theirs:.3f}x)"
    lines = [f"### {name}", "", "| op type | archspec µs/run | dynamo µs/run | difference |", "|---|---:|---:|---:|",
             f"| whole run (median) | {t_ours:.0f} | {t_theirs:.0f} | {whole} |"]
    for op in sorted(set(ours) | set(theirs), key=lambda o: -max(ours.get(o, 0), theirs.get(o, 0))):
        a, d = ours.get(op, 0.0), theirs.get(op, 0.0)
        lines.append(f"| {op} | {a:.0f} | {d:.0f} | {a - d:+.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*", default=["efficientnet_b0", "mobilenet_v3_large", "vit_b_16", "swin_t"])
    ap.add_argument("--runs", type=int, default=100, help="profiled runs of each model")
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    args = ap.parse_args()
    print(f"`python tools/profile_kernels.py {' '.join(args.models)} --runs {args.runs} --threads {args.threads}`\n")
    for name in args.models:
        with tempfile.TemporaryDirectory() as d:
            out = Path(d)
            print(report(name, profile(build(name, out), args.runs, args.threads, out)), flush=True)


if __name__ == "__main__":
    main()
