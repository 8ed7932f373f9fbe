"""`--check`: the ONNX checker (full), strict shape inference and one onnxruntime CPU run of a file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from archspec.errors import UserError
from archspec.onnx_backend.metadata import META_INPUT


class CheckFailed(UserError):
    """A compiled file that the checker, shape inference or onnxruntime rejects."""


def check_file(path: str | Path, batch: int = 1) -> list[str]:
    """Check `path`; returns a line per check, raises CheckFailed naming the failing one."""
    import onnx
    import onnxruntime as ort

    path, lines = str(path), []
    try:
        onnx.checker.check_model(path, full_check=True)  # by path: external data is read too
    except Exception as e:
        raise CheckFailed(f"onnx.checker: {e}") from None
    lines.append("onnx.checker (full_check): ok")
    model = onnx.load(path, load_external_data=False)
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as e:
        raise CheckFailed(f"shape inference: {e}") from None
    lines.append(f"shape inference: ok, {len(inferred.graph.value_info)} values typed")
    meta = {p.key: p.value for p in model.metadata_props}
    try:
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        feed = {i.name: _random(_shape(i, batch, meta), "float16" in i.type) for i in sess.get_inputs()}
        start = time.perf_counter()
        outs = sess.run(None, feed)
        ms = (time.perf_counter() - start) * 1e3
    except Exception as e:
        raise CheckFailed(f"onnxruntime: {e}") from None
    bad = [o.name for o, v in zip(sess.get_outputs(), outs) if not np.isfinite(v).all()]
    if bad:
        raise CheckFailed(f"onnxruntime: non-finite values in {', '.join(bad)}")
    shapes = ", ".join(f"{o.name} {list(v.shape)}" for o, v in zip(sess.get_outputs(), outs))
    lines.append(f"onnxruntime CPU: ok, {shapes} in {ms:.1f} ms")
    return lines


def _random(shape: tuple[int, ...], fp16: bool) -> np.ndarray:
    """A standard normal input (runtime.ort_bench.random_input's values, without importing the runtime)."""
    return np.random.default_rng(0).standard_normal(shape, dtype=np.float32).astype(np.float16 if fp16 else np.float32)


def _shape(arg: object, batch: int, meta: dict[str, str]) -> tuple[int, ...]:
    """The shape of a random input: symbolic N is `batch`; symbolic H, W take the spec's size."""
    spec_shape = json.loads(meta.get(META_INPUT, "{}")).get("shape", [])
    return tuple(d if isinstance(d, int) else batch if i == 0 else spec_shape[i - 1]
                 for i, d in enumerate(arg.shape))  # type: ignore[attr-defined]
