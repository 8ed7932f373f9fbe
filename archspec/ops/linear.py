"""Fully connected layer and flatten."""

from __future__ import annotations

import math

from pydantic import Field, PositiveInt

from archspec.ops.base import Op, OpError, Params, Saved, Shape, fmt, register


class LinearParams(Params):
    out: PositiveInt
    in_: PositiveInt | None = Field(None, alias="in")  # optional: checked against the input
    bias: bool = True


@register
class Linear(Op):
    """Fully connected: y = x W^T + b. Weight (out, in), bias (out,)."""

    name = "linear"
    saves = Saved(input=True)
    family = "linear"
    backward_reads_output = False
    Params = LinearParams

    def shape(self, p: LinearParams, ins: list[Shape]) -> Shape:
        if len(ins[0]) != 1:
            raise OpError(f"linear needs a flat [N,F] input, got {fmt(ins[0])}",
                          "put a flatten (after a global_avgpool, for a CNN head) before it")
        if p.in_ is not None and p.in_ != ins[0][0]:
            raise OpError(f"linear declares in: {p.in_} but its input has {ins[0][0]} features "
                          f"({fmt(ins[0])})", f"set in: {ins[0][0]}, or fix the layers before it")
        return (p.out,)

    def weights(self, p: LinearParams, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        w = {"weight": (p.out, ins[0][0])}
        return w | {"bias": (p.out,)} if p.bias else w

    def macs(self, p: LinearParams, ins: list[Shape], out: Shape) -> int:
        return ins[0][0] * p.out

    def onnx(self, node, b) -> None:
        ins = [b.x(node), b.param(node, "weight"), *([b.param(node, "bias")] if node.params.bias else [])]
        b.op("Gemm", ins, node, transB=1)

    def init(self, node, rng) -> dict:
        """PyTorch's kaiming_uniform(a=sqrt(5)): weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        from archspec.weights import fan_in_uniform

        return fan_in_uniform(node.weights, rng)

    def summary(self, p: LinearParams) -> str:
        return str(p.out)

    def torch(self, node):
        from torch import nn

        out, cin = node.weights["weight"]
        return nn.Linear(cin, out, bias=node.params.bias)


@register
class Flatten(Op):
    """Flatten: [N, C, H, W] -> [N, C*H*W]."""

    onnx_op = "Flatten"  # axis 1 by default
    name = "flatten"

    def shape(self, p: Params, ins: list[Shape]) -> Shape:
        return (math.prod(ins[0]),)

    def torch(self, node):
        import torch

        from archspec.lowering import Call

        return Call(torch.flatten, {"start_dim": 1})
