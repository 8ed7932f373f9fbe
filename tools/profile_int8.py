"""Where INT8 on onnxruntime spends its time: each convolution of the FP32 file against its integer
kernel in the INT8 file, and what the INT8 file runs besides its convolutions.

    python tools/profile_int8.py [--spec resnet50] [--runs 30]

Both files are made as tools/bench_deploy.py makes them (random weights, seed 0; the INT8 one by
`compile --quantize int8`, calibrated on 64 digits) and run in alternating order, one thread,
with onnxruntime's profiler on. Convolutions are grouped by output shape (microseconds per run,
medians over runs); the INT8 file may hold more of them (an unfolded BatchNormalization or an
AveragePool becomes a depthwise conv for the integer kernels). The last lines give the bound the
integer convolutions set: the INT8 / FP32 ratio with everything else taking no time at all, and
how much time everything else may take for the 0.3x goal of bench_deploy.py.
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
from pathlib import Path

import numpy as np
from bench_deploy import INT8_GOAL, quantized_files
from profile_kernels import run_profiled

CONVS = {"fp32": "Conv", "int8": "QLinearConv"}


def profile(files: dict[str, Path], runs: int, folder: Path) -> dict[str, list[tuple[str, str, float]]]:
    """Per file, in graph order: (op type, output shape, median microseconds) of every kernel."""
    sessions = run_profiled(files, runs, 1, folder)
    result = {}
    for k, s in sessions.items():
        last = channels_last(folder / f"{k}.ort.onnx")
        times: dict[str, list[float]] = collections.defaultdict(list)
        kinds: dict[str, tuple[str, str]] = {}
        for e in json.loads(Path(s.end_profiling()).read_text()):
            if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
                name = e["name"].removesuffix("_kernel_time")
                out = [next(iter(v.values())) for v in e["args"].get("output_type_shape", [])]
                dims = out[0][1:] if out else []
                if name in last and len(dims) == 3:  # H, W, C: written C x H x W as the FP32 ones
                    dims = [dims[2], *dims[:2]]
                kinds.setdefault(name, (e["args"]["op_name"], "x".join(map(str, dims))))
                times[name].append(e["dur"])
        result[k] = [(*kinds[n], float(np.median(t[len(t) // 5:]))) for n, t in times.items()]
    return result


def channels_last(optimised: Path) -> set[str]:
    """The nodes onnxruntime's layout pass made channels-last (its NHWC integer convs)."""
    import onnx

    graph = onnx.load(str(optimised), load_external_data=False).graph
    return {n.name for n in graph.node if any(a.name == "channels_last" and a.i for a in n.attribute)}


def report(spec: str, prof: dict[str, list[tuple[str, str, float]]]) -> str:
    fp32 = [r for r in prof["fp32"] if r[0] == CONVS["fp32"]]
    int8 = [r for r in prof["int8"] if r[0] == CONVS["int8"]]
    groups: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0, 0])
    for (_, shape, t), side in [(r, 0) for r in fp32] + [(r, 1) for r in int8]:
        groups[shape][side] += t
        groups[shape][2 + side] += 1
    lines = [f"### {spec}: {len(fp32)} convolutions, {len(int8)} integer ones", "",
             "| output (C x H x W) | convs FP32 / INT8 | FP32 µs | INT8 µs | INT8 / FP32 |",
             "|---|---:|---:|---:|---:|"]
    for shape, (f, q, nf, nq) in sorted(groups.items(), key=lambda kv: -kv[1][1]):
        lines.append(f"| {shape} | {nf:.0f} / {nq:.0f} | {f:.0f} | {q:.0f} | {q / f:.3f} |" if f else
                     f"| {shape} | 0 / {nq:.0f} | 0 | {q:.0f} | |")
    total_f = sum(r[2] for r in prof["fp32"])
    conv_q = sum(r[2] for r in int8)
    rest: collections.Counter = collections.Counter()
    for op, _, t in prof["int8"]:
        if op != CONVS["int8"]:
            rest[op] += t
    other = sum(rest.values())
    lines += ["", "INT8 besides its convolutions: " + ", ".join(f"{op} {t:.0f} µs" for op, t in rest.most_common()), "",
              f"FP32 kernels {total_f:.0f} µs; INT8 convolutions {conv_q:.0f} µs, the rest {other:.0f} µs; INT8 / FP32 "
              f"{(conv_q + other) / total_f:.3f}, the convolutions alone {conv_q / total_f:.3f}; "
              f"{INT8_GOAL}x leaves {INT8_GOAL * total_f - conv_q:.0f} µs for the rest."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", default="resnet50")
    ap.add_argument("--runs", type=int, default=30, help="profiled runs of each file")
    args = ap.parse_args()
    print(f"`python tools/profile_int8.py --spec {args.spec} --runs {args.runs}`\n")
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        fp32, int8 = quantized_files(args.spec, folder, targets=("onnxruntime",))
        print(report(args.spec, profile({"fp32": fp32, "int8": int8}, args.runs, folder)))


if __name__ == "__main__":
    main()
