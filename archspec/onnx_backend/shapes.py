"""The type and shape of the values a composite lowering's helper ops write (`<path>/<tag>`), so
every value of a compiled model gets its `value_info`. An IR node's own value takes the shape the
front end inferred; only the helpers, which the IR does not know, are worked out here, from the
shapes of their inputs (values and initializers), their attributes and constant inputs, by the
ONNX operator definitions. A dim is a size, a symbolic name, or None (unknown: it follows the
input's H or W under --dynamic-hw). A helper of an op type not listed here gets no value_info
(tests/test_onnx_value_info.py names it: add its rule)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Dim = int | str | None
Dims = tuple[Dim, ...]
BOOL = 9  # TensorProto.DataType

# output shape = the first input's (unary ops, and ops whose other inputs broadcast into it)
SAME = frozenset({
    "Abs", "BatchNormalization", "Ceil", "Celu", "Clip", "Dropout", "Elu", "Erf", "Exp", "Floor", "Gelu",
    "HardSigmoid", "HardSwish", "Identity", "InstanceNormalization", "LayerNormalization", "LeakyRelu", "Log",
    "LogSoftmax", "LRN", "Neg", "PRelu", "Reciprocal", "Relu", "Round", "Selu", "Sigmoid", "Sign", "Sin", "Cos",
    "Softmax", "Softplus", "Softsign", "Sqrt", "Tanh", "Not"})
# multidirectional (numpy) broadcasting of every input
BROADCAST = frozenset({"Add", "And", "Div", "Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Max",
                       "Mean", "Min", "Mod", "Mul", "Or", "Pow", "Sub", "Sum", "Where", "Xor"})
BOOLEAN = frozenset({"And", "Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Not", "Or", "Xor"})


def broadcast(shapes: Sequence[Dims]) -> Dims:
    """numpy's broadcasting over sizes, names and unknowns: a 1 takes the other dim, equal dims stay."""
    rank = max(len(s) for s in shapes)
    out: list[Dim] = []
    for i in range(rank):
        dims = {s[i - rank + len(s)] for s in shapes if i - rank + len(s) >= 0} - {1}
        out.append(1 if not dims else dims.pop() if len(dims) == 1 else None)
    return tuple(out)


def _matmul(shapes: Sequence[Dims]) -> Dims:
    a, b = shapes
    return (*broadcast([a[:-2], b[:-2]]), a[-2], b[-1])


