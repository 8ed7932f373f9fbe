"""Deploying what was trained: the run's weights compiled to ONNX and scored on onnxruntime
against the torch model, on the run's own validation set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from archspec.errors import Diagnostic, SpecError
from archspec.model import Model
from archspec.train.data import TrainData


def best_weights(run: str | Path) -> Path:
    """A run folder's best weights (.safetensors: readable without torch)."""
    path = Path(run) / "best.safetensors"
    if not path.is_file():
        raise SpecError(Diagnostic(f"no best.safetensors in {run}", hint="train first: archspec train SPEC --out RUN"))
    return path


def torch_predictions(model: Model, weights: Path, data: TrainData) -> tuple[np.ndarray, np.ndarray]:
    """(predicted, true) labels of the validation set by the torch module with `weights`."""
    from archspec.torch_backend import load_state

    net = load_state(model.to_torch(seed=0), weights).eval()
    preds, truth = [], []
    with torch.no_grad():
        for x, y in data.val_loader():
            preds.append(net(x).argmax(1).numpy())
            truth.append(y.numpy())
    return np.concatenate(preds), np.concatenate(truth)


def onnx_predictions(onnx_path: str | Path, data: TrainData, threads: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(predicted, true) labels of the validation set by onnxruntime on the CPU."""
    from archspec.runtime.infer import run_batches
    from archspec.runtime.load import from_file
    from archspec.runtime.session import create_session

    model = from_file(Path(onnx_path))
    sess = create_session(model.data, "cpu", threads or None)[0]
    preds, truth = [], []
    for x, y in data.val_loader():
        preds.append(run_batches(sess, model, x.numpy()).argmax(1))
        truth.append(y.numpy())
    return np.concatenate(preds), np.concatenate(truth)


def latency(onnx_path: str | Path, shape: tuple[int, ...], batch: int = 1, iters: int = 200,
            threads: int = 0) -> dict[str, float]:
    """onnxruntime CPU latency in ms at `batch` (median and 90th percentile of `iters` runs), timed as
    `archspec bench` times it."""
    from archspec.runtime.load import from_file
    from archspec.runtime.ort_bench import bench_onnx

    model = from_file(Path(onnx_path))
    [result] = bench_onnx(model, [batch], "cpu", threads or None, warmup=10, iters=iters, progress=False,
                          sample_shape=tuple(shape))
    stats = result.stats
    assert stats is not None
    return {"p50_ms": 1e3 * stats.p50, "p90_ms": 1e3 * stats.p90, "images_per_s": batch / stats.p50}
