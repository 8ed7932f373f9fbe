"""Channel shuffle: interleave the channels of `groups` groups (ShuffleNet)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import PositiveInt

from archspec.ops.base import Arrays, Case, Op, OpError, Params, Shape, fmt, register
from archspec.ops.reshape import onnx_reshape

if TYPE_CHECKING:
    import numpy as np
    import torch as T

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


def channel_shuffle(x: T.Tensor, groups: int) -> T.Tensor:
    """torchvision's shufflenetv2.channel_shuffle, for any rank: view the channels as
    (groups, C/groups), swap the two, view back."""
    n, c, *rest = x.shape
    return x.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(x.shape)


class ChannelShuffleParams(Params):
    groups: PositiveInt


@register
class ChannelShuffle(Op[ChannelShuffleParams]):
    """Channel shuffle: channels viewed as (groups, C/groups), transposed to (C/groups, groups) and
    flattened back, so each group's channels are spread across the groups (ShuffleNet)."""

    name = "channel_shuffle"
    Params = ChannelShuffleParams
    shorthand = "groups"
    backward_reads_output = False
    cases = (Case("two", {"groups": 2}, ((6, 4, 5),)), Case("three", {"groups": 3}, ((6, 2, 3),)),
             Case("one", {"groups": 1}), Case("flat", {"groups": 4}, ((8,),)))

    def shape(self, p: ChannelShuffleParams, ins: list[Shape]) -> Shape:
        if ins[0][0] % p.groups:
            raise OpError(f"channel_shuffle groups: {p.groups} do not divide the {ins[0][0]} channels of "
                          f"{fmt(ins[0])}", "the channel count must be a multiple of groups")
        return ins[0]

    def tied_to_input_size(self, node: NodeView) -> bool:
        """Lowered as Reshapes to the sizes at the expanded input size."""
        return len(node.shape) > 1

    def summary(self, p: ChannelShuffleParams) -> str:
        return f"g{p.groups}"

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """Reshape to (N, g, C/g, ...), Transpose the two group axes, Reshape back."""
        g, (c, *rest) = self.params_of(node).groups, node.shape
        grouped = onnx_reshape(b, node, b.x(node), (g, c // g, *rest), "grouped")
        perm = [0, 2, 1, *range(3, len(rest) + 3)]
        onnx_reshape(b, node, b.op("Transpose", [grouped], node, "transpose", perm=perm), node.shape)

    def torch(self, node: NodeView) -> TorchLowering:
        from archspec.lowering import Call

        return Call(channel_shuffle, {"groups": self.params_of(node).groups})

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        x, g = ins[0], self.params_of(node).groups
        n, c, *rest = x.shape
        return np.swapaxes(x.reshape(n, g, c // g, *rest), 1, 2).reshape(x.shape)
