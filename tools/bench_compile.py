"""Compile speed and graph quality, archspec against torch.onnx.export, on ResNet-50.

    python tools/bench_compile.py [--rounds 3] [--runs 50] [--threads 1] [--write-docs]

1. Whole processes, interleaved round by round: `archspec compile resnet50` against a script
   that builds torchvision's resnet50 and calls torch.onnx.export with the dynamo exporter and
   with the legacy one (dynamo=False), each started after an (untimed) `sync`. Median wall times,
   and the median of the per-round ratios (goal: dynamo / archspec >= 20).
2. The graphs: node counts, and onnxruntime CPU latency at batch 1 of archspec's resnet50
   compiled with the very weights torch exported (its state_dict, so the numerics match too),
   against torch's two files: sessions built with the same options, warmed up, then timed
   run by run in rotating order; the ratio is the median of the per-run ratios archspec / torch, with
   a bootstrap interval (goals: no more nodes, ratio <= 1.0). It also lists the kernels
   onnxruntime runs for each file after its graph optimisations, and any difference.
Whole processes and onnxruntime runs are timed by archspec's one harness (archspec.runtime.bench).
With --write-docs the results, with the command, replace the "Compile" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from _bench import ROOT, Process

import archspec
from archspec.runtime import time_interleaved

DOC = ROOT / "docs" / "benchmarks.md"
EXPORT = """
import torch, torchvision
torch.manual_seed(0)
model = torchvision.models.resnet50().eval()
torch.onnx.export(model, (torch.randn(1, 3, 224, 224),), {path!r}, dynamo={dynamo},
                  input_names=["image"], output_names=["logits"])
"""
SAVE_STATE = """
import torch, torchvision
torch.manual_seed(0)
torch.save(torchvision.models.resnet50().state_dict(), {path!r})
"""


def commands(out: Path) -> dict[str, list[str]]:
    py = sys.executable
    return {
        "archspec compile resnet50": [py, "-m", "archspec", "compile", "resnet50", "-o", str(out / "archspec.onnx")],
        "torch.onnx.export, dynamo": [py, "-c", EXPORT.format(path=str(out / "dynamo.onnx"), dynamo=True)],
        "torch.onnx.export, legacy": [py, "-c", EXPORT.format(path=str(out / "legacy.onnx"), dynamo=False)],
    }


def time_processes(out: Path, rounds: int) -> tuple[dict[str, float], dict[str, float], float]:
    """Median wall and CPU (user + sys) seconds of each command (CPU time is the steadier figure on
    a machine shared with other work), and the median over rounds of dynamo's wall time / archspec's
    in the same round: paired, it cancels the machine's drift between rounds."""
    procs = {name: Process(cmd) for name, cmd in commands(out).items()}
    # synced before each: archspec fsyncs its file, and would otherwise also write out the 100 MB
    # that the exporter before it left in the page cache
    stats = time_interleaved(procs, warmup=0, iters=rounds, desc="whole processes", before=os.sync)
    for r in range(rounds):
        for name, p in procs.items():
            print(f"  round {r + 1}: {name}: {stats[name].latencies[r]:.2f} s wall, {p.cpu[r]:.2f} s CPU")
    paired = statistics.median(t / a for t, a in zip(stats["torch.onnx.export, dynamo"].latencies,
                                                     stats["archspec compile resnet50"].latencies))
    return {k: s.p50 for k, s in stats.items()}, {k: statistics.median(p.cpu) for k, p in procs.items()}, paired


def latencies(files: dict[str, Path], runs: int, threads: int, out: Path) -> dict[str, dict]:
    """Per file: median batch-1 latency (ms); the median per-run ratio archspec / file, with a 95%
    bootstrap interval; the largest output difference from archspec's relative to the output scale;
    and the kernels onnxruntime runs after its graph optimisations (written to `out`)."""
    import onnxruntime as ort

    def session(name: str, path: Path) -> ort.InferenceSession:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.optimized_model_filepath = str(out / f"{name.replace(' ', '_')}.ort.onnx")
        opts.log_severity_level = 3  # the warning that such a file is for this machine only
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    sessions = {k: session(k, p) for k, p in files.items()}
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    feeds = {k: {s.get_inputs()[0].name: x} for k, s in sessions.items()}
    first = {k: s.run(None, feeds[k])[0] for k, s in sessions.items()}
    calls = {k: (lambda s=s, f=feeds[k]: s.run(None, f)) for k, s in sessions.items()}
    stats = time_interleaved(calls, warmup=4, iters=runs, desc="onnxruntime")
    ours, scale = np.array(stats["archspec"].latencies), float(np.abs(first["archspec"]).max())
    rows = {}
    for k, v in stats.items():
        r = ours / np.array(v.latencies)
        boot = np.median(np.random.default_rng(0).choice(r, (2000, len(r))), axis=1)
        rows[k] = {"ms": v.p50 * 1e3, "ratio": float(np.median(r)), "ci": np.percentile(boot, [2.5, 97.5]),
                   "diff": float(np.abs(first["archspec"] - first[k]).max()) / scale,
                   "kernels": kernels(out / f"{k.replace(' ', '_')}.ort.onnx")}
    return rows


def kernels(path: Path) -> Counter:
    """The kernels of an onnxruntime-optimised model: op type, fused activation, fused sum."""
    import onnx

    def kind(n: onnx.NodeProto) -> str:
        act = next((a.s.decode() for a in n.attribute if a.name == "activation"), "")
        return n.op_type + (f"+{act}" if act else "") + ("+Sum" if n.op_type == "Conv" and len(n.input) == 4 else "")

    return Counter(kind(n) for n in onnx.load(str(path), load_external_data=False).graph.node)


