"""The torch backend timed like onnxruntime: eager mode, and torch.compile where it works."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from archspec.runtime.bench import BenchResult, time_calls
from archspec.runtime.errors import ProviderError
from archspec.runtime.ort_bench import random_input
from archspec.runtime.weights import Weights

if TYPE_CHECKING:
    import torch

    from archspec.model import Model


def torch_module(model: Model, weights: Weights, device: str = "cpu", fp16: bool = False) -> torch.nn.Module:
    """The spec's torch module in eval mode holding `weights` (all of them: an unexpected or
    mis-shaped key is a WeightsError naming it; keys `weights` lacks, such as a train-only head's,
    keep their initial values)."""
    import torch

    from archspec.torch_backend import load_state

    module = model.to_torch(seed=0)
    load_state(module, {**module.state_dict(), **{k: torch.from_numpy(v.copy()) for k, v in weights.items()}})
    module = module.eval().to(device)
    return module.half() if fp16 else module


def torch_device(provider: str) -> str:
    import torch

    if provider == "cuda" and not torch.cuda.is_available():
        raise ProviderError("--compare torch on CUDA: this torch has no CUDA device "
                            f"(torch {torch.__version__}); install a CUDA build of torch")
    return "cuda" if provider == "cuda" else "cpu"


def torch_call(module: Callable[[Any], Any], x: torch.Tensor) -> Callable[[], Any]:
    import torch

    def call() -> Any:
        y = module(x)
        if x.is_cuda:  # the kernels run asynchronously: time them to their end
            torch.cuda.synchronize()
        return y

    return call


def bench_torch(model: Model, weights: Weights, batches: list[int], provider: str = "cpu",
                threads: int | None = None, fp16: bool = False, compile: bool = True, warmup: int = 5,
                iters: int | None = 20, seconds: float | None = None, progress: bool | None = None,
                sample_shape: tuple[int, ...] | None = None, macs: int | None = None) -> list[BenchResult]:
    """torch-eager (and torch-compile) results per batch size, on `sample_shape` (default: the
    spec's own input shape) and its `macs` per sample."""
    import time

    import torch

    device = torch_device(provider)
    if threads:
        torch.set_num_threads(threads)
    timing: dict[str, Any] = {"warmup": warmup, "iters": iters, "seconds": seconds, "progress": progress}
    shape, macs = sample_shape or model.input_shape, model.macs if macs is None else macs
    results = []
    for b in batches:
        t0 = time.perf_counter()
        module = torch_module(model, weights, device, fp16)
        load_s = time.perf_counter() - t0
        x = torch.from_numpy(random_input((b, *shape), np.dtype(np.float16 if fp16 else np.float32))).to(device)
        with torch.inference_mode():
            stats = time_calls(torch_call(module, x), **timing, desc=f"torch eager batch {b}")
            results.append(BenchResult("torch-eager", provider, b, macs, load_s, stats))
            if compile:
                results.append(_compiled(module, x, macs, load_s, provider, timing))
    return results


def _compiled(module: torch.nn.Module, x: torch.Tensor, macs: int, load_s: float, provider: str,
              timing: dict[str, Any]) -> BenchResult:
    """torch.compile'd module; its load time includes the compilation (first call). When it cannot
    compile here (no C++ compiler, unsupported platform), the result carries the reason."""
    import time

    import torch

    b = x.shape[0]
    try:
        t0 = time.perf_counter()
        compiled = torch.compile(module, dynamic=False)
        call = torch_call(compiled, x)
        call()
        load_s += time.perf_counter() - t0
        stats = time_calls(call, **timing, desc=f"torch.compile batch {b}")
    except Exception as e:  # any failure of the compiler stack means "not available here"
        reason = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return BenchResult("torch-compile", provider, b, macs, 0.0, error=f"{type(e).__name__}: {reason}"[:200])
    return BenchResult("torch-compile", provider, b, macs, load_s, stats)
