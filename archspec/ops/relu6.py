"""ReLU6: the clipped ReLU of MobileNetV2 and V3."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archspec.ops.base import Arrays, Case, NoParams, Op, Saved, register

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


@register
class ReLU6(Op[NoParams]):
    """ReLU6: y = min(max(x, 0), 6)."""

    name = "relu6"
    saves = Saved(input=True)  # nn.ReLU6 is hardtanh(x, 0, 6), whose backward reads its input
    family = "activation"
    Params = NoParams
    cases = (Case("image"), Case("flat", inputs=((9,),)))

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """Clip with min and max as constant inputs (its form from opset 11)."""
        b.op("Clip", [b.x(node), b.const(node, "min", 0.0), b.const(node, "max", 6.0)], node)

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        return nn.ReLU6()

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        return np.asarray(np.minimum(np.maximum(ins[0], 0), 6))
