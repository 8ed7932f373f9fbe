"""Mobile CNNs: archspec's ONNX of efficientnet_b0 and mobilenet_v3_large against torch.onnx.export
(dynamo) of torchvision's models.

    python tools/bench_mobile.py [--rounds 3] [--runs 100] [--threads 1] [--write-docs]

1. Whole processes, interleaved round by round: `archspec compile NAME` against a script that builds
   torchvision's model and calls torch.onnx.export(dynamo=True), each after an (untimed) `sync`.
   Median wall times, and the median of the per-round ratios dynamo / archspec.
2. The graphs: node counts, and onnxruntime CPU latency at batch 1 of archspec's model compiled with
   the very weights torch exported (its state_dict, so the numerics match too) against torch's file,
   timed run by run in rotating order; the ratio is the median of the per-run ratios archspec /
   dynamo, with a bootstrap interval. Goals: no more nodes than dynamo's, latency ratio <= 1.0.
Timing and the onnxruntime sessions are tools/bench_compile.py's (archspec.runtime's one harness).
With --write-docs the results, with the command, replace the "Mobile" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _bench import ROOT, Process
from bench_compile import DOC, latencies, node_count, write_section

import archspec
from archspec.runtime import time_interleaved

MODELS = ("efficientnet_b0", "mobilenet_v3_large")
EXPORT = """
import torch, torchvision
torch.manual_seed(0)
model = torchvision.models.{name}().eval()
{randomise}
torch.onnx.export(model, (torch.randn(1, 3, 224, 224),), {path!r}, dynamo=True,
                  input_names=["image"], output_names=["logits"])
"""
SAVE_STATE = """
import torch, torchvision
torch.manual_seed(0)
model = torchvision.models.{name}()
{randomise}
torch.save(model.state_dict(), {path!r})
"""
# Every all-zero parameter drawn, as training leaves none: ViT's head and class token (else the
# output is all zeros), and the biases torchvision's init zeroes (linear layers, attention's
# projections, norms). torch's exporter drops an all-zero bias, so a comparison on the init
# would time dynamo's graph without adds that no trained model lets it drop.
RANDOMISE = """
with torch.no_grad():
    for p in model.parameters():
        if not p.any():
            p.normal_(0, 0.02)
"""


def commands(out: Path, models: tuple[str, ...]) -> dict[str, list[str]]:
    py = sys.executable
    cmds = {}
    for name in models:
        cmds[f"archspec {name}"] = [py, "-m", "archspec", "compile", name, "-o", str(out / f"{name}.archspec.onnx")]
        export = EXPORT.format(name=name, path=str(out / f"{name}.dynamo.onnx"), randomise=RANDOMISE)
        cmds[f"dynamo {name}"] = [py, "-c", export]
    return cmds


def time_processes(out: Path, rounds: int,
                   models: tuple[str, ...] = MODELS) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall seconds of each command, and per model the median over rounds of dynamo's wall
    time / archspec's in the same round (paired, it cancels the machine's drift between rounds)."""
    procs = {name: Process(cmd) for name, cmd in commands(out, models).items()}
    stats = time_interleaved(procs, warmup=0, iters=rounds, desc="whole processes", before=os.sync)
    paired = {m: statistics.median(t / a for t, a in zip(stats[f"dynamo {m}"].latencies,
                                                         stats[f"archspec {m}"].latencies)) for m in models}
    return {k: s.p50 for k, s in stats.items()}, paired


def graphs(out: Path, runs: int, threads: int, models: tuple[str, ...] = MODELS) -> dict[str, dict]:
    """Per model: node counts and onnxruntime latencies of archspec's file (torch's weights) and dynamo's."""
    rows = {}
    for name in models:
        state = out / f"{name}.pt"
        save = SAVE_STATE.format(name=name, path=str(state), randomise=RANDOMISE)
        subprocess.run([sys.executable, "-c", save], check=True)
        ours = out / f"{name}.archspec_tv.onnx"
        archspec.load(name).save_onnx(ours, weights=state, batch=1)
        files = {"archspec": ours, "torch dynamo": out / f"{name}.dynamo.onnx"}
        print(f"onnxruntime latency, {name}...", flush=True)
        rows[name] = {"nodes": {k: node_count(p) for k, p in files.items()},
                      "lat": latencies(files, runs, threads, out)}
    return rows


