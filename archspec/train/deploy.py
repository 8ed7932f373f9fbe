"""Deploying what was trained: the run's weights compiled to ONNX and scored on onnxruntime
against the torch model, on the run's own validation set."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from archspec.errors import Diagnostic, SpecError
from archspec.model import Model
from archspec.train.data import TrainData
from archspec.train.net import build_model

if TYPE_CHECKING:
    import onnxruntime


def best_weights(run: str | Path) -> Path:
    """A run folder's best weights (.safetensors: readable without torch)."""
    path = Path(run) / "best.safetensors"
    if not path.is_file():
        raise SpecError(Diagnostic(f"no best.safetensors in {run}", hint="train first: archspec train SPEC --out RUN"))
    return path


def torch_predictions(model: Model, weights: Path, data: TrainData) -> tuple[np.ndarray, np.ndarray]:
    """(predicted, true) labels of the validation set by the torch module with `weights`."""
    from archspec.weights import load_weights

    net = build_model(model, 0)
    state = {k: torch.from_numpy(np.asarray(v)) for k, v in load_weights(weights).items()}
    net.load_state_dict(state)
    net.eval()
    preds, truth = [], []
    with torch.no_grad():
        for x, y in data.val_loader():
            preds.append(net(x).argmax(1).numpy())
            truth.append(y.numpy())
    return np.concatenate(preds), np.concatenate(truth)


def session(onnx_path: str | Path, threads: int = 0) -> onnxruntime.InferenceSession:
    from archspec.runtime.session import create_session

    return create_session(str(onnx_path), "cpu", threads or None)[0]


def onnx_predictions(onnx_path: str | Path, data: TrainData, threads: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(predicted, true) labels of the validation set by onnxruntime on the CPU."""
    sess = session(onnx_path, threads)
    name = sess.get_inputs()[0].name
    preds, truth = [], []
    for x, y in data.val_loader():
        preds.append(sess.run(None, {name: x.numpy()})[0].argmax(1))
        truth.append(y.numpy())
    return np.concatenate(preds), np.concatenate(truth)


def latency(onnx_path: str | Path, shape: tuple[int, ...], batch: int = 1, iters: int = 200,
            threads: int = 0) -> dict[str, float]:
    """onnxruntime CPU latency in ms at `batch` (median and 90th percentile of `iters` runs), timed by
    the harness of `archspec bench`."""
    from archspec.runtime.bench import time_calls

    sess = session(onnx_path, threads)
    feed = {sess.get_inputs()[0].name: np.random.default_rng(0).standard_normal((batch, *shape), np.float32)}
    stats = time_calls(lambda: sess.run(None, feed), warmup=10, iters=iters, progress=False)
    return {"p50_ms": 1e3 * stats.p50, "p90_ms": 1e3 * stats.p90, "images_per_s": batch / stats.p50}
