"""Fully connected layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, PositiveInt

from archspec.ops.base import Arrays, Case, Op, OpError, Params, Saved, Shape, fmt, register

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


class LinearParams(Params):
    out: PositiveInt
    in_: PositiveInt | None = Field(None, alias="in")  # optional: checked against the input
    bias: bool = True


@register
class Linear(Op[LinearParams]):
    """Fully connected: y = x W^T + b. Weight (out, in), bias (out,)."""

    name = "linear"
    saves = Saved(input=True)
    family = "linear"
    backward_reads_output = False
    Params = LinearParams
    cases = (Case("bias", {"out": 4}, ((6,),)), Case("no_bias", {"out": 3, "bias": False, "in": 5}, ((5,),)))

    def shape(self, p: LinearParams, ins: list[Shape]) -> Shape:
        if len(ins[0]) != 1:
            raise OpError(f"linear needs a flat [N,F] input, got {fmt(ins[0])}",
                          "put a flatten (after a global_avgpool, for a CNN head) before it")
        if p.in_ is not None and p.in_ != ins[0][0]:
            raise OpError(f"linear declares in: {p.in_} but its input has {ins[0][0]} features "
                          f"({fmt(ins[0])})", f"set in: {ins[0][0]}, or fix the layers before it")
        return (p.out,)

    def weights(self, p: LinearParams, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        w: dict[str, Shape] = {"weight": (p.out, ins[0][0])}
        return w | {"bias": (p.out,)} if p.bias else w

    def macs(self, p: LinearParams, ins: list[Shape], out: Shape) -> int:
        return ins[0][0] * p.out

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        weight = b.param(node, "weight")  # claimed first: initializers are written in claim order
        bias = [b.param(node, "bias")] if self.params_of(node).bias else []
        b.op("Gemm", [b.x(node), weight, *bias], node, transB=1)

    def init(self, node: NodeView, rng: np.random.Generator) -> Arrays:
        """PyTorch's kaiming_uniform(a=sqrt(5)): weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        from archspec.weights import fan_in_uniform

        return fan_in_uniform(node.weights, rng)

    def summary(self, p: LinearParams) -> str:
        return str(p.out)

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        out, cin = node.weights["weight"]
        return nn.Linear(cin, out, bias=self.params_of(node).bias)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        y = ins[0] @ w["weight"].T
        return y + w["bias"] if "bias" in w else y