def node_count(path: Path) -> int:
    import onnx

    return len(onnx.load(str(path), load_external_data=False).graph.node)


def report(args: argparse.Namespace, wall: dict[str, float], cpu: dict[str, float], paired: float,
           nodes: dict[str, int], lat: dict[str, dict]) -> str:
    import onnxruntime
    import torch

    ours, ours_cpu = wall["archspec compile resnet50"], cpu["archspec compile resnet50"]
    speed = wall["torch.onnx.export, dynamo"] / ours
    speed_cpu = cpu["torch.onnx.export, dynamo"] / ours_cpu
    lines = [
        "## Compile", "",
        f"`python tools/bench_compile.py --rounds {args.rounds} --runs {args.runs} --threads {args.threads}` "
        f"(ResNet-50; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end; torch "
        f"{torch.__version__.split('+')[0]}, onnxruntime {onnxruntime.__version__}). Whole processes, "
        f"interleaved, median of {args.rounds} rounds:", "",
        "| process | wall s | x archspec | CPU s (user+sys) | x archspec |", "|---|---:|---:|---:|---:|",
        *(f"| {k} | {v:.2f} | {v / ours:.1f} | {cpu[k]:.2f} | {cpu[k] / ours_cpu:.1f} |" for k, v in wall.items()),
        "",
        f"archspec is {paired:.1f}x faster than the dynamo exporter in wall time, the median of the per-round "
        f"ratios ({speed:.1f}x from the medians above), and {speed_cpu:.1f}x in CPU time (goal >= 20x in wall "
        f"time: {'met' if paired >= 20 else 'NOT met'}). archspec's wall time includes the fsync of its atomic "
        "write (`archspec.io.atomic_path`); torch's exporters do not sync.", "",
        f"onnxruntime CPU, batch 1, {args.threads} thread(s), median of {args.runs} runs timed in rotating order; "
        "archspec compiled with torch's exported weights (`--weights` its state_dict) and a fixed batch of 1 "
        "(`--batch 1`) like torch's exports:", "",
        "| model | nodes | kernels after onnxruntime's optimisations | latency ms | archspec / it: median "
        "per-run ratio [95% interval] | output diff / scale |", "|---|---:|---:|---:|---:|---:|",
        *(f"| {k} | {nodes[k]} | {_kernels(r, lat['archspec'])} | {r['ms']:.1f} | {r['ratio']:.3f} "
          f"[{r['ci'][0]:.3f}, {r['ci'][1]:.3f}] | {r['diff']:.1e} |" for k, r in lat.items()), "",
    ]
    for k, r in lat.items():
        if k != "archspec" and r["kernels"] != lat["archspec"]["kernels"]:
            mine, theirs = lat["archspec"]["kernels"], r["kernels"]
            lines.append(f"Kernels archspec's graph runs and {k}'s does not: {dict(mine - theirs)}; the other way: "
                         f"{dict(theirs - mine)}.")
    torch_nodes = min(nodes["torch dynamo"], nodes["torch legacy"])
    worst = max((r for k, r in lat.items() if k != "archspec"), key=lambda r: r["ratio"])
    verdict = "met" if worst["ratio"] <= 1.0 else "NOT met" + (
        ": parity, 1.0 is inside the interval" if worst["ci"][0] <= 1.0 else "")
    lines += ["", f"Goals: no more nodes than torch's export ({nodes['archspec']} vs {torch_nodes}: "
              f"{'met' if nodes['archspec'] <= torch_nodes else 'NOT met'}); latency ratio <= 1.0 "
              f"(worst {worst['ratio']:.3f}: {verdict})."]
    return "\n".join(lines) + "\n"


def _kernels(row: dict, ours: dict) -> str:
    n = sum(row["kernels"].values())
    return f"{n}, the same as archspec's" if row is not ours and row["kernels"] == ours["kernels"] else str(n)


def write_section(section: str, title: str = "Compile") -> None:
    """Replace the "## <title>" section of docs/benchmarks.md in place (or add it at the end)."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    out, skipping, done = [], False, False
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            skipping = line.strip() == f"## {title}"
            if skipping:
                out.append(section + "\n")
                done = True
        if not skipping:
            out.append(line)
    body = "".join(out).rstrip("\n") + "\n" + ("" if done else "\n" + section)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="whole-process rounds (median)")
    ap.add_argument("--runs", type=int, default=50, help="timed onnxruntime runs per model (>= 20)")
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    ap.add_argument("--write-docs", action="store_true", help="also replace the Compile section of docs/benchmarks.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        out = Path(d)
        print("whole processes:", flush=True)
        wall, cpu, paired = time_processes(out, args.rounds)
        state = out / "resnet50.pt"
        subprocess.run([sys.executable, "-c", SAVE_STATE.format(path=str(state))], check=True)
        archspec.load("resnet50").save_onnx(out / "archspec_tv.onnx", weights=state, batch=1)
        files = {"archspec": out / "archspec_tv.onnx", "torch dynamo": out / "dynamo.onnx",
                 "torch legacy": out / "legacy.onnx"}
        nodes = {k: node_count(p) for k, p in files.items()}
        print("onnxruntime latency...", flush=True)
        lat = latencies(files, args.runs, args.threads, out)
    section = report(args, wall, cpu, paired, nodes, lat)
    print("\n" + section)
    if args.write_docs:
        write_section(section)
        print(f"wrote the Compile section of {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
