"""`archspec verify SPEC`: the compiled ONNX model and the torch module compute the same function.

Both get the same weights (a file, or the torch module's seeded initial values) and the same
random input; each ONNX output is compared with the torch module's in eval mode. The difference
is judged relative to the output's scale: max |onnx - torch| / max |torch| <= tolerance.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from archspec.cli import count, seed

EXIT_MISMATCH = 4  # outputs differ (3 is an internal error, as on every command)


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("verify", help="check that onnxruntime and the torch module agree on a spec")
    p.add_argument("spec", metavar="SPEC", help="a spec file or built-in name")
    p.add_argument("--weights", metavar="FILE", help=".safetensors, .npz or a torch checkpoint keyed by path "
                   "(default: PyTorch's initialisation from --seed)")
    p.add_argument("--tolerance", type=float, default=1e-4,
                   help="largest allowed max|diff| / max|torch output| (default 1e-4)")
    p.add_argument("--mode", choices=["deploy", "train", "both"], default="both",
                   help="ONNX graph(s) to check: deploy (BN folded, eval outputs), train (every output)")
    p.add_argument("--batch", type=count(), default=2, help="input batch size (default 2)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the weights (without --weights) and the input")
    p.add_argument("--input", help="override the input size, CxHxW")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archspec import budget, load
    from archspec.cli import EXIT_SPEC, UsageError, parse_input

    if args.batch < 1 or not args.tolerance > 0:
        raise UsageError("--batch must be at least 1 and --tolerance positive")
    model = load(args.spec, parse_input(args.input))
    budget.check(model.graph, "verifying (torch and onnxruntime side by side)", batch=args.batch, copies=2)
    try:
        import onnxruntime  # noqa: F401
        import torch
    except ImportError as e:
        raise UsageError(f"verify needs torch and onnxruntime ({e.name} is missing): "
                         "pip install 'archspec[torch,runtime]'") from None
    from archspec.onnx_backend import CompileError
    from archspec.torch_backend import load_state
    from archspec.weights import WeightsError

    modes = ["deploy", "train"] if args.mode == "both" else [args.mode]
    try:
        net = model.to_torch(seed=args.seed)
        if args.weights:
            load_state(net, args.weights)
        x = torch.randn(args.batch, *model.input_shape, generator=torch.Generator().manual_seed(args.seed))
        rows = compare(model, net, x, modes)
    except CompileError as e:
        raise UsageError(str(e)) from None
    except (WeightsError, OSError) as e:
        print(f"archspec: error: {e}", file=sys.stderr)
        return EXIT_SPEC
    failed = _report(model.name, rows, args.tolerance)
    return EXIT_MISMATCH if failed else 0


def compare(model: Any, net: Any, x: Any, modes: list[str]) -> list[dict[str, Any]]:
    """Compile `model` with `net`'s weights in each mode and run onnxruntime and `net` (eval) on `x`.
    One row per (mode, output): shape, max abs difference, and the torch output's max |value|."""
    import numpy as np
    import onnxruntime as ort
    import torch

    from archspec.torch_backend import state_arrays

    net.eval()
    with torch.no_grad():
        ref = {k: v.numpy() for k, v in net.all_outputs(x).items()}
    arrays, rows = state_arrays(net), []
    for mode in modes:
        data = model.onnx_bytes(weights=arrays, mode=mode)
        sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        got = sess.run(names, {sess.get_inputs()[0].name: x.numpy()})
        for name, y in zip(names, got):
            r = ref[name]
            diff = float(np.abs(y.astype(np.float64) - r).max()) if y.shape == r.shape else float("inf")
            rows.append({"mode": mode, "output": name, "shape": list(r.shape), "abs": diff,
                         "scale": float(np.abs(r).max())})
    return rows


def _report(name: str, rows: list[dict[str, Any]], tol: float) -> bool:
    print(f"{name}: onnxruntime vs torch (eval), tolerance {tol:g} of the output's scale")
    failed = False
    for r in rows:
        rel = r["abs"] / r["scale"] if r["scale"] > 0 else r["abs"]
        bad = not rel <= tol
        failed |= bad
        print(f"  {r['mode']:<7} {r['output']:<12} {r['shape']!s:<14} max abs {r['abs']:.3g}  "
              f"rel {rel:.3g}  {'FAIL' if bad else 'ok'}")
    print("FAILED: outputs differ past the tolerance" if failed else "ok: the ONNX model and the torch module agree")
    return failed
