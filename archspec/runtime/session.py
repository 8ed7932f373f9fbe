"""onnxruntime sessions on the CPU or CUDA provider.

CUDA is used only when it was asked for, the installed onnxruntime has the CUDA provider
(the `onnxruntime-gpu` package, extra `archspec[gpu]`) and the session really runs on it.
Otherwise a ProviderError says what to install; the runtime never falls back to the CPU
silently, since a benchmark that quietly ran elsewhere would report false figures.
"""

from __future__ import annotations

import time
from importlib import metadata
from typing import TYPE_CHECKING, Any

from archspec.runtime.errors import InputError, ProviderError

if TYPE_CHECKING:
    import onnxruntime

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


def ort_package() -> str:
    """Which onnxruntime distribution is installed (for messages)."""
    for dist in ("onnxruntime-gpu", "onnxruntime"):
        try:
            return f"{dist} {metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            continue
    return "onnxruntime"


def cuda_missing(available: list[str], package: str) -> str | None:
    """Why the CUDA provider cannot be used with this onnxruntime build; None when it can be tried."""
    if PROVIDERS["cuda"] in available:
        return None
    return (f"CUDA was asked for, but the installed onnxruntime ({package}) has no CUDA provider "
            f"(it has {', '.join(available)}). Install the GPU build: `pip uninstall onnxruntime && "
            "pip install 'archspec[gpu]'` (onnxruntime-gpu, which needs an NVIDIA GPU with its CUDA "
            "and cuDNN libraries), or use --provider cpu.")


def import_ort() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise ProviderError("onnxruntime is not installed: `pip install 'archspec[runtime]'` (CPU) or "
                            "`pip install 'archspec[gpu]'` (NVIDIA GPU)") from None
    return onnxruntime


def create_session(model: bytes | str, provider: str = "cpu", threads: int | None = None,
                   spin: bool = True) -> tuple[onnxruntime.InferenceSession, float]:
    """A session for `model` (serialized bytes or a path) and the seconds its creation took.

    `threads`: intra-op threads (None: onnxruntime's default, one per physical core).
    `spin`: whether idle worker threads busy-wait for the next call (onnxruntime's default, fastest
    alone). Turn it off when timing interleaved with another runtime, which they would slow down.
    """
    ort = import_ort()
    if provider not in PROVIDERS:
        raise ProviderError(f"unknown provider '{provider}': use one of {', '.join(PROVIDERS)}")
    if provider == "cuda" and (why := cuda_missing(ort.get_available_providers(), ort_package())):
        raise ProviderError(why)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads or 0
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    providers = [PROVIDERS[provider]] + (["CPUExecutionProvider"] if provider == "cuda" else [])
    t0 = time.perf_counter()
    try:
        session = ort.InferenceSession(model, sess_options=opts, providers=providers)
    except Exception as e:  # onnxruntime's own errors (InvalidGraph, NotImplemented, Fail...) have no common base
        first = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        raise InputError(f"onnxruntime cannot load the model: {first}") from None
    load_s = time.perf_counter() - t0
    if PROVIDERS[provider] not in session.get_providers():  # onnxruntime fell back: refuse
        raise ProviderError("the CUDA provider is installed but could not start: no visible NVIDIA GPU, or "
                            "CUDA/cuDNN libraries missing (onnxruntime's warning above names them; "
                            "`onnxruntime.preload_dlls()` can take them from an installed torch). "
                            "Use --provider cpu to run on the CPU.")
    return session, load_s
