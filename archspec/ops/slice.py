"""Slice: a range of indices along one axis (a channel part, as ShuffleNet's split halves)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import PositiveInt

from archspec.ops.base import Arrays, Case, Op, OpError, Params, Shape, fmt, register

if TYPE_CHECKING:
    import numpy as np
    import torch as T

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


class SliceParams(Params):
    axis: int = 1  # batch 0 included, as torch counts; negative from the end
    start: int = 0  # Python's slice bounds: negative from the end, clamped
    end: int | None = None  # None: to the end
    step: PositiveInt = 1


def slice_axis(x: T.Tensor, axis: int, start: int, end: int | None, step: int) -> T.Tensor:
    """x[..., start:end:step, ...] on `axis`."""
    return x[(slice(None),) * axis + (slice(start, end, step),)]


def axis_of(axis: int, rank: int) -> int:
    """A per-sample tensor's non-batch axis (batch 0 counted), made non-negative; OpError otherwise."""
    full = rank + 1
    if not -full <= axis < full or axis % full == 0:
        raise OpError(f"axis {axis} is not a non-batch axis of an [N,...] rank-{full} input",
                      "axis 1 is the channels")
    return axis % full


@register
class Slice(Op[SliceParams]):
    """Slice: y = x[start:end:step] along `axis` (1, the channels, by default), bounds as Python's."""

    name = "slice"
    Params = SliceParams
    backward_reads_output = False
    cases = (Case("channels", {"start": 1, "end": 3}), Case("to_end", {"axis": 1, "start": 2}),
             Case("negative", {"axis": -1, "start": -4, "end": -1}), Case("step", {"axis": 2, "step": 2}),
             Case("flat", {"end": 4}, ((9,),)))

    def shape(self, p: SliceParams, ins: list[Shape]) -> Shape:
        axis = axis_of(p.axis, len(ins[0]))
        size = len(range(*slice(p.start, p.end, p.step).indices(ins[0][axis - 1])))
        if size == 0:
            end = "" if p.end is None else p.end
            raise OpError(f"slice {p.start}:{end} on axis {p.axis} of {fmt(ins[0])} is empty",
                          f"axis {p.axis} has {ins[0][axis - 1]} entries")
        return tuple(size if i == axis - 1 else d for i, d in enumerate(ins[0]))

    def summary(self, p: SliceParams) -> str:
        step = f":{p.step}" if p.step != 1 else ""
        where = "" if p.axis == 1 else f", axis {p.axis}"
        return f"{p.start}:{'' if p.end is None else p.end}{step}{where}"

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """ONNX Slice with the spec's bounds, so it holds at any size of a spatial axis."""
        p = self.params_of(node)
        end = b.INT64_MAX if p.end is None else p.end
        bounds = [b.const(node, "starts", [p.start], "int64"), b.const(node, "ends", [end], "int64"),
                  b.const(node, "axes", [axis_of(p.axis, len(node.shape))], "int64")]
        steps = [b.const(node, "steps", [p.step], "int64")] if p.step != 1 else []
        b.op("Slice", [b.x(node), *bounds, *steps], node)

    def torch(self, node: NodeView) -> TorchLowering:
        from archspec.lowering import Call

        p = self.params_of(node)
        return Call(slice_axis, {"axis": axis_of(p.axis, len(node.shape)), "start": p.start, "end": p.end,
                                 "step": p.step})

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        p = self.params_of(node)
        return ins[0][(slice(None),) * axis_of(p.axis, len(node.shape)) + (slice(p.start, p.end, p.step),)]
