"""FP32, INT8 and bf16 deployments side by side: onnxruntime and OpenVINO on archspec's ONNX files.

Latency: resnet50 and densenet121 at batch 1 (random weights, seed 0: latency does not depend on
them), each as its FP32 file and as its two static INT8 ones (`archspec compile --quantize int8`,
QDQ, int8 per-channel weights, calibrated on the built-in digits upscaled to 3x224x224): `int8`
made for onnxruntime (its quantiser) and `int8-openvino` made for OpenVINO (`--target openvino`,
NNCF); every file on onnxruntime (f32) and OpenVINO (f32 and bf16 precision hints); all configurations
of one model timed interleaved through archspec's one timing harness; each ratio is the median over
rounds of its latency over onnxruntime FP32's in the same round.

Accuracy: a CIFAR-style net (cifar_resnet20) trained briefly on the only data here (nothing is
downloadable): scikit-learn's bundled digits upscaled to 3x32x32, the built-in `cifar` recipe's
data (its recipe with a cosine schedule over a few epochs); scored on its held-out 20% (359
images) in every configuration; deltas in points against onnxruntime FP32.

Goals of issue 17: INT8 on onnxruntime at most 0.3x FP32's latency, accuracy within 0.5 points;
the fastest configuration at most 0.25x.

    python tools/bench_deploy.py [--specs resnet50,densenet121] [--iters 20] [--threads N] [--epochs 4]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

INT8_GOAL, FASTEST_GOAL, POINTS_GOAL = 0.3, 0.25, 0.5


def quantized_files(spec: str, folder: Path, weights: str | None = None, samples: int = 64,
                    targets: tuple[str, ...] | None = None) -> list[Path]:
    """The spec's FP32 file and its INT8 file for each target (default all: onnxruntime, and
    OpenVINO through NNCF), calibrated on the digits at the spec's input."""
    import archspec
    from archspec.runtime import dataset, quantize
    from archspec.weights import load_weights

    model = archspec.load(spec)
    fp32 = folder / f"{spec}.fp32.onnx"
    model.save_onnx(fp32, weights=load_weights(weights) if weights else None)
    train, _ = dataset.train_and_held_out("digits", model.input_shape, model.spec.preprocess)
    files = [fp32]
    for target in targets or quantize.TARGETS:
        files.append(folder / f"{spec}.int8-{target}.onnx")
        opts = quantize.Options("int8", calibration_samples=samples, min_agreement=0.0, target=target)
        quantize.quantize_file(fp32, files[-1], opts, train, None)
    return files


def latency_rows(spec: str, folder: Path, threads: int | None, iters: int, warmup: int) -> list[dict[str, Any]]:
    from archspec.runtime.load import from_file
    from archspec.runtime.matrix_bench import bench_matrix, configs

    models = [from_file(f) for f in quantized_files(spec, folder)]
    shape = models[0].sample_shape()
    cfgs = configs(models, ["onnxruntime", "openvino"], ["f32", "bf16"])
    results = bench_matrix(cfgs, [1], threads, shape, models[0].macs(shape), warmup=warmup, iters=iters,
                           progress=False)
    return [{"spec": spec, **r.to_dict()} for r in results]


# The built-in cifar recipe (He et al.'s, on the digits) with a cosine schedule over a few epochs:
# its step schedule would keep lr 0.1 throughout a short run, whose BN statistics then stay unsettled.
SHORT_CIFAR = """\
recipe: 1
name: cifar-short
data: {{train: digits, val_fraction: 0.2}}
augment: {{random_crop: {{padding: 4}}}}
batch_size: 64
epochs: {epochs}
optimizer: {{type: sgd, lr: 0.05, momentum: 0.9, weight_decay: 0.0001}}
schedule: {{type: cosine, warmup_epochs: 0.5}}
seed: 0
"""


def train_cifar(folder: Path, epochs: int) -> str:
    """cifar_resnet20 trained `epochs` epochs on the digits (SHORT_CIFAR)."""
    from archspec.cli import main

    run, recipe = folder / "cifar_resnet20", folder / "cifar_short.yaml"
    recipe.write_text(SHORT_CIFAR.format(epochs=epochs), encoding="utf-8")
    if main(["train", "cifar_resnet20", "--recipe", str(recipe), "--out", str(run), "-q"]) != 0:
        sys.exit("training cifar_resnet20 failed")
    return str(run / "best.safetensors")


