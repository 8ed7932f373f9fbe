"""Hard swish: MobileNetV3's piecewise-linear SiLU."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archspec.ops.base import Arrays, Case, NoParams, Op, Saved, register

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


@register
class HardSwish(Op[NoParams]):
    """Hard swish: y = x * relu6(x + 3) / 6."""

    name = "hardswish"
    saves = Saved(input=True)  # hardswish_backward reads its input
    family = "activation"
    Params = NoParams
    cases = (Case("image"), Case("flat", inputs=((9,),)))

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """ONNX HardSwish (opset 14, torch's formula): one node, as torch's exporters emit; at opset 13,
        HardSigmoid (torch's at alpha 1/6, beta 1/2) then Mul."""
        x = b.x(node)
        if b.opset >= 14:
            b.op("HardSwish", [x], node)
            return
        b.op("Mul", [x, b.op("HardSigmoid", [x], node, "hardsigmoid", alpha=1 / 6, beta=0.5)], node)

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        return nn.Hardswish()

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        return np.asarray(ins[0] * np.clip(ins[0] + 3, 0, 6) / 6)
