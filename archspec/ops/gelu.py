"""GELU: the activation of ConvNeXt and transformers, exact or in its tanh approximation."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from archspec.ops.base import Arrays, Case, Op, Params, Saved, register

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, Step, TorchLowering

KAPPA = 0.044715  # the tanh form's cubic coefficient


class GELUParams(Params):
    approximate: Literal["none", "tanh"] = "none"  # torch's names


@register
class GELU(Op[GELUParams]):
    """GELU: y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt(2))); with approximate `tanh`,
    y = 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))."""

    name = "gelu"
    saves = Saved(input=True)  # gelu_backward reads its input (either form)
    family = "activation"
    Params = GELUParams
    shorthand = "approximate"
    cases = (Case("image"), Case("flat", inputs=((9,),)),
             Case("tanh", {"approximate": "tanh"}), Case("tanh_flat", {"approximate": "tanh"}, ((9,),)))

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """Erf or Tanh formula from elementwise ops, valid at every opset from 13 (ONNX Gelu is opset 20)."""
        x = b.x(node)
        phi: list[Step]  # x to erf(x / sqrt(2)) or to its tanh stand-in
        if self.params_of(node).approximate == "none":
            phi = [("Div", "scaled", [b.const(node, "sqrt2", math.sqrt(2))], {}), ("Erf", "erf", [], {})]
        else:
            beta = b.const(node, "sqrt_2_over_pi", math.sqrt(2 / math.pi))
            phi = [("Mul", "square", [x], {}), ("Mul", "cube", [x], {}),
                   ("Mul", "kappa_cube", [b.const(node, "kappa", KAPPA)], {}),
                   ("Add", "inner", [x], {}), ("Mul", "scaled", [beta], {}), ("Tanh", "tanh", [], {})]
        b.chain(node, x, [*phi, ("Add", "one_plus", [b.const(node, "one", 1.0)], {}),
                          ("Mul", "times_x", [x], {}), ("Mul", "", [b.const(node, "half", 0.5)], {})])

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        return nn.GELU(approximate=self.params_of(node).approximate)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        x = ins[0]
        if self.params_of(node).approximate == "none":
            phi = np.vectorize(math.erf)(x / math.sqrt(2))
        else:
            phi = np.tanh(math.sqrt(2 / math.pi) * (x + KAPPA * x**3))
        return np.asarray(0.5 * x * (1 + phi))
