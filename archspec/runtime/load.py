"""What the runtime runs: an ONNX model with what it needs to know about it.

MODEL on the command line is an .onnx file, or a spec (path or built-in name) that is compiled
in memory. Everything the runtime reads from a compiled model (input name, shape and type,
preprocessing, labels, MACs) is gathered here into one `OnnxModel`.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from archspec.runtime.errors import InputError, RunError
from archspec.spec import Preprocess

if TYPE_CHECKING:
    import onnx

    from archspec.model import Model


@dataclass
class OnnxModel:
    """Made from a ModelProto (a file) or its encoding (a spec compiled in memory); the other one
    is derived when first asked for."""

    name: str
    preprocess: Preprocess
    labels: list[str] | None
    spec: Model | None = None  # the spec it was compiled from, when MODEL was a spec
    weights: str | None = None  # for a file: its weights as its metadata records them ("seed 0", a file name)
    compiled_shape: tuple[int, ...] | None = None  # for a file: the spec's per-sample input shape
    compile_s: float = 0.0
    encoded: bytes | None = field(default=None, repr=False)
    parsed: onnx.ModelProto | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.encoded is None and self.parsed is None:
            raise ValueError("OnnxModel needs its ModelProto or its encoding")

    @cached_property
    def data(self) -> bytes:
        return self.encoded if self.encoded is not None else self.parsed.SerializeToString()  # type: ignore[union-attr]

    @cached_property
    def proto(self) -> onnx.ModelProto:
        if self.parsed is not None:
            return self.parsed
        import onnx

        return onnx.load_from_string(self.data)

    @cached_property
    def _input(self) -> Any:
        inits = {i.name for i in self.proto.graph.initializer}
        return next(i for i in self.proto.graph.input if i.name not in inits)

    @property
    def input_name(self) -> str:
        return str(self._input.name)

    @property
    def input_dims(self) -> tuple[int | None, ...]:
        """The input's dims, batch included; None where symbolic."""
        dims = self._input.type.tensor_type.shape.dim
        return tuple(d.dim_value if d.HasField("dim_value") else None for d in dims)

    @property
    def input_dtype(self) -> np.dtype:
        from onnx.helper import tensor_dtype_to_np_dtype

        return np.dtype(tensor_dtype_to_np_dtype(self._input.type.tensor_type.elem_type))

    @property
    def random_weights(self) -> bool:
        """A file compiled without trained weights: its metadata records the seed it drew them from."""
        return self.weights is not None and self.weights.startswith("seed ")

    @property
    def output_name(self) -> str:
        return str(self.proto.graph.output[0].name)

    @property
    def outputs_probabilities(self) -> bool:
        """True when the main output is made by a Softmax: no softmax is applied again."""
        last = [n for n in self.proto.graph.node if self.output_name in n.output]
        return bool(last) and last[0].op_type == "Softmax"

    def macs(self, sample_shape: tuple[int, ...]) -> int:
        """Conv and linear multiply-adds per sample: the spec's own count, or counted in the graph."""
        if self.spec is not None and tuple(sample_shape) == tuple(self.spec.input_shape):
            return self.spec.macs
        from archspec.runtime.macs import onnx_macs

        return onnx_macs(self.proto, sample_shape)

    def sample_shape(self, override: tuple[int, ...] | None = None) -> tuple[int, ...]:
        """The per-sample input shape, symbolic dims filled from `override`, or else (a file compiled
        with --dynamic-hw) from the size its spec was compiled at."""
        dims = self.input_dims[1:]
        if override is not None:
            if not self._fits(override):
                raise InputError(f"--input {'x'.join(map(str, override))} does not fit the model input "
                                 f"{format_dims(self.input_dims)}")
            return override
        if None not in dims:
            return tuple(d for d in dims if d is not None)
        if self.compiled_shape is not None and self._fits(self.compiled_shape):
            return self.compiled_shape
        raise InputError(f"the model input {format_dims(self.input_dims)} has symbolic sizes: give --input CxHxW")

    def _fits(self, shape: tuple[int, ...]) -> bool:
        dims = self.input_dims[1:]
        return len(shape) == len(dims) and all(d in (None, o) for d, o in zip(dims, shape))


def format_dims(dims: tuple[int | None, ...]) -> str:
    return "[" + ",".join("N" if i == 0 and d is None else "?" if d is None else str(d)
                          for i, d in enumerate(dims)) + "]"


def compile_spec(model: Model, *, fp16: bool = False, weights: dict[str, np.ndarray] | None = None,
                 seed: int = 0) -> bytes:
    """The runtime's one way from a spec to ONNX: the deploy graph (BN folded), symbolic batch,
    as the encoded ModelProto (onnxruntime takes it as it is)."""
    from archspec.onnx_backend import CompileError
    from archspec.weights import WeightsError

    try:
        return model.onnx_bytes(mode="deploy", fp16=fp16, weights=weights, seed=seed)
    except (CompileError, WeightsError) as e:
        raise RunError(f"{model.name}: {e}") from None