def accuracy_rows(folder: Path, weights: str, threads: int | None) -> list[dict[str, Any]]:
    """Top-1 on the held-out digits of every configuration, against onnxruntime FP32's."""
    import archspec
    from archspec.runtime import dataset
    from archspec.runtime.infer import run_batches
    from archspec.runtime.load import from_file
    from archspec.runtime.matrix_bench import configs
    from archspec.runtime.openvino import open_session

    spec = "cifar_resnet20"
    model = archspec.load(spec)
    files = quantized_files(spec, folder, weights, samples=256)
    _, held = dataset.train_and_held_out("digits", model.input_shape, model.spec.preprocess)
    rows, base = [], None
    for c in configs([from_file(f) for f in files], ["onnxruntime", "openvino"], ["f32", "bf16"]):
        session, _ = open_session(c.model.data, c.runtime, "cpu", threads, c.precision)
        pred = run_batches(session, c.model, held.x).argmax(1)
        base = pred if base is None else base
        rows.append({"model": c.label, "backend": c.runtime, "precision": getattr(session, "precision", c.precision),
                     "samples": len(held.y), "top1": float((pred == held.y).mean()),
                     "agreement": float((pred == base).mean())})
    for r in rows:
        r["delta_points"] = 100 * (r["top1"] - rows[0]["top1"])
    return rows


def render(latency: list[dict[str, Any]], accuracy: list[dict[str, Any]], versions: str) -> str:
    lines = [f"# {versions}, batch 1", "",
             "| model | file | runtime | precision | p50 ms | x onnxruntime FP32 |", "|---|---|---|---|---:|---:|"]
    lines += [f"| {r['spec']} | {r['model']} | {r['backend']} | {r['precision']} | {r['p50_ms']:.2f} | "
              f"{r['ratio']:.3f} |" for r in latency]
    if accuracy:
        lines += ["", f"cifar_resnet20 trained on the digits (3x32x32), {accuracy[0]['samples']} held-out images:", "",
                  "| file | runtime | precision | top-1 | points vs FP32 | agreement |", "|---|---|---|---:|---:|---:|"]
        lines += [f"| {r['model']} | {r['backend']} | {r['precision']} | {100 * r['top1']:.2f}% | "
                  f"{r['delta_points']:+.2f} | {100 * r['agreement']:.2f}% |" for r in accuracy]
    return "\n".join(lines)


def verdict(latency: list[dict[str, Any]], accuracy: list[dict[str, Any]]) -> list[str]:
    out = []
    for spec in dict.fromkeys(r["spec"] for r in latency):
        rows = [r for r in latency if r["spec"] == spec]
        int8 = next(r["ratio"] for r in rows if r["model"] == "int8" and r["backend"] == "onnxruntime")
        best = min(rows[1:], key=lambda r: r["ratio"])
        met = "met" if int8 <= INT8_GOAL else "MISSED"
        out.append(f"{spec}: INT8 onnxruntime {int8:.3f}x (goal <= {INT8_GOAL}) {met}; "
                   f"fastest {best['model']} {best['backend']} {best['precision']} {best['ratio']:.3f}x "
                   f"(goal <= {FASTEST_GOAL}) {'met' if best['ratio'] <= FASTEST_GOAL else 'MISSED'}")
    if accuracy:
        worst = max(abs(r["delta_points"]) for r in accuracy if r["model"].startswith("int8"))
        out.append(f"accuracy: INT8 within {worst:.2f} points of FP32 (goal <= {POINTS_GOAL}) "
                   f"{'met' if worst <= POINTS_GOAL else 'MISSED'}")
    return out


def main() -> int:
    from archspec.runtime.openvino import ov_package
    from archspec.runtime.session import ort_package

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--specs", default="resnet50,densenet121", help="built-ins to time (default resnet50,densenet121)")
    ap.add_argument("--iters", type=int, default=20, help="interleaved rounds (default 20)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="for both runtimes (default: their own)")
    ap.add_argument("--epochs", type=int, default=4, help="training epochs of cifar_resnet20; 0 skips accuracy")
    ap.add_argument("--weights", help="trained cifar_resnet20 weights to score instead of training")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        folder = Path(tmp)
        latency = [row for s in args.specs.split(",") for row in
                   latency_rows(s, folder, args.threads, args.iters, args.warmup)]
        weights = args.weights or (train_cifar(folder, args.epochs) if args.epochs else None)
        accuracy = accuracy_rows(folder, weights, args.threads) if weights else []
    versions = f"{ort_package()} · {ov_package()} · threads {args.threads or 'default'}"
    if args.json:
        print(json.dumps({"versions": versions, "latency": latency, "accuracy": accuracy}, indent=2))
    else:
        print(render(latency, accuracy, versions))
        print("\n" + "\n".join(verdict(latency, accuracy)))
    return 0


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    raise SystemExit(main())
