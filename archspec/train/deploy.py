"""Deploying what was trained: the run's weights compiled to ONNX and scored on onnxruntime
against the torch model, on the run's own validation set."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from archspec.errors import Diagnostic, SpecError
from archspec.model import Model
from archspec.train.data import TrainData
from archspec.train.net import build_model


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


def session(onnx_path: str | Path, threads: int = 0):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    return ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])


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
    """onnxruntime CPU latency in ms at `batch` (median and 90th percentile of `iters` runs)."""
    sess = session(onnx_path, threads)
    feed = {sess.get_inputs()[0].name: np.random.default_rng(0).standard_normal((batch, *shape), np.float32)}
    for _ in range(10):
        sess.run(None, feed)
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        sess.run(None, feed)
        times.append(1e3 * (time.perf_counter() - t))
    return {"p50_ms": float(np.percentile(times, 50)), "p90_ms": float(np.percentile(times, 90)),
            "images_per_s": batch * 1e3 / float(np.percentile(times, 50))}
