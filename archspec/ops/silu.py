"""SiLU (swish): the activation of EfficientNet and MobileNetV3."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archspec.ops.base import Arrays, Case, NoParams, Op, register

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


@register
class SiLU(Op[NoParams]):
    """SiLU: y = x * sigmoid(x) = x / (1 + exp(-x))."""

    name = "silu"
    family = "activation"
    Params = NoParams
    cases = (Case("image"), Case("flat", inputs=((9,),)))

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """Sigmoid then Mul, valid at every opset from 13 (ONNX Swish is opset 24)."""
        x = b.x(node)
        b.op("Mul", [x, b.op("Sigmoid", [x], node, "sigmoid")], node)

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        return nn.SiLU()

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        return np.asarray(ins[0] / (1 + np.exp(-ins[0])))
