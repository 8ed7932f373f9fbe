"""Several deployments of one model timed side by side: FP32 and INT8 files, on onnxruntime and
OpenVINO, at each of OpenVINO's precisions; one interleaved run per batch size, so the ratios to
the first configuration pair latencies of the same rounds (a shared machine's drift cancels)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from archspec.runtime.bench import BenchResult, time_interleaved
from archspec.runtime.errors import InputError
from archspec.runtime.load import OnnxModel
from archspec.runtime.ort_bench import random_input


@dataclass
class Config:
    label: str  # what the model file is: fp32, fp16, int8, dynamic (or its file name)
    model: OnnxModel
    runtime: str
    precision: str

    @property
    def name(self) -> str:
        return f"{self.label} {self.runtime} {self.precision}"


def model_label(model: OnnxModel) -> str:
    """int8 / dynamic for a model archspec quantised (its metadata says so; int8-openvino for one
    quantised for OpenVINO), else its float type."""
    from archspec.runtime.quantize import META_QUANTIZATION

    meta = {p.key: p.value for p in model.proto.metadata_props}
    if META_QUANTIZATION in meta:
        how = json.loads(meta[META_QUANTIZATION])
        target = how.get("target", "onnxruntime")
        return str(how.get("mode", "int8")) + ("" if target == "onnxruntime" else f"-{target}")
    return "fp16" if model.input_dtype == np.float16 else "fp32"


def configs(models: list[OnnxModel], runtimes: list[str], precisions: list[str]) -> list[Config]:
    """Every model on every runtime; OpenVINO at every precision, onnxruntime at f32 only."""
    labels = [model_label(m) for m in models]
    labels = [f"{lab}:{m.name}" if labels.count(lab) > 1 else lab for lab, m in zip(labels, models)]
    out = []
    for label, m in zip(labels, models):
        for rt in runtimes:
            out += [Config(label, m, rt, p) for p in (precisions if rt == "openvino" else ["f32"])]
    return out


def _call(session: Any, feed: dict[str, np.ndarray], names: list[str]) -> Callable[[], Any]:
    return lambda: session.run(names, feed)


def bench_matrix(cfgs: list[Config], batches: list[int], threads: int | None, shape: tuple[int, ...], macs: int,
                 warmup: int = 5, iters: int | None = 20, seconds: float | None = None,
                 progress: bool | None = None) -> list[BenchResult]:
    """Each configuration at each batch size; `extra` holds its model label, precision and `ratio`:
    the median over rounds of its latency over the first configuration's."""
    from archspec.runtime.openvino import open_session

    results = []
    for b in batches:
        calls: dict[str, Callable[[], Any]] = {}
        loads: dict[str, float] = {}
        precision: dict[str, str] = {}
        for c in cfgs:
            fixed = c.model.input_dims[0]
            if fixed is not None and fixed != b:
                raise InputError(f"{c.model.name} ({c.label}) was compiled for batch {fixed} only: use --batch {fixed}")
            # idle onnxruntime workers must not spin: they would take the cores from the next call
            session, loads[c.name] = open_session(c.model.data, c.runtime, "cpu", threads, c.precision, spin=False)
            precision[c.name] = getattr(session, "precision", c.precision)
            feed, names = {c.model.input_name: random_input((b, *shape), c.model.input_dtype)}, [c.model.output_name]
            calls[c.name] = _call(session, feed, names)
        stats = time_interleaved(calls, warmup, iters, seconds, progress, desc=f"{len(cfgs)} configurations batch {b}")
        first = np.array(stats[cfgs[0].name].latencies)
        for c in cfgs:
            ratio = float(np.median(np.array(stats[c.name].latencies) / first))
            extra = {"model": c.label, "precision": precision[c.name], "ratio": ratio}
            results.append(BenchResult(c.runtime, "cpu", b, macs, loads[c.name], stats[c.name], extra=extra))
    return results
