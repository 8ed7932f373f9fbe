"""OpenVINO as a second runtime for the same ONNX file: sessions that answer as onnxruntime's do.

OpenVINO reads the ONNX model itself (its ONNX front end), so what it runs is the very file
onnxruntime runs, metadata (preprocessing, labels) included. Its precision hint chooses the
arithmetic of floating-point layers: `f32`, or `bf16` (on CPUs with AVX-512 BF16 or AMX; on
others OpenVINO keeps f32). A QDQ INT8 model runs in int8 either way. The package is the
optional extra `archspec[openvino]`; without it a RunError says how to install it.
"""

from __future__ import annotations

import time
from importlib import metadata
from typing import Any

import numpy as np

from archspec.runtime.errors import InputError, ProviderError

PRECISIONS = ("f32", "bf16")
RUNTIMES = ("onnxruntime", "openvino")


def import_ov() -> Any:
    try:
        import openvino
    except ImportError:
        raise ProviderError("OpenVINO is not installed: `pip install 'archspec[openvino]'` "
                            "(or use --runtime onnxruntime)") from None
    return openvino


def ov_package() -> str:
    try:
        return f"openvino {metadata.version('openvino')}"
    except metadata.PackageNotFoundError:
        return "openvino"


class OVSession:
    """A compiled OpenVINO model with onnxruntime's `run(output_names, feed)` (what run_batches
    and the timing calls use), on one infer request."""

    def __init__(self, compiled: Any):
        self.compiled = compiled
        self.request = compiled.create_infer_request()

    def run(self, names: list[str] | None, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        results = self.request.infer(feed)
        ports = self.compiled.outputs if names is None else [self.compiled.output(n) for n in names]
        return [np.asarray(results[p]) for p in ports]

    @property
    def precision(self) -> str:
        """The precision OpenVINO really chose (bf16 falls back to f32 on CPUs without it)."""
        hint = self.compiled.get_property("INFERENCE_PRECISION_HINT")  # an openvino Type
        return str(hint.to_string() if hasattr(hint, "to_string") else hint)


def create_ov_session(model: bytes, precision: str = "f32", threads: int | None = None,
                      device: str = "CPU") -> tuple[OVSession, float]:
    """A session for the serialized ONNX `model` and the seconds reading and compiling it took.
    PERFORMANCE_HINT LATENCY: one request at a time on all the cores, as onnxruntime runs."""
    ov = import_ov()
    if precision not in PRECISIONS:
        raise ProviderError(f"unknown precision '{precision}': use one of {', '.join(PRECISIONS)}")
    config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = str(threads)
    t0 = time.perf_counter()
    try:
        core = ov.Core()
        compiled = core.compile_model(core.read_model(model), device, config)
    except Exception as e:  # OpenVINO raises RuntimeError (and its own types) for a model it cannot take
        first = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        raise InputError(f"OpenVINO cannot load the model: {first}") from None
    return OVSession(compiled), time.perf_counter() - t0


def open_session(model: bytes, runtime: str = "onnxruntime", provider: str = "cpu", threads: int | None = None,
                 precision: str = "f32", spin: bool = True) -> tuple[Any, float]:
    """A session on `runtime`; onnxruntime runs only f32 on the CPU (fp16 needs an fp16 model)."""
    from archspec.runtime.session import create_session

    if runtime == "openvino":
        if provider != "cpu":
            raise ProviderError("--runtime openvino runs on the CPU here: use --provider cpu")
        return create_ov_session(model, precision, threads)
    if runtime != "onnxruntime":
        raise ProviderError(f"unknown runtime '{runtime}': use one of {', '.join(RUNTIMES)}")
    if precision != "f32":
        raise ProviderError(f"--precision {precision} is OpenVINO's: onnxruntime runs the model's own types "
                            "(use --runtime openvino, or an INT8 model from `archspec compile --quantize int8`)")
    return create_session(model, provider, threads, spin)


def compare_outputs(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """How far two runtimes' outputs for the same inputs are apart, and how often top-1 agrees."""
    a2, b2 = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return {"max_abs_diff": float(np.max(np.abs(a2.astype(np.float64) - b2))) if a2.size else 0.0,
            "top1_agreement": float((a2.argmax(1) == b2.argmax(1)).mean()) if len(a2) else 1.0}
