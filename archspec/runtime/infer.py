"""Run a model on input files: preprocess, one onnxruntime session, top-k."""

from __future__ import annotations

from typing import Any

import numpy as np

from archspec.runtime.load import OnnxModel
from archspec.runtime.preprocess import load_inputs
from archspec.runtime.session import create_session
from archspec.runtime.topk import top_k


def predict(model: OnnxModel, inputs: list[str], k: int = 5, provider: str = "cpu",
            threads: int | None = None, runtime: str = "onnxruntime", precision: str = "f32") -> list[dict[str, Any]]:
    """One record per sample: {"input": name, "top": [{rank, index, label, probability}...]}."""
    return predict_compared(model, inputs, k, provider, threads, runtime, precision)[0]


def predict_compared(model: OnnxModel, inputs: list[str], k: int = 5, provider: str = "cpu",
                     threads: int | None = None, runtime: str = "onnxruntime",
                     precision: str = "f32") -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The records of `predict`, and on a runtime other than onnxruntime how its outputs compare
    with onnxruntime's on the same inputs (max |difference|, top-1 agreement, precision used)."""
    from archspec.runtime.openvino import compare_outputs, open_session

    batch = load_inputs(inputs, model.preprocess, model.input_dims[1:], model.input_dtype)
    session, _ = open_session(model.data, runtime, provider, threads, precision)
    scores = run_batches(session, model, batch.array)
    preds = top_k(scores, k, model.labels, model.outputs_probabilities)
    comparison = None
    if runtime != "onnxruntime":
        reference, _ = create_session(model.data, "cpu", threads)
        comparison = {"against": "onnxruntime", "precision": session.precision,
                      **compare_outputs(scores, run_batches(reference, model, batch.array))}
    return [{"input": n, "top": p} for n, p in zip(batch.names, preds)], comparison


def run_batches(session: Any, model: OnnxModel, x: np.ndarray) -> np.ndarray:
    """The main output for all of `x`; a model compiled for a fixed batch B runs in chunks of B,
    the last one padded with zeros (padding rows are dropped)."""
    b = model.input_dims[0] or len(x)
    outs = []
    for i in range(0, len(x), b):
        chunk = x[i:i + b]
        pad = b - len(chunk)
        if pad:
            chunk = np.concatenate([chunk, np.zeros((pad, *chunk.shape[1:]), chunk.dtype)])
        out = session.run([model.output_name], {model.input_name: chunk})[0]
        outs.append(out[:len(out) - pad])
    return np.concatenate(outs)
