"""Fully connected layer."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from pydantic import Field, PositiveInt

from archspec.ops.base import Arrays, Case, Op, OpError, Params, Saved, Shape, fmt, register

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


class LinearParams(Params):
    out: PositiveInt
    in_: PositiveInt | None = Field(None, alias="in")  # optional: checked against the input
    bias: bool = True
    # None: a flat input only (a forgotten flatten is an error); last: nn.Linear on the last axis of
    # any input; channels: on the channels of an NCHW tensor, at each position
    axis: Literal["last", "channels"] | None = None


@register
class Linear(Op[LinearParams]):
    """Fully connected: y = x W^T + b. Weight (out, in), bias (out,). On a flat [N,F] input; with
    `axis: last` on the last axis of any input (nn.Linear), with `axis: channels` on the channels of
    a [N,C,H,W] input at each position (ConvNeXt's permute, Linear, permute)."""

    name = "linear"
    saves = Saved(input=True)
    family = "linear"
    backward_reads_output = False
    Params = LinearParams
    cases = (Case("bias", {"out": 4}, ((6,),)), Case("no_bias", {"out": 3, "bias": False, "in": 5}, ((5,),)),
             Case("last", {"out": 4, "axis": "last"}, ((3, 4, 5),)),
             Case("last_no_bias", {"out": 2, "axis": "last", "bias": False}, ((3, 5),)),
             Case("channels", {"out": 7, "axis": "channels"}, ((3, 4, 5),)),
             Case("channels_no_bias", {"out": 2, "axis": "channels", "bias": False}, ((3, 4, 5),)))

    def shape(self, p: LinearParams, ins: list[Shape]) -> Shape:
        x = ins[0]
        if p.axis is None and len(x) != 1:
            raise OpError(f"linear needs a flat [N,F] input, got {fmt(x)}",
                          "put a flatten (after a global_avgpool, for a CNN head) before it; or give "
                          "axis: last (nn.Linear on the last axis) or axis: channels")
        if p.axis == "channels" and len(x) != 3:
            raise OpError(f"linear axis: channels needs a [N,C,H,W] input, got {fmt(x)}",
                          "axis: last applies it to the last axis of any tensor")
        f = _features(p, x)
        if p.in_ is not None and p.in_ != f:
            raise OpError(f"linear declares in: {p.in_} but its input has {f} features "
                          f"({fmt(x)})", f"set in: {f}, or fix the layers before it")
        return (p.out, *x[1:]) if p.axis == "channels" else (*x[:-1], p.out)

    def weights(self, p: LinearParams, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        w: dict[str, Shape] = {"weight": (p.out, _features(p, ins[0]))}
        return w | {"bias": (p.out,)} if p.bias else w

    def macs(self, p: LinearParams, ins: list[Shape], out: Shape) -> int:
        """in x out at each position."""
        return math.prod(ins[0]) * p.out

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """Flat: Gemm. The last axis of a larger tensor: MatMul by the transposed weight, then Add
        (torch.onnx's form of nn.Linear). Channels: a 1x1 Conv by the weight reshaped to
        (out, in, 1, 1), the same sums without the two transposes of the activation."""
        p = self.params_of(node)
        weight = b.param(node, "weight")  # claimed first: initializers are written in claim order
        bias = [b.param(node, "bias")] if p.bias else []
        if len(node.shape) == 1:
            b.op("Gemm", [b.x(node), weight, *bias], node, transB=1)
        elif p.axis == "channels":
            shape = b.const(node, "kernel_shape", [*node.weights["weight"], 1, 1], "int64")
            b.op("Conv", [b.x(node), b.op("Reshape", [weight, shape], node, "kernel"), *bias], node)
        else:
            last_axis(b, node, b.x(node), weight, bias[0] if bias else None)

    def init(self, node: NodeView, rng: np.random.Generator) -> Arrays:
        """PyTorch's kaiming_uniform(a=sqrt(5)): weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        from archspec.weights import fan_in_uniform

        return fan_in_uniform(node.weights, rng)

    def summary(self, p: LinearParams) -> str:
        return str(p.out)

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        from archspec.ops._torch import ChannelLinear

        p = self.params_of(node)
        out, cin = node.weights["weight"]
        return (ChannelLinear if p.axis == "channels" else nn.Linear)(cin, out, bias=p.bias)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        channels = self.params_of(node).axis == "channels"
        x = np.moveaxis(ins[0], 1, -1) if channels else ins[0]
        y = x @ w["weight"].T
        y = y + w["bias"] if "bias" in w else y
        return np.moveaxis(y, -1, 1) if channels else y


def _features(p: LinearParams, x: Shape) -> int:
    return x[0] if p.axis == "channels" else x[-1]


def last_axis(b: OnnxBuilder, node: NodeView, x: str, weight: str, bias: str | None,
              tag: str | None = None, prefix: str = "") -> str:
    """x W^T (+ b) on the last axis, torch.onnx's form of nn.Linear there: MatMul by the weight
    transposed (onnxruntime folds that Transpose of an initializer when a session starts), then
    Add. Helpers are named `<prefix>weight_t`, `<prefix>matmul`; the result `tag` (None: the
    node's own value). Also the projections of attention and window_attention."""
    wt = b.op("Transpose", [weight], node, f"{prefix}weight_t", perm=[1, 0])
    y = b.op("MatMul", [x, wt], node, f"{prefix}matmul" if bias else tag)
    return b.op("Add", [y, bias], node, tag) if bias else y
