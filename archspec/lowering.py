"""Backend-neutral pieces of op lowerings. Ops build these; backends interpret them, so
`archspec/ops/` never imports a backend package (backends import ops, never the reverse).

`OnnxBuilder` is what an op's `onnx(node, b)` writes into (archspec.onnx_backend.builder.Builder
is one); `Call` and `Placeholder` are what an op's `torch(node)` may return besides an nn.Module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

if TYPE_CHECKING:
    from torch import nn

    from archspec.source import Pos

Shape = tuple[int, ...]


class NodeView(Protocol):
    """What ops and lowerings read of an IR node (archspec.ir.Node is one). A protocol, so that ops
    depend on nothing above them: the IR imports the op registry, never the reverse."""

    @property
    def name(self) -> str: ...
    @property
    def op(self) -> str: ...
    @property
    def params(self) -> Any: ...  # the op's Params model; Op.params_of gives it its type
    @property
    def inputs(self) -> list[str]: ...
    @property
    def shape(self) -> Shape: ...
    @property
    def weights(self) -> dict[str, Shape]: ...
    @property
    def buffers(self) -> dict[str, Shape]: ...
    @property
    def pos(self) -> Pos | None: ...  # where in the spec it came from, for errors
Step: TypeAlias = tuple[str, str, list[str], dict[str, Any]]  # (op_type, tag, extra inputs, attrs)


@dataclass(frozen=True)
class Call:
    """A stateless torch lowering: `fn(*inputs, *args, **kwargs)`.

    packed: the inputs go in as one list (torch.cat); fold: a binary `fn` is applied left to
    right over two or more inputs (add).
    """

    fn: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    args: tuple[Any, ...] = ()
    packed: bool = False
    fold: bool = False


@dataclass(frozen=True, eq=False)
class Weighted:
    """A function of a parameter the node owns and of its inputs, `fn(param, *inputs)`, the
    parameter a bare nn.Parameter at the node's own path (its state_dict key is the path: the
    node's weight with the empty local name, see ops.base.state_key), not a submodule's:
    torchvision's CNBlock keeps `layer_scale` on the block module itself. `value`: its initial
    tensor."""

    fn: Callable[..., Any]
    value: Any  # a torch.Tensor (lowering.py imports no torch)


@dataclass(frozen=True)
class Placeholder:
    """The graph's input (op `input`): a torch backend makes it an argument of forward."""


TorchLowering: TypeAlias = "nn.Module | Call | Weighted | Placeholder"


class OnnxBuilder(Protocol):
    """The ONNX builder as ops see it. Value names are strings; a node's final op (no `tag`) writes
    the IR node's value, a helper op or constant is named `<path>/<tag>`."""

    INT64_MAX: int  # "to the end" for Slice
    opset: int

    def in_shape(self, node: NodeView, i: int = 0) -> Shape:
        """Per-sample shape of the node's i-th input."""

    def inputs(self, node: NodeView) -> list[str]:
        """Value names of the node's inputs, in order."""

    def x(self, node: NodeView) -> str:
        """Value name of the node's single input."""

    def param(self, node: NodeView, local: str) -> str:
        """The initializer of a weight or buffer the node owns, named by its state_dict key."""

    def const(self, node: NodeView, tag: str, value: Any, dtype: Any = ...) -> str:
        """A constant initializer `<path>/<tag>` (float32 unless `dtype`)."""

    def op(self, op_type: str, inputs: list[str], node: NodeView, tag: str | None = None, **attrs: Any) -> str:
        """Emit one ONNX node; returns its output's value name."""

    def chain(self, node: NodeView, x: str, steps: list[Step]) -> str:
        """Emit steps each fed by the previous, the last the node's final op (none: Identity)."""