def _window(size: Dim, k: int, stride: int, pad: int, dilation: int, ceil: bool) -> Dim:
    if not isinstance(size, int):
        return None
    span = size + pad - dilation * (k - 1) - 1
    return (-(-span // stride) if ceil else span // stride) + 1


def _spatial(x: Dims, kernel: Sequence[int], attrs: dict[str, Any]) -> Dims:
    n = len(kernel)
    strides, dilations = attrs.get("strides", [1] * n), attrs.get("dilations", [1] * n)
    pads = attrs.get("pads", [0] * 2 * n)
    ceil = bool(attrs.get("ceil_mode", 0))
    return tuple(_window(x[2 + i], kernel[i], strides[i], pads[i] + pads[i + n], dilations[i], ceil) for i in range(n))


def _conv(shapes: Sequence[Dims], attrs: dict[str, Any], consts: Sequence[np.ndarray | None]) -> Dims:
    x, w = shapes[0], shapes[1]
    return (x[0], w[0], *_spatial(x, [int(d) for d in w[2:] if isinstance(d, int)], attrs))


def _pool(shapes: Sequence[Dims], attrs: dict[str, Any], consts: Sequence[np.ndarray | None]) -> Dims:
    x = shapes[0]
    return (x[0], x[1], *_spatial(x, attrs["kernel_shape"], attrs))


def _slice(shapes: Sequence[Dims], attrs: dict[str, Any], consts: Sequence[np.ndarray | None]) -> Dims | None:
    x, given = list(shapes[0]), [None if c is None else [int(v) for v in c] for c in (*consts[1:5], None, None)]
    starts, ends, axes, steps = given[:4]
    if starts is None or ends is None:
        return None  # bounds computed at run time
    for a, s, e, t in zip(axes or range(len(starts)), starts, ends, steps or [1] * len(starts)):
        d = x[a]
        x[a] = len(range(*slice(s, e, t).indices(d))) if isinstance(d, int) else None
    return tuple(x)


def _pad(shapes: Sequence[Dims], attrs: dict[str, Any], consts: Sequence[np.ndarray | None]) -> Dims | None:
    x, pads = shapes[0], consts[1]
    if pads is None:
        return None
    n = len(x)
    grow = [int(pads[i]) + int(pads[i + n]) for i in range(n)]
    return tuple(d + g if isinstance(d, int) else d if g == 0 else None for d, g in zip(x, grow))


def _flatten(shapes: Sequence[Dims], attrs: dict[str, Any], consts: Sequence[np.ndarray | None]) -> Dims:
    x, axis = shapes[0], attrs.get("axis", 1)

    def prod(ds: Sequence[Dim]) -> Dim:
        sizes = [d for d in ds if isinstance(d, int)]
        return math.prod(sizes) if len(sizes) == len(ds) else None
    return (prod(x[:axis]), prod(x[axis:]))


def _concat(shapes: Sequence[Dims], attrs: dict[str, Any], consts: Sequence[np.ndarray | None]) -> Dims:
    axis, out = attrs["axis"], list(shapes[0])
    sizes = [s[axis] for s in shapes]
    known = [d for d in sizes if isinstance(d, int)]
    out[axis] = sum(known) if len(known) == len(sizes) else None
    return tuple(out)


def _gemm(shapes: Sequence[Dims], attrs: dict[str, Any], consts: Sequence[np.ndarray | None]) -> Dims:
    a, b = shapes[0], shapes[1]
    return (a[1] if attrs.get("transA") else a[0], b[0] if attrs.get("transB") else b[1])


def _global(shapes: Sequence[Dims], attrs: dict[str, Any], consts: Sequence[np.ndarray | None]) -> Dims:
    return (*shapes[0][:2], *[1] * (len(shapes[0]) - 2))


def _transpose(shapes: Sequence[Dims], attrs: dict[str, Any], consts: Sequence[np.ndarray | None]) -> Dims:
    x = shapes[0]
    return tuple(x[i] for i in attrs.get("perm", range(len(x) - 1, -1, -1)))


def _reshape(shapes: Sequence[Dims], attrs: dict[str, Any], consts: Sequence[np.ndarray | None]) -> Dims | None:
    """A constant target shape: 0 copies the input's dim (allowzero unset), -1 takes what is left."""
    x, target = shapes[0], consts[1]
    if target is None:
        return None
    out: list[Dim] = [x[i] if int(d) == 0 else int(d) for i, d in enumerate(target)]
    if -1 in out:
        sizes, rest = [d for d in x if isinstance(d, int)], [d for d in out if d != -1]
        known = [d for d in rest if isinstance(d, int)]
        whole = math.prod(sizes) if len(sizes) == len(x) else None
        part = math.prod(known) if len(known) == len(rest) else None
        out[out.index(-1)] = whole // part if whole is not None and part else None
    return tuple(out)


def _reduce(shapes: Sequence[Dims], attrs: dict[str, Any], consts: Sequence[np.ndarray | None]) -> Dims | None:
    """ReduceMean and kin: axes as an attribute (before opset 18) or a constant input."""
    x = shapes[0]
    given = attrs.get("axes", consts[1] if len(consts) > 1 else None)
    axes = range(len(x)) if given is None else [int(a) % len(x) for a in given]
    keep = attrs.get("keepdims", 1)
    return tuple(1 if i in axes else d for i, d in enumerate(x) if keep or i not in axes)


def _gather(shapes: Sequence[Dims], attrs: dict[str, Any], consts: Sequence[np.ndarray | None]) -> Dims:
    """data[..., indices, ...] on `axis`: the axis becomes the indices' dims."""
    x, idx = shapes
    axis = attrs.get("axis", 0) % len(x)
    return (*x[:axis], *idx, *x[axis + 1:])


Rule = Callable[[Sequence[Dims], dict[str, Any], Sequence["np.ndarray | None"]], "Dims | None"]
RULES: dict[str, Rule] = {
    "Conv": _conv, "AveragePool": _pool, "MaxPool": _pool, "Slice": _slice, "Pad": _pad, "Flatten": _flatten,
    "Concat": _concat, "Gemm": _gemm, "GlobalAveragePool": _global, "GlobalMaxPool": _global,
    "MatMul": lambda s, a, c: _matmul(s), "Transpose": _transpose, "Reshape": _reshape,
    "Gather": _gather, "Cast": lambda s, a, c: s[0],
    **dict.fromkeys(("ReduceMean", "ReduceSum", "ReduceMax", "ReduceL2"), _reduce),
}


def infer(op_type: str, shapes: Sequence[Dims], attrs: dict[str, Any],
          consts: Sequence[np.ndarray | None], elem: int) -> tuple[int, Dims] | None:
    """(elem_type, dims) of the output of a helper op, or None for an op type without a rule.
    `shapes`: its inputs' dims; `consts`: the values of the inputs that are constants (else None)."""
    if op_type in SAME:
        dims = shapes[0]
    elif op_type in BROADCAST:
        dims = broadcast(shapes)
    elif op_type in RULES:
        found = RULES[op_type](shapes, attrs, consts)
        if found is None:
            return None
        dims = found
    else:
        return None
    if op_type == "Cast":
        return int(attrs["to"]), dims
    return (BOOL if op_type in BOOLEAN else elem), dims
