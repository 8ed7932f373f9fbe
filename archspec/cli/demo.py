"""`archspec demo`: the whole pipeline on built-in data, each step through the library functions
behind the CLI commands: check a spec, train LeNet-5 on the bundled digits, compile the trained
weights to ONNX, score it on onnxruntime against torch, time it."""

from __future__ import annotations

import argparse
from pathlib import Path

from archspec.cli import count


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="check, train, compile and run LeNet-5 on the built-in digits")
    p.add_argument("--epochs", type=count(1, 10000), default=6,
                   help="training epochs (default 6, about a minute on a CPU)")
    p.add_argument("--keep", "--out", dest="keep", metavar="DIR",
                   help="keep the run folder (checkpoints, log, lenet5.onnx) in DIR (default: a temporary folder, "
                   "deleted at the end)")
    p.add_argument("--threads", type=count(1, 1024), default=1,
                   help="CPU threads for torch and onnxruntime (default 1: fastest for a net this small)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import tempfile

    if args.keep:
        rc = pipeline(Path(args.keep), args.epochs, args.threads)
        print(f"kept the run in {args.keep}")
        return rc
    with tempfile.TemporaryDirectory(prefix="archspec-demo-") as d:
        rc = pipeline(Path(d), args.epochs, args.threads)
    print("the run folder is deleted; keep it with --keep DIR")
    return rc


def pipeline(out: Path, epochs: int, threads: int) -> int:
    import torch

    from archspec import load
    from archspec.train import deploy
    from archspec.train.data import load_data
    from archspec.train.loop import train
    from archspec.train.recipe import load_recipe

    torch.set_num_threads(threads)
    run_dir, onnx_path = out / "run", out / "lenet5.onnx"
    print("[1/4] $ archspec check lenet5")
    model = load("lenet5")
    print(f"      ok: {model.name}: {len(model.graph.nodes) - 1} nodes, {model.params:,} params, {model.macs:,} MACs")
    print(f"[2/4] $ archspec train lenet5 --epochs {epochs} --out {run_dir}")
    recipe = load_recipe(None, model.name).override(epochs=epochs)
    result = train(model, recipe, run_dir, log=lambda s: print("      " + s), progress_bar=False, threads=threads)
    print(f"      best val acc {100 * result['best_val_acc']:.2f}% (epoch {result['best_epoch']})")
    weights = deploy.best_weights(run_dir)
    print(f"[3/4] $ archspec compile lenet5 --weights {weights} -o {onnx_path}")
    model.save_onnx(onnx_path, weights=weights)
    print(f"      wrote {onnx_path} ({onnx_path.stat().st_size / 1024:.0f} KiB)")
    print("[4/4] onnxruntime (CPU) on the held-out digits")
    data = load_data(model, recipe)
    pred, truth = deploy.onnx_predictions(onnx_path, data, threads)
    tpred, _ = deploy.torch_predictions(model, weights, data)
    lat = deploy.latency(onnx_path, model.input_shape, 1, threads=threads)
    print(f"      accuracy {100 * (pred == truth).mean():.2f}% on {len(truth)} images "
          f"(torch: {100 * (tpred == truth).mean():.2f}%, same predictions: {(pred == tpred).mean() * 100:.1f}%)")
    print(f"      latency batch 1: p50 {lat['p50_ms']:.3f} ms, p90 {lat['p90_ms']:.3f} ms "
          f"({lat['images_per_s']:,.0f} images/s)")
    return 0
