"""Hard sigmoid: the cheap gate of MobileNetV3's squeeze-excitation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archspec.ops.base import Arrays, Case, NoParams, Op, Saved, register

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


@register
class HardSigmoid(Op[NoParams]):
    """Hard sigmoid (PyTorch's): y = relu6(x + 3) / 6."""

    name = "hardsigmoid"
    saves = Saved(input=True)  # hardsigmoid_backward reads its input
    family = "activation"
    Params = NoParams
    cases = (Case("image"), Case("flat", inputs=((9,),)))

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """ONNX HardSigmoid is max(0, min(1, alpha * x + beta)): torch's at alpha 1/6, beta 1/2."""
        b.op("HardSigmoid", [b.x(node)], node, alpha=1 / 6, beta=0.5)

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        return nn.Hardsigmoid()

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        return np.asarray(np.clip(ins[0] + 3, 0, 6) / 6)
