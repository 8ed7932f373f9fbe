"""Stochastic depth (drop path): a regulariser of residual bodies, active in training only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from archspec.ops.base import Arrays, Case, Op, Params, num, register

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


class StochasticDepthParams(Params):
    p: float = Field(0.5, ge=0, le=1)
    mode: Literal["row", "batch"] = "row"


@register
class StochasticDepth(Op[StochasticDepthParams]):
    """torchvision.ops.StochasticDepth: in training, zero each sample (mode row) or the whole batch
    (mode batch) with probability p and scale what is kept by 1/(1-p); the identity at inference,
    removed by the deploy passes. Put it on a residual body, before the add (ConvNeXt, EfficientNet)."""

    name = "stochastic_depth"
    inference_identity = True
    Params = StochasticDepthParams
    shorthand = "p"
    cases = (Case("row", {"p": 0.1}), Case("batch", {"p": 0.3, "mode": "batch"}), Case("flat", inputs=((8,),)))

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """Identity: ONNX has no drop path, and a train-mode compile is run in inference form."""
        b.op("Identity", [b.x(node)], node)

    def summary(self, p: StochasticDepthParams) -> str:
        return f"p={num(p.p)} {p.mode}"

    def torch(self, node: NodeView) -> TorchLowering:
        from archspec.ops._torch import StochasticDepth as Module

        p = self.params_of(node)
        return Module(p.p, p.mode)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        """The inference form: the identity."""
        return ins[0]
