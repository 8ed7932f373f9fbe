"""Benchmark an ONNX model on onnxruntime, one fresh session per batch size."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from archspec.runtime.bench import BenchResult, time_calls
from archspec.runtime.errors import InputError
from archspec.runtime.load import OnnxModel
from archspec.runtime.session import create_session, import_ort


def random_input(shape: tuple[int, ...], dtype: np.dtype, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32).astype(dtype)


def ort_call(session: Any, model: OnnxModel, x: np.ndarray, provider: str) -> Callable[[], Any]:
    """One inference as a call: `session.run` on the CPU, bound device memory on CUDA."""
    if provider == "cuda":
        return bound_call(session, model, x, "cuda")
    feed, names = {model.input_name: x}, [model.output_name]
    return lambda: session.run(names, feed)


def bound_call(session: Any, model: OnnxModel, x: np.ndarray, device: str) -> Callable[[], Any]:
    """A call with I/O binding: input and output live on `device`, put there once, so that a timed
    call is the graph alone, with no host-device copies. The call returns the output OrtValue."""
    ort = import_ort()
    out = session.run([model.output_name], {model.input_name: x})[0]  # its shape and type
    binding = session.io_binding()
    binding.bind_ortvalue_input(model.input_name, ort.OrtValue.ortvalue_from_numpy(x, device, 0))
    y = ort.OrtValue.ortvalue_from_shape_and_type(out.shape, out.dtype.type, device, 0)
    binding.bind_ortvalue_output(model.output_name, y)

    def call() -> Any:
        session.run_with_iobinding(binding)  # returns once the device has finished
        binding.synchronize_outputs()
        return y

    return call


def bench_onnx(model: OnnxModel, batches: list[int], provider: str = "cpu", threads: int | None = None,
               warmup: int = 5, iters: int | None = 20, seconds: float | None = None,
               progress: bool | None = None, sample_shape: tuple[int, ...] | None = None,
               macs: int | None = None) -> list[BenchResult]:
    """Session load time and latencies of `model` at each batch size. `sample_shape` and `macs`:
    the caller's `model.sample_shape(...)` and `model.macs(shape)`, computed here when not given."""
    shape = model.sample_shape() if sample_shape is None else sample_shape
    macs, fixed = model.macs(shape) if macs is None else macs, model.input_dims[0]
    results = []
    for b in batches:
        if fixed is not None and b != fixed:
            raise InputError(f"the model was compiled for batch {fixed} only: use --batch {fixed}, or "
                             "compile it with a symbolic batch")
        session, load_s = create_session(model.data, provider, threads)
        call = ort_call(session, model, random_input((b, *shape), model.input_dtype), provider)
        stats = time_calls(call, warmup, iters, seconds, progress, desc=f"onnxruntime batch {b}")
        results.append(BenchResult("onnxruntime", provider, b, macs, load_s, stats))
    return results