def is_onnx_ref(ref: str | Path) -> bool:
    """Whether MODEL names an ONNX file (an .onnx path, or an existing file that is no YAML spec)
    rather than a spec (a spec file or a built-in name)."""
    path = Path(ref)
    return path.suffix == ".onnx" or (path.is_file() and path.suffix not in (".yaml", ".yml"))


def open_model(ref: str | Path, *, fp16: bool = False, weights: dict[str, np.ndarray] | None = None,
               seed: int = 0) -> OnnxModel:
    """An .onnx file as it is, or a spec compiled in memory (SpecError when it is neither)."""
    if is_onnx_ref(ref):
        return from_file(Path(ref))
    from archspec import load

    return from_spec(load(ref), fp16=fp16, weights=weights, seed=seed)


def from_spec(model: Model, *, fp16: bool = False, weights: dict[str, np.ndarray] | None = None,
              seed: int = 0) -> OnnxModel:
    t0 = time.perf_counter()
    data = compile_spec(model, fp16=fp16, weights=weights, seed=seed)
    return OnnxModel(model.name, model.spec.preprocess or Preprocess(), model.spec.labels,
                     spec=model, compile_s=time.perf_counter() - t0, encoded=data)


def from_file(path: Path) -> OnnxModel:
    import onnx

    # (imports the compiler)
    from archspec.onnx_backend.metadata import META_INPUT, META_LABELS, META_PREPROCESS, META_SPEC, META_WEIGHTS

    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        proto = onnx.load(str(path), load_external_data=False)
        _load_external_data(proto, path)
        _check_io(proto, path)
        meta = {p.key: p.value for p in proto.metadata_props}
    except InputError:
        raise
    except Exception as e:  # protobuf raises DecodeError, onnx its own, a bad string UnicodeDecodeError
        raise InputError(f"{path}: not a readable ONNX model ({type(e).__name__}: {str(e)[:200]})") from None
    try:
        pre = json.loads(meta.get(META_PREPROCESS, "null"))
        pre = Preprocess.model_validate(pre) if pre is not None else Preprocess()
        labels = json.loads(meta.get(META_LABELS, "null"))
        shape = json.loads(meta.get(META_INPUT, "{}")).get("shape")
        compiled = tuple(int(d) for d in shape) if shape else None
    except (ValueError, TypeError, AttributeError) as e:
        raise InputError(f"{path}: bad archspec metadata: {e}") from None
    return OnnxModel(meta.get(META_SPEC) or path.stem, pre, labels, parsed=proto, weights=meta.get(META_WEIGHTS),
                     compiled_shape=compiled)



def _load_external_data(proto: onnx.ModelProto, path: Path) -> None:
    """Tensors stored outside the model, read only from files beside it: a crafted model cannot
    make the runtime read /etc/shadow or ../../secrets by naming them as its external data."""
    import onnx.external_data_helper as ext

    folder = path.resolve().parent
    tensors = [t for t in ext._get_all_tensors(proto) if ext.uses_external_data(t)]
    for t in tensors:
        location = next((e.value for e in t.external_data if e.key == "location"), "")
        target = (folder / location).resolve()
        if not location or Path(location).is_absolute() or not target.is_relative_to(folder) or not target.is_file():
            raise InputError(f"{path}: tensor '{t.name}' names its data in '{location}', which is not a file "
                             f"beside the model")
    if tensors:
        ext.load_external_data_for_model(proto, str(folder))


def _check_io(proto: onnx.ModelProto, path: Path) -> None:
    """What the runtime needs of a model file: a float tensor input of bounded size, an output."""
    from onnx import TensorProto

    from archspec.limits import LIMITS

    inits = {i.name for i in proto.graph.initializer}
    inputs = [i for i in proto.graph.input if i.name not in inits]
    if not inputs or not proto.graph.output:
        raise InputError(f"{path}: the model has no {'input' if not inputs else 'output'}")
    if len(inputs) > 1:
        raise InputError(f"{path}: the model takes {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); "
                         f"archspec run and bench feed one")
    x = inputs[0]
    if x.type.WhichOneof("value") != "tensor_type":
        raise InputError(f"{path}: input '{x.name}' is a {x.type.WhichOneof('value') or 'value of no type'}, "
                         f"not a tensor")
    t = x.type.tensor_type
    if t.elem_type not in (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE):
        raise InputError(f"{path}: input '{x.name}' holds {TensorProto.DataType.Name(t.elem_type)}; the runtime "
                         f"feeds float tensors")
    dims = [d.dim_value for d in t.shape.dim]
    if len(dims) < 2:
        raise InputError(f"{path}: input '{x.name}' has rank {len(dims)}; the runtime feeds a batch [N, ...]")
    if any(d < 0 for d in dims) or math.prod(d or 1 for d in dims[1:]) * 4 > LIMITS.array_bytes:
        raise InputError(f"{path}: input '{x.name}' has sizes {dims}, past the limit of "
                         f"{LIMITS.array_bytes:,} bytes a sample (raise it with --limit array_bytes=N)")
