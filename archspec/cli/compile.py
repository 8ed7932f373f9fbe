"""`archspec compile SPEC -o model.onnx`: the spec as an ONNX model, written atomically."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from archspec.cli import count, seed


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("compile", help="compile a spec to ONNX")
    p.add_argument("spec", metavar="SPEC", help="a spec file or built-in name")
    p.add_argument("-o", "--output", metavar="FILE", help="the .onnx file to write (default: NAME.onnx)")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17; 13 to the newest onnx knows)")
    p.add_argument("--batch", type=count(), default=None, help="a fixed batch size (default: symbolic N)")
    p.add_argument("--dynamic-hw", action="store_true", help="symbolic H and W (specs that take any size)")
    p.add_argument("--fp16", action="store_true", help="float16 weights, input and outputs")
    p.add_argument("--mode", choices=["deploy", "train"], default="deploy",
                   help="deploy: eval outputs, no dropout, BN folded (default); train: every output, BN, Dropout")
    p.add_argument("--no-fold-bn", dest="fold_bn", action="store_false", help="keep BatchNormalization nodes")
    p.add_argument("--functions", action="store_true",
                   help="each block (scope) as an ONNX model-local function: the hierarchy kept in the file")
    p.add_argument("--weights", metavar="FILE", help=".safetensors, .npz or a torch checkpoint keyed by path")
    p.add_argument("--seed", type=seed, default=0, help="seed of the random initial weights (default 0)")
    p.add_argument("--input", help="override the input size, CxHxW")
    p.add_argument("--check", action="store_true",
                   help="run the ONNX checker, shape inference and onnxruntime on the written file")
    p.add_argument("-v", "--verbose", action="store_true", help="report what each pass did (to stderr)")
    add_quantize_args(p)
    p.set_defaults(run=run)


def add_quantize_args(p: argparse.ArgumentParser) -> None:
    from archspec.runtime.quantize import DEFAULT_MIN_AGREEMENT, METHODS, MODES, TARGETS

    q = p.add_argument_group("quantisation (docs/deploy.md)")
    q.add_argument("--quantize", choices=MODES, help="int8: static QDQ INT8, calibrated on --calibrate DATA; "
                   "dynamic: int8 weights, activations quantised at run time")
    q.add_argument("--calibrate", metavar="DATA", help="'digits', an .npz file (x, y) or an ImageFolder: its "
                   "training part calibrates, its held-out part (20%%, seed 0, as training splits it) scores")
    q.add_argument("--min-agreement", type=fraction, default=DEFAULT_MIN_AGREEMENT, metavar="F",
                   help=f"refuse to write a model whose top-1 agrees with FP32 on less than this share of the "
                   f"held-out samples (default {DEFAULT_MIN_AGREEMENT})")
    q.add_argument("--calibration-samples", type=count(), default=256, metavar="N",
                   help="training samples that calibrate the activation ranges (default 256)")
    q.add_argument("--eval-samples", type=count(), default=2000, metavar="N",
                   help="held-out samples that score FP32 against INT8 (default 2000)")
    q.add_argument("--calibration-method", choices=METHODS, default="minmax",
                   help="how activation ranges are found (default minmax)")
    q.add_argument("--target", choices=TARGETS, default="onnxruntime",
                   help="the runtime the INT8 model is made for (default onnxruntime): openvino quantises with "
                   "NNCF, which places the QDQ pairs as OpenVINO fuses them (archspec[openvino])")


def fraction(text: str) -> float:
    """An argparse type: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"give a share from 0 to 1, got '{text}'")
    return value


