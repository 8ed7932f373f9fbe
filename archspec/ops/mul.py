"""Elementwise product with broadcasting: the gate of squeeze-and-excitation, x * scale."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from archspec.ops.base import Arrays, Case, NoParams, Op, Saved, Shape, fmt, register
from archspec.ops.merge import check_broadcast, rank_hint

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


@register
class Mul(Op[NoParams]):
    """Elementwise product of two or more tensors, with numpy broadcasting over per-sample shapes of
    one rank (an axis of size 1 stretches): [C,H,W] * [C,1,1] scales each channel (SE's gate)."""

    name = "mul"
    family = "merge"
    merge = True
    saves = Saved(input=True)  # each factor's gradient is the product of the others
    backward_reads_output = False
    arity = None
    Params = NoParams
    cases = (Case("two", inputs=((3, 4, 5),) * 2), Case("channel_gate", inputs=((3, 4, 5), (3, 1, 1))),
             Case("spatial_gate", inputs=((3, 4, 5), (1, 4, 5))),
             Case("three", inputs=((3, 4, 5), (3, 1, 1), (1, 4, 5))), Case("flat", inputs=((6,), (1,))))

    def shape(self, p: NoParams, ins: list[Shape]) -> Shape:
        return check_broadcast("multiply", ins, _mul_hint)

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """A chain of Mul (ONNX Mul broadcasts multidirectionally, as numpy)."""
        xs = b.inputs(node)
        acc = xs[0]
        for i, x in enumerate(xs[1:], 1):
            acc = b.op("Mul", [acc, x], node, None if i == len(xs) - 1 else f"mul{i}")

    def torch(self, node: NodeView) -> TorchLowering:
        import operator

        from archspec.lowering import Call

        return Call(operator.mul, fold=True)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        return math.prod(ins[1:], start=ins[0])


def _mul_hint(a: Shape, b: Shape) -> str:
    if len(a) != len(b):
        return rank_hint(a, b)
    return f"each axis must agree or be 1 on one side; to scale channels, the gate is [N,{a[0]},1,1]" \
        if len(a) == 3 else f"each axis must agree or be 1 on one side ({fmt(a)} vs {fmt(b)})"
