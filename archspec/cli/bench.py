"""`archspec bench MODEL`: latency, throughput and GFLOP/s on onnxruntime, optionally against torch."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from archspec.cli import count, seconds
from archspec.cli.run import add_model_args, add_runtime_args, check_counts, check_runtime, open_cli_model


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bench", help="time a model on onnxruntime (CPU or CUDA), optionally against torch")
    add_model_args(p)
    p.add_argument("--batch", default="1", metavar="B,...", help="batch sizes, e.g. 1,8,32 (default 1)")
    p.add_argument("--warmup", type=count(0, 100_000), default=5, metavar="W", help="untimed calls first (default 5)")
    how_long = p.add_mutually_exclusive_group()
    how_long.add_argument("--iters", type=count(1, 10_000_000), default=None, metavar="I",
                          help="timed calls (default 20)")
    how_long.add_argument("--seconds", type=seconds, default=None, metavar="S", help="time calls for S seconds")
    p.add_argument("--fp16", action="store_true", help="for a spec: compile in float16 (meant for CUDA)")
    p.add_argument("--input", metavar="CxHxW", help="the input size, for models with symbolic sizes")
    p.add_argument("--compare", choices=["torch", "torch-eager"],
                   help="also time the torch backend on the same weights: eager and torch.compile, or eager only")
    add_runtime_args(p, many=True)
    p.add_argument("--with", dest="others", action="append", default=[], metavar="FILE.onnx",
                   help="another file of the same model (e.g. its INT8 one from `compile --quantize int8`), "
                   "timed interleaved with MODEL; repeatable")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def parse_batches(text: str) -> list[int]:
    from archspec.cli import UsageError

    try:
        batches = [int(b) for b in text.split(",")]
    except ValueError:
        raise UsageError(f"--batch takes sizes separated by commas (e.g. 1,8,32), got '{text}'") from None
    if min(batches) < 1:
        raise UsageError(f"--batch sizes must be positive, got '{text}'")
    return batches


def run(args: argparse.Namespace) -> int:
    from archspec.cli import parse_input
    from archspec.runtime.ort_bench import bench_onnx
    from archspec.runtime.session import ort_package

    batches = parse_batches(args.batch)
    check_counts(threads=args.threads, iters=args.iters)
    if args.seconds is not None and args.seconds <= 0:
        check_counts(seconds=0)
    iters = 20 if args.iters is None and args.seconds is None else args.iters
    timing = {"warmup": max(args.warmup, 0), "iters": iters, "seconds": args.seconds, "progress": args.progress}
    runtimes, precisions = args.runtime.split(","), args.precision.split(",")
    for rt in runtimes:
        for pr in precisions:
            check_runtime(rt, "f32" if rt == "onnxruntime" else pr)
    if "openvino" not in runtimes and precisions != ["f32"]:
        check_runtime("onnxruntime", precisions[-1])
    model, spec, weights = _open(args, max(batches))
    shape = model.sample_shape(parse_input(args.input))
    macs = model.macs(shape)
    if args.others or runtimes != ["onnxruntime"]:
        return _matrix(args, model, runtimes, precisions, batches, shape, macs, timing)
    results = bench_onnx(model, batches, args.provider, args.threads, sample_shape=shape, macs=macs, **timing)
    if args.compare:
        from archspec.runtime.torch_bench import bench_torch

        results += bench_torch(spec, weights, batches, args.provider, args.threads, args.fp16,
                               args.compare == "torch", **timing, sample_shape=shape, macs=macs)
    report = {"model": model.name, "onnxruntime": ort_package(), "provider": args.provider,
              "threads": args.threads, "input": list(shape), "macs": macs,
              "compile_s": model.compile_s, "results": [r.to_dict() for r in results]}
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


def _matrix(args: argparse.Namespace, model: Any, runtimes: list[str], precisions: list[str], batches: list[int],
            shape: tuple[int, ...], macs: int, timing: dict[str, Any]) -> int:
    """MODEL and the --with files on each runtime and precision, interleaved, as ratios to the first."""
    from archspec.cli import UsageError
    from archspec.runtime.load import from_file
    from archspec.runtime.matrix_bench import bench_matrix, configs
    from archspec.runtime.openvino import ov_package
    from archspec.runtime.session import ort_package

    if args.compare or args.provider != "cpu":
        raise UsageError("--with and --runtime openvino time CPU runtimes side by side: drop "
                         + ("--compare" if args.compare else "--provider cuda"))
    others = [from_file(Path(f)) for f in args.others]
    for o in others:
        if o.sample_shape(shape if None in o.input_dims[1:] else None) != shape:
            raise UsageError(f"{o.name} takes {list(o.input_dims[1:])}, MODEL {list(shape)}: --with is the same model")
    cfgs = configs([model, *others], runtimes, precisions)
    results = bench_matrix(cfgs, batches, args.threads, shape, macs, **timing)
    versions = [ort_package()] + ([ov_package()] if "openvino" in runtimes else [])
    report = {"model": model.name, "onnxruntime": " · ".join(versions), "provider": "cpu", "threads": args.threads,
              "input": list(shape), "macs": macs, "compile_s": model.compile_s,
              "results": [r.to_dict() for r in results]}
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


def _open(args: argparse.Namespace, batch: int) -> tuple[Any, Any, Any]:
    """MODEL, loaded once, and for --compare its spec and ONE set of weights for both backends: from
    --weights, from the .onnx file's initializers, or a fresh torch module's (seeded) initialisation."""
    if not args.compare:
        return open_cli_model(args, fp16=args.fp16, batch=batch), None, None
    from archspec import load
    from archspec.loader import builtin_names
    from archspec.runtime.errors import RunError
    from archspec.runtime.load import is_onnx_ref
    from archspec.runtime.weights import onnx_weights, read_weights, spec_weights

    if is_onnx_ref(args.model):  # its spec by the name in its metadata: a built-in, never a path
        model = open_cli_model(args, batch=batch)
        if model.name not in builtin_names():
            raise RunError(f"--compare torch needs the spec of {args.model} ('{model.name}' is not a "
                           "built-in): pass the spec file as MODEL")
        spec = load(model.name)
        fresh = spec_weights(spec, args.seed)
        return model, spec, {**fresh, **onnx_weights(model.proto, list(fresh))}
    spec = load(args.model)
    weights = read_weights(args.weights) if args.weights else spec_weights(spec, args.seed)
    return open_cli_model(args, weights, args.fp16, spec=spec, batch=batch, copies=2), spec, weights


def render(report: dict[str, Any]) -> str:
    threads = report["threads"] or "default"
    macs = f"{report['macs'] / 1e9:.3f} GMACs" if report["macs"] >= 1e6 else f"{report['macs']:,} MACs"
    shape = "x".join(map(str, report["input"]))
    lines = [f"{report['model']}: input {shape}, {macs} per image · {report['onnxruntime']} · "
             f"{report['provider']} · threads {threads}"]
    if report["compile_s"]:
        lines.append(f"compiled to ONNX in {report['compile_s']:.2f} s")
    matrix = any("ratio" in r for r in report["results"])  # configurations side by side: their ratio to the first
    head = f"{'backend':<14} {'batch':>5} {'load s':>7} {'p50 ms':>9} {'p90 ms':>9} {'p99 ms':>9} " \
           f"{'images/s':>9} {'GFLOP/s':>8} {'iters':>5}"
    if matrix:
        head = f"{'model':<8} {'precision':<9} " + head + f" {'x first':>7}"
    lines += [head, "-" * len(head)]
    for r in report["results"]:
        row = (f"{r['model']:<8} {r['precision']:<9} " if matrix else "") + f"{r['backend']:<14} {r['batch']:>5} "
        if "error" in r:
            lines.append(row + f"unavailable: {r['error']}")
            continue
        lines.append(row + f"{r['load_s']:>7.3f} {r['p50_ms']:>9.2f} {r['p90_ms']:>9.2f} {r['p99_ms']:>9.2f} "
                     f"{r['images_per_s']:>9.1f} {r['gflops']:>8.2f} {r['iters']:>5}"
                     + (f" {r['ratio']:>7.3f}" if matrix else ""))
    return "\n".join(lines)
