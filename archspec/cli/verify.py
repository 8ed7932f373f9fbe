"""`archspec verify SPEC`: the compiled ONNX model and the torch module compute the same function.

Both get the same weights (a file, or the torch module's seeded initial values) and the same
random input; each ONNX output is compared with the torch module's in eval mode. The difference
is judged relative to the output's scale: max |onnx - torch| / max |torch| <= tolerance.

`--reference`: the torch module against the model the spec declares it reproduces (`reference:`),
built randomly initialised (never downloaded), with random BN statistics and norm affines (at
their initial values a misplaced BN would pass), its weights loaded into the module strictly.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from archspec.cli import EXIT_SPEC, count, seed

EXIT_MISMATCH = 4  # outputs differ (3 is an internal error, as on every command)
ONNX_TOLERANCE = 1e-4  # float32 ONNX (BN folded) against torch
REFERENCE_TOLERANCE = 1e-5  # the same torch ops in the same order: only summation order may differ


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("verify", help="check that onnxruntime and the torch module agree on a spec")
    p.add_argument("spec", metavar="SPEC", help="a spec file or built-in name")
    p.add_argument("--weights", metavar="FILE", help=".safetensors, .npz or a torch checkpoint keyed by path "
                   "(default: PyTorch's initialisation from --seed)")
    p.add_argument("--reference", action="store_true",
                   help="compare the torch module with the spec's `reference:` model on the reference's weights "
                        "instead (random init, BN statistics and affines randomised)")
    p.add_argument("--tolerance", type=float, default=None,
                   help="largest allowed max|diff| / max|expected output| (default 1e-4; 1e-5 with --reference)")
    p.add_argument("--mode", choices=["deploy", "train", "both"], default="both",
                   help="ONNX graph(s) to check: deploy (BN folded, eval outputs), train (every output)")
    p.add_argument("--batch", type=count(), default=2, help="input batch size (default 2)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the weights (without --weights) and the input")
    p.add_argument("--input", help="override the input size, CxHxW")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archspec import budget, load
    from archspec.cli import UsageError, parse_input

    if args.tolerance is None:
        args.tolerance = REFERENCE_TOLERANCE if args.reference else ONNX_TOLERANCE
    if args.batch < 1 or not args.tolerance > 0:
        raise UsageError("--batch must be at least 1 and --tolerance positive")
    if args.reference and (args.weights or args.mode != "both"):
        raise UsageError("--reference compares with the reference on its own weights: "
                         "it takes neither --weights nor --mode")
    model = load(args.spec, parse_input(args.input))
    if args.reference:
        return _run_reference(model, args)
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
    print(f"{model.name}: onnxruntime vs torch (eval), tolerance {args.tolerance:g} of the output's scale")
    failed = _report(rows, args.tolerance)
    print("FAILED: outputs differ past the tolerance" if failed else "ok: the ONNX model and the torch module agree")
    return EXIT_MISMATCH if failed else 0


def _run_reference(model: Any, args: argparse.Namespace) -> int:
    from archspec import budget
    from archspec.cli import UsageError

    if model.reference is None:
        print(f"archspec: error: {model.name} declares no reference model: add e.g. "
              f"`reference: torchvision.resnet50` to the spec (docs/spec-language.md, Reference models)",
              file=sys.stderr)
        return EXIT_SPEC
    budget.check(model.graph, "verifying (the spec's module and its reference side by side)", batch=args.batch,
                 copies=2)
    try:
        import torch  # noqa: F401
    except ImportError:
        raise UsageError("verify --reference needs torch: pip install 'archspec[torch]'") from None
    from archspec.weights import WeightsError

    ref = model.reference.model
    print(f"{model.name}: torch module vs {ref} (eval, BN statistics and affines randomised), "
          f"tolerance {args.tolerance:g} of the output's scale")
    try:
        row = compare_reference(model, args.batch, args.seed)
    except WeightsError as e:  # the spec's state_dict is not the reference's: no proof
        print(f"FAILED: {ref}'s weights do not load into {model.name} strictly: {e}")
        return EXIT_MISMATCH
    failed = _report([row], args.tolerance)
    print(f"FAILED: the spec's output differs from {ref}'s past the tolerance" if failed
          else f"ok: {model.name} computes what {ref} computes, on its weights")
    return EXIT_MISMATCH if failed else 0


def compare_reference(model: Any, batch: int, seed: int) -> dict[str, Any]:
    """Build `model`'s declared reference (random init under `seed`, norms randomised), load its
    weights into the spec's torch module strictly, and run both (eval) on one random input. The
    row of `compare` for the main output, with `mode` "reference"."""
    import torch

    from archspec.torch_backend import Reference, import_reference, randomise_norms

    reference = Reference.of(model.reference)
    torch.manual_seed(seed)
    ref = reference.build().eval()
    randomise_norms(ref, seed)
    net = model.to_torch(seed=seed)
    import_reference(net, reference, ref)
    net.eval()
    x = torch.randn(batch, *model.input_shape, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        ours = net.all_outputs(x)[net.output_names[0]]
        theirs = _main_output(ref(x))
    diff = float((ours.double() - theirs.double()).abs().max()) if ours.shape == theirs.shape else float("inf")
    return {"mode": "reference", "output": net.output_names[0], "shape": list(ours.shape), "abs": diff,
            "scale": float(theirs.abs().max())}


def _main_output(out: Any) -> Any:
    """A reference's eval output: a tensor, or the first of a tuple (torchvision's named tuples)."""
    import torch

    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, tuple | list) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    raise TypeError(f"the reference's output is a {type(out).__name__}, not a tensor")


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


def _report(rows: list[dict[str, Any]], tol: float) -> bool:
    failed = False
    for r in rows:
        rel = r["abs"] / r["scale"] if r["scale"] > 0 else r["abs"]
        bad = not rel <= tol
        failed |= bad
        print(f"  {r['mode']:<7} {r['output']:<12} {r['shape']!s:<14} max abs {r['abs']:.3g}  "
              f"rel {rel:.3g}  {'FAIL' if bad else 'ok'}")
    return failed
