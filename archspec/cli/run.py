"""`archspec run MODEL --input FILE...`: top-k predictions of an .onnx file or a spec on onnxruntime."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from archspec.cli import count, seed


def add_model_args(p: argparse.ArgumentParser) -> None:
    """What `run` and `bench` share: the model, its weights, the provider and threads."""
    p.add_argument("model", metavar="MODEL", help="an .onnx file, or a spec (file or built-in name) "
                   "compiled in memory")
    p.add_argument("--provider", choices=["cpu", "cuda"], default="cpu",
                   help="onnxruntime execution provider (cuda needs onnxruntime-gpu and a GPU)")
    p.add_argument("--threads", type=count(1, 1024), default=None, help="intra-op threads (default: one per core)")
    p.add_argument("--weights", metavar="FILE", help="for a spec: .safetensors, .npz or torch checkpoint "
                   "keyed by parameter path (default: random weights from --seed)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the random weights (default 0)")


def add_runtime_args(p: argparse.ArgumentParser, many: bool = False) -> None:
    """--runtime and --precision (comma lists for bench, which times each combination)."""
    s = "s" if many else ""
    p.add_argument("--runtime", default="onnxruntime", metavar="R" + (",..." if many else ""),
                   help=f"runtime{s}: onnxruntime (default) or openvino (extra archspec[openvino])"
                   + (", e.g. onnxruntime,openvino" if many else ""))
    p.add_argument("--precision", default="f32", metavar="P" + (",..." if many else ""),
                   help=f"OpenVINO's inference precision hint{s}: f32 (default) or bf16"
                   + (", e.g. f32,bf16" if many else ""))


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="predict classes of images or .npy arrays on onnxruntime")
    add_model_args(p)
    p.add_argument("--input", nargs="+", required=True, metavar="FILE",
                   help="PNG/JPEG images (preprocessed as the model's spec says) or .npy arrays (as given)")
    add_runtime_args(p)
    p.add_argument("--top-k", type=count(), default=5, metavar="K", help="classes to show per input (default 5)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def check_counts(**counts: int | None) -> None:
    from archspec.cli import UsageError

    for name, v in counts.items():
        if v is not None and v < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {v}")


def open_cli_model(args: argparse.Namespace, weights: dict[str, Any] | None = None, fp16: bool = False,
                   spec: Any = None, batch: int = 1, copies: int = 1) -> Any:
    """The model MODEL names (compiled from `spec`, MODEL already loaded, when given); a note on
    stderr when a spec gets random weights. A spec is first checked to fit the memory budget at
    `batch` (`copies` of it: onnxruntime and torch side by side)."""
    from archspec import budget, load
    from archspec.cli import UsageError
    from archspec.runtime.load import from_spec, is_onnx_ref, open_model
    from archspec.runtime.weights import read_weights

    if args.weights and is_onnx_ref(args.model):
        raise UsageError(f"--weights is for a spec: {args.model} holds its own weights "
                         "(compile it again with `archspec compile --weights FILE`)")
    if weights is None and args.weights:
        weights = read_weights(args.weights)
    if spec is None and not is_onnx_ref(args.model):
        spec = load(args.model)
    if spec is not None:
        budget.check(spec.graph, "running", batch=batch, itemsize=2 if fp16 else 4, copies=copies)
    if spec is None:
        model = open_model(args.model, fp16=fp16, weights=weights, seed=args.seed)
    else:
        model = from_spec(spec, fp16=fp16, weights=weights, seed=args.seed)
    if model.spec is not None and not args.weights:
        print(f"note: {model.name} compiled with random weights (seed {args.seed}); give --weights FILE "
              "for trained ones", file=sys.stderr)
    return model


def check_runtime(runtime: str, precision: str) -> None:
    from archspec.cli import UsageError
    from archspec.runtime.openvino import PRECISIONS, RUNTIMES

    if runtime not in RUNTIMES:
        raise UsageError(f"--runtime takes {' or '.join(RUNTIMES)}, got '{runtime}'")
    if precision not in PRECISIONS:
        raise UsageError(f"--precision takes {' or '.join(PRECISIONS)}, got '{precision}'")
    if runtime == "onnxruntime" and precision != "f32":
        raise UsageError(f"--precision {precision} is OpenVINO's hint: add --runtime openvino")


def run(args: argparse.Namespace) -> int:
    from archspec.runtime.infer import predict_compared

    check_counts(top_k=args.top_k, threads=args.threads)
    check_runtime(args.runtime, args.precision)
    model = open_cli_model(args, batch=len(args.input))
    if model.random_weights:
        print(f"warning: {args.model} holds random weights ({model.weights}): its predictions mean nothing; "
              "compile it with `archspec compile --weights FILE` for trained ones", file=sys.stderr)
    preds, comparison = predict_compared(model, args.input, args.top_k, args.provider, args.threads,
                                         args.runtime, args.precision)
    if args.json:
        report = {"model": model.name, "runtime": args.runtime, "provider": args.provider, "predictions": preds}
        print(json.dumps(report | ({"compared": comparison} if comparison else {}), indent=2))
        return 0
    if comparison:
        print(f"{args.runtime} ({comparison['precision']}) against onnxruntime: outputs differ by at most "
              f"{comparison['max_abs_diff']:.2e}, top-1 agrees on {100 * comparison['top1_agreement']:.1f}% "
              f"of {len(preds)} input{'s' * (len(preds) > 1)}")
    width = max(len(t["label"]) for p in preds for t in p["top"])
    for p in preds:
        print(p["input"])
        for t in p["top"]:
            print(f"  {t['rank']:>2}. {t['label']:<{width}}  {t['probability']:.4f}  (class {t['index']})")
    return 0
