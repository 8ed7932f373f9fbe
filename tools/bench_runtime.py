"""onnxruntime (CPU) against PyTorch eager on the same weights, side by side in one run.

archspec's resnet50 is compiled to ONNX (deploy graph, BN folded) with the weights of a fresh,
seeded torch module; the same arrays are loaded into torchvision's resnet50 and into archspec's
own torch module. The three are timed interleaved, through archspec's one timing harness
(archspec.runtime.bench.time_interleaved), at batch 1 by default. onnxruntime's idle threads do
not spin here (they would take the cores from torch's next call); torch runs as it comes. The goal of issue 6:
onnxruntime's median latency at most 0.7 of torchvision eager's.

    python tools/bench_runtime.py [--spec resnet50] [--iters 30] [--warmup 5] [--threads N] [--batch 1]
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

GOAL = 0.7


def main() -> int:
    import torch

    import archspec
    from archspec.runtime import time_interleaved
    from archspec.runtime.load import from_spec
    from archspec.runtime.ort_bench import ort_call, random_input
    from archspec.runtime.session import create_session, ort_package
    from archspec.runtime.torch_bench import torch_call, torch_module
    from archspec.runtime.weights import spec_weights

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", default="resnet50", help="a built-in with a torchvision twin (default resnet50)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iters", type=int, default=30, help="timed calls of each (at least 20)")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads(), help="for both runtimes")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model = archspec.load(args.spec)
    weights = spec_weights(model, seed=0)
    onnx_model = from_spec(model, weights=weights)
    # No busy-waiting onnxruntime workers: between its calls they would steal the cores torch runs on.
    session, _ = create_session(onnx_model.data, "cpu", args.threads, spin=False)
    x = random_input((args.batch, *model.input_shape), np.dtype("float32"))
    xt = torch.from_numpy(x)
    fns = {"onnxruntime (archspec ONNX)": ort_call(session, onnx_model, x, "cpu")}
    mods = {"torch eager (archspec module)": torch_module(model, weights)}
    reference = _torchvision(args.spec, weights)
    if reference is not None:
        mods["torch eager (torchvision)"] = reference
    fns |= {name: torch_call(m, xt) for name, m in mods.items()}

    with torch.inference_mode():
        ort_out = fns["onnxruntime (archspec ONNX)"]()[0]
        for name, m in mods.items():  # the same weights: the same function
            diff = float(np.abs(m(xt).numpy() - ort_out).max())
            print(f"max |onnxruntime - {name}| = {diff:.2e} (output scale {np.abs(ort_out).max():.2e})")
        stats = time_interleaved(fns, args.warmup, args.iters, progress=None, desc="interleaved")

    print(f"\n{args.spec}, batch {args.batch}, CPU, {args.threads} threads, {ort_package()}, torch "
          f"{torch.__version__}; median of {args.iters} interleaved calls after {args.warmup} warm-up")
    for name, s in stats.items():
        print(f"  {name:<32} p50 {s.p50 * 1e3:8.2f} ms   p90 {s.p90 * 1e3:8.2f} ms")
    ort_p50 = stats["onnxruntime (archspec ONNX)"].p50
    ok = True
    for name in mods:
        ratio = ort_p50 / stats[name].p50
        gated = name == "torch eager (torchvision)" or reference is None
        ok &= ratio <= GOAL or not gated
        print(f"ratio onnxruntime / {name}: {ratio:.2f}" + (f" (goal <= {GOAL})" if gated else ""))
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def _torchvision(spec: str, weights: dict[str, np.ndarray]) -> torch.nn.Module | None:
    """torchvision's model of the same name holding `weights`, when it has one."""
    import torch
    import torchvision

    build = getattr(torchvision.models, spec, None)
    if build is None:
        return None
    m = build()
    m.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()}, strict=True)
    return m.eval()


if __name__ == "__main__":
    sys.exit(main())