def run(args: argparse.Namespace) -> int:
    from archspec import budget, load
    from archspec.cli import EXIT_SPEC, UsageError, parse_input
    from archspec.io import safe_filename
    from archspec.onnx_backend import DEFAULT_OPSET, CompileError
    from archspec.onnx_backend.compile import compile_model
    from archspec.onnx_backend.save import save_model
    from archspec.weights import WeightsError

    if args.quantize or args.calibrate or args.target != "onnxruntime":
        check_quantize_args(args)
    model = load(args.spec, parse_input(args.input))
    budget.check(model.graph, "compiling", batch=0, itemsize=2 if args.fp16 else 4)
    out = args.output or safe_filename(model.name, ".onnx")
    opts = dict(opset=args.opset or DEFAULT_OPSET, batch=args.batch, dynamic_hw=args.dynamic_hw, fp16=args.fp16,
                mode=args.mode, fold_bn=args.fold_bn, functions=args.functions, weights=args.weights, seed=args.seed)
    try:
        compiled = compile_model(model.program, **opts)  # as Model.save_onnx, keeping the pass report
        if args.verbose:
            lines = [f"pass {s}" for s in compiled.report] or ["passes: none, the train graph is compiled as it is"]
            print("\n".join(lines), file=sys.stderr)
        if args.quantize:
            return quantize(args, model, compiled, out)
        path = save_model(compiled, out)
    except CompileError as e:
        raise UsageError(str(e)) from None
    except (WeightsError, OSError) as e:
        print(f"archspec: error: {e}", file=sys.stderr)
        return EXIT_SPEC
    t = model.graph.totals(train=args.mode == "train")
    print(f"{model.name}: {t['params']:,} params, {t['buffers']:,} buffers, {t['macs']:,} MACs "
          f"({t['macs'] / 1e9:.3f} G), {args.mode} graph")
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB, opset {opts['opset']})")
    if args.check:
        from archspec.onnx_backend.check import CheckFailed, check_file

        try:
            for line in check_file(path, args.batch or 1):
                print(f"check: {line}")
        except CheckFailed as e:
            print(f"archspec: check failed: {e}", file=sys.stderr)
            return EXIT_SPEC
    return 0


def check_quantize_args(args: argparse.Namespace) -> None:
    from archspec.cli import UsageError

    if args.calibrate and not args.quantize:
        raise UsageError("--calibrate is for --quantize int8 or dynamic")
    if args.target != "onnxruntime" and args.quantize != "int8":
        raise UsageError(f"--target {args.target} is for --quantize int8")
    if args.quantize == "int8" and not args.calibrate:
        raise UsageError("--quantize int8 needs calibration data: --calibrate DATA ('digits', .npz, ImageFolder)")
    if args.fp16 or args.mode == "train" or args.check:
        bad = "--fp16" if args.fp16 else "--mode train" if args.mode == "train" else "--check"
        raise UsageError(f"--quantize does not go with {bad}")


def quantize(args: argparse.Namespace, model: Any, compiled: Any, out: str) -> int:
    """The FP32 model, saved to a temporary folder, quantised; scores printed side by side."""
    import tempfile
    from pathlib import Path

    from archspec.onnx_backend.save import save_model
    from archspec.runtime.quantize import Options, quantize_file

    if not args.weights:
        print(f"warning: {model.name} has random weights (no --weights): accuracies mean nothing, "
              "agreement still does", file=sys.stderr)
    calibration, held_out = read_calibration(args, model)
    opts = Options(args.quantize, args.calibration_method, args.min_agreement, args.calibration_samples, args.target)
    with tempfile.TemporaryDirectory(prefix="archspec-compile-") as tmpdir:
        fp32 = save_model(compiled, Path(tmpdir) / "fp32.onnx")
        score = quantize_file(fp32, out, opts, calibration, held_out)
    if score is not None and held_out is not None:
        print("\n".join(score.lines(args.quantize, held_out.name, args.target)))
        print(f"  (min agreement {100 * args.min_agreement:.2f}%)")
    else:
        print("not scored: give --calibrate DATA to compare it with FP32")
    path = Path(out)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB, {args.quantize} for {args.target})")
    return 0


def read_calibration(args: argparse.Namespace, model: Any) -> tuple[Any, Any]:
    """(calibration part, held-out part) of --calibrate, read at the spec's input with its
    preprocessing; (None, None) without it. They are cut to --calibration-samples and
    --eval-samples before any image is read (an ImageFolder is read file by file), and read here,
    so that a broken image is reported before any quantising."""
    from archspec.runtime.dataset import train_and_held_out
    from archspec.runtime.errors import InputError
    from archspec.runtime.quantize import pick

    if not args.calibrate:
        return None, None
    train, held = train_and_held_out(args.calibrate, tuple(model.input_shape), model.spec.preprocess)
    classes = math.prod(model.graph.nodes[model.graph.outputs[0].node].shape)  # as training counts them
    if len(train.classes) != classes:
        raise InputError(f"{args.calibrate} has {len(train.classes)} classes but {model.name} outputs {classes}")
    return pick(train, args.calibration_samples).loaded(), pick(held, args.eval_samples).loaded()
