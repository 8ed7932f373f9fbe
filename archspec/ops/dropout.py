"""Dropout (a regulariser: active in training only)."""

from __future__ import annotations

from pydantic import Field

from archspec.ops.base import Op, Params, Saved, num, register


class DropoutParams(Params):
    p: float = Field(0.5, ge=0, lt=1)


@register
class Dropout(Op):
    """Dropout: in training, zero each value with probability p and scale the rest by 1/(1-p);
    the identity at inference."""

    name = "dropout"
    saves = Saved(own=4)  # on the CPU a float mask (a bool one on CUDA)
    inference_identity = True
    Params = DropoutParams
    shorthand = "p"

    def onnx(self, node, b) -> None:
        """Dropout with its ratio; without a training_mode input ONNX runs it as the identity."""
        b.op("Dropout", [b.x(node), b.const(node, "ratio", node.params.p)], node)

    def summary(self, p: DropoutParams) -> str:
        return f"p={num(p.p)}"

    def torch(self, node):
        from torch import nn

        return nn.Dropout(node.params.p)
