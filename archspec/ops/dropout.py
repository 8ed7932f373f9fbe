"""Dropout (a regulariser: active in training only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from archspec.ops.base import Arrays, Case, Op, Params, Saved, Shape, num, register

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


class DropoutParams(Params):
    p: float = Field(0.5, ge=0, lt=1)


@register
class Dropout(Op[DropoutParams]):
    """Dropout: in training, zero each value with probability p and scale the rest by 1/(1-p);
    the identity at inference."""

    name = "dropout"
    saves = Saved(own=4)  # on the CPU a float mask (a bool one on CUDA)
    inference_identity = True
    Params = DropoutParams
    shorthand = "p"
    cases = (Case("image", {"p": 0.2}), Case("flat", inputs=((8,),)))

    def saved(self, p: DropoutParams, shape: Shape = ()) -> Saved:
        """torch's dropout at p = 0 returns its input and keeps no mask (ViT's default)."""
        return self.saves if p.p else Saved()

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """Dropout with its ratio; without a training_mode input ONNX runs it as the identity."""
        b.op("Dropout", [b.x(node), b.const(node, "ratio", self.params_of(node).p)], node)

    def summary(self, p: DropoutParams) -> str:
        return f"p={num(p.p)}"

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        return nn.Dropout(self.params_of(node).p)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        """The inference form: the identity."""
        return ins[0]