def report(args: argparse.Namespace, wall: dict[str, float], paired: dict[str, float],
           rows: dict[str, dict], section: str = "Mobile", tool: str = "bench_mobile.py") -> str:
    import onnxruntime
    import torch

    lines = [
        f"## {section}", "",
        f"`python tools/{tool} --rounds {args.rounds} --runs {args.runs} --threads {args.threads}` "
        f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end; torch "
        f"{torch.__version__.split('+')[0]}, onnxruntime {onnxruntime.__version__}). Compile: whole processes "
        f"(`archspec compile NAME` against torch.onnx.export(dynamo=True) of torchvision's model), interleaved, "
        f"median of {args.rounds} rounds. Latency: onnxruntime CPU, batch 1, {args.threads} thread(s), median "
        f"of {args.runs} runs in rotating order, archspec compiled with the weights torch exported "
        "(`--weights`, `--batch 1`): torchvision's initial weights, every all-zero parameter (biases, "
        "ViT's head and class token) drawn from N(0, 0.02) as no trained model has one.", "",
        "| model | nodes archspec / dynamo | kernels after onnxruntime's optimisations | compile s archspec / "
        "dynamo | dynamo / archspec (paired) | latency ms archspec / dynamo | archspec / dynamo: median per-run "
        "ratio [95% interval] | output diff / scale |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    goals, notes = [], []
    for name, r in rows.items():
        n, ours, theirs = r["nodes"], r["lat"]["archspec"], r["lat"]["torch dynamo"]
        kern = sum(ours["kernels"].values()), sum(theirs["kernels"].values())
        lines.append(
            f"| `{name}` | {n['archspec']} / {n['torch dynamo']} | {kern[0]} / {kern[1]} "
            f"| {wall[f'archspec {name}']:.2f} / {wall[f'dynamo {name}']:.2f} | {paired[name]:.1f}x "
            f"| {ours['ms']:.2f} / {theirs['ms']:.2f} | {theirs['ratio']:.3f} "
            f"[{theirs['ci'][0]:.3f}, {theirs['ci'][1]:.3f}] | {theirs['diff']:.1e} |")
        lat_ok = "met" if theirs["ratio"] <= 1.0 else "NOT met" + (
            ": parity, 1.0 is inside the interval" if theirs["ci"][0] <= 1.0 else "")
        goals.append(f"`{name}` nodes {'met' if n['archspec'] <= n['torch dynamo'] else 'NOT met'}, latency {lat_ok}")
        if ours["kernels"] != theirs["kernels"]:
            notes.append(f"Kernels only archspec's `{name}` runs: {dict(ours['kernels'] - theirs['kernels'])}; "
                         f"only dynamo's: {dict(theirs['kernels'] - ours['kernels'])}.")
    lines += ["", *notes, "", "Goals (no more nodes than dynamo's, latency ratio <= 1.0): " + "; ".join(goals) + "."]
    return "\n".join(lines) + "\n"


def parse_args(runs: int, section: str) -> argparse.Namespace:
    """The options bench_mobile.py and bench_transformers.py share; `section` of docs/benchmarks.md."""
    ap = argparse.ArgumentParser(description=sys.modules["__main__"].__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="whole-process rounds (median)")
    ap.add_argument("--runs", type=int, default=runs, help="timed onnxruntime runs per model (>= 20)")
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    ap.add_argument("--write-docs", action="store_true", help=f"also replace the {section} section of {DOC.name}")
    return ap.parse_args()


def run(args: argparse.Namespace, models: tuple[str, ...], section: str, tool: str, tail: str = "") -> None:
    """Time `models` both ways, print the report (plus `tail`), and write it into the docs if asked."""
    with tempfile.TemporaryDirectory() as d:
        out = Path(d)
        print("whole processes:", flush=True)
        wall, paired = time_processes(out, args.rounds, models)
        rows = graphs(out, args.runs, args.threads, models)
    text = report(args, wall, paired, rows, section, tool) + tail
    print("\n" + text)
    if args.write_docs:
        write_section(text, section)
        print(f"wrote the {section} section of {DOC.relative_to(ROOT)}")


def main() -> None:
    run(parse_args(100, "Mobile"), MODELS, "Mobile", "bench_mobile.py")


if __name__ == "__main__":
    main()
