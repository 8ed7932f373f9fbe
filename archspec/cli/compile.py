"""`archspec compile SPEC -o model.onnx`: the spec as an ONNX model, written atomically."""

from __future__ import annotations

import argparse
import sys

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
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archspec import budget, load
    from archspec.cli import EXIT_SPEC, UsageError, parse_input
    from archspec.io import safe_filename
    from archspec.onnx_backend import DEFAULT_OPSET, CompileError
    from archspec.onnx_backend.compile import compile_model
    from archspec.onnx_backend.save import save_model
    from archspec.weights import WeightsError

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
