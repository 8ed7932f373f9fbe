"""Inference and benchmarks on onnxruntime: sessions, preprocessing, top-k and one timing harness.

`import archspec.runtime` is light: onnxruntime, onnx and torch are imported inside the functions
that need them, so importing this package costs nothing on a machine without them.
"""

from archspec.runtime.bench import BenchResult, Stats, time_calls, time_interleaved
from archspec.runtime.errors import InputError, ProviderError, RunError

__all__ = ["BenchResult", "InputError", "ProviderError", "RunError", "Stats", "time_calls", "time_interleaved"]
