"""The op protocol and registry.

An op class holds everything about one op (design principle 1): its params
model, shape rule, the weights and buffers it owns, its MACs, its init, its
lowerings (`onnx`, `torch`), its float64 numpy reference and its test cases.
Shapes here are per sample: the batch dim is symbolic and left out, so a conv
output is (C, H, W) and a linear output (F,).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, TypeVar, cast

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering

Shape = tuple[int, ...]
Arrays = dict[str, "np.ndarray"]  # weights and buffers by local name, or a reference's inputs


class OpError(ValueError):
    """A params or shape problem found by an op; the expander adds position and path."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


class Params(BaseModel):
    """Base of every op's params: unknown keys are errors, values are not coerced from str."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, allow_inf_nan=False)


class NoParams(Params):
    pass


class Saved(NamedTuple):
    """What autograd keeps of an op from forward until backward in training, by its torch lowering
    (torch's derivatives.yaml); summary's activation-memory estimate sums it (archspec/memory.py)."""

    input: bool = False  # its input tensors (conv, bn, linear, softplus)
    output: bool = False  # its output tensor (relu, tanh, softmax)
    own: float = 0  # bytes per output value of tensors only it holds (maxpool's int64 indices: 8)


@dataclass(frozen=True)
class Case:
    """One row of an op's test table: params as a spec writes them, and per-sample input shapes
    (one per input; a merge op gets that many distinct inputs). tests/test_ops.py runs each."""

    id: str
    params: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[Shape, ...] = ((3, 5, 6),)


P = TypeVar("P", bound=Params)


class Op(Generic[P]):
    """One op, generic over its params model. Subclasses set `name`, `Params`, `cases`, and
    override the hooks that apply to them; `torch` and `reference` have no default."""

    name: ClassVar[str]
    Params: type[P]  # the params model (a ClassVar in effect; ClassVar cannot hold a type variable)
    cases: ClassVar[tuple[Case, ...]] = ()
    arity: ClassVar[int | None] = 1  # inputs taken; None: two or more
    shorthand: ClassVar[str | None] = None  # param set by a bare scalar: `dropout: 0.3`
    onnx_op: ClassVar[str | None] = None  # the ONNX op of a one-to-one lowering without attributes
    # whether autograd reads this op's output in backward: if not, a next op may overwrite it
    backward_reads_output: ClassVar[bool] = True
    # Traits: what passes, backends and tools ask of an op, instead of matching its name.
    family: ClassVar[str] = "other"  # drawing family: conv, linear, norm, activation, pool, merge, ...
    merge: ClassVar[bool] = False  # joins two or more tensors (add, concat)
    inference_identity: ClassVar[bool] = False  # the identity at inference, removed by deploy (dropout)
    absorbs_norm: ClassVar[bool] = False  # a following per-channel affine norm folds into its weights (conv)
    foldable_norm: ClassVar[bool] = False  # a per-channel affine norm that folds into an `absorbs_norm` producer
    graph_input: ClassVar[bool] = False  # the graph's input (op `input`): fed from outside, computes nothing
    saves: ClassVar[Saved] = Saved()  # kept for backward (see Saved); `saved(p)` where params decide

    def saved(self, p: Any, shape: Shape = ()) -> Saved:
        """What training keeps of this op for backward (see Saved); `shape`, the node's per-sample
        output shape, for ops where it decides (attention's weights grow with the tokens)."""
        return self.saves

    def params_of(self, node: NodeView) -> P:
        """The node's params as this op's model (the IR stores them as the base Params)."""
        return cast(P, node.params)

    def tied_to_input_size(self, node: NodeView) -> bool:
        """Whether the lowering is computed for the one input size the node was expanded at
        (adaptive_avgpool to a grid): such a graph cannot take symbolic H and W."""
        return False

    def noop(self, node: NodeView, ins: list[Shape]) -> bool:
        """Whether the node returns its one input unchanged with these params and input shapes (a
        scale by 1, an adaptive pool to the size it has): the deploy pass drop_noops removes it."""
        return False

    def factor(self, node: NodeView) -> float | None:
        """The constant the node multiplies its one input by (scale), else None: the deploy pass
        fold_scale folds it into the weights of an `absorbs_norm` producer."""
        return None

    def shape(self, p: P, ins: list[Shape]) -> Shape:
        """Output shape (batch excluded). Elementwise by default."""
        return ins[0]

    def weights(self, p: P, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        """Trainable tensors this op owns, by local name (the state_dict suffix)."""
        return {}

    def buffers(self, p: P, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        """Non-trainable state (BN running statistics)."""
        return {}

    def macs(self, p: P, ins: list[Shape], out: Shape) -> int:
        """Multiply-adds at batch 1 (conv and linear only, torchvision's convention)."""
        return 0

    def init(self, node: NodeView, rng: np.random.Generator) -> Arrays:
        """PyTorch's default initial values (numpy arrays) of the weights and buffers the node owns."""
        return {}

    def summary(self, p: P) -> str:
        """Key params in a few characters, for tables and drawings."""
        return ""

    def summary_at(self, p: P, shape: Shape) -> str:
        """`summary` of a node whose output is `shape`: for ops where the size changes what they
        do (window attention drops a shift its window covers)."""
        return self.summary(p)

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """Emit the node's ONNX nodes into `b`; by default the one op `onnx_op` without attributes."""
        if self.onnx_op is None:
            raise NotImplementedError(f"op '{self.name}' has no ONNX lowering")
        b.op(self.onnx_op, b.inputs(node), node)

    def torch(self, node: NodeView) -> TorchLowering:
        """An nn.Module placed at the node's path (state_dict names PyTorch's own), or a Call."""
        raise NotImplementedError(f"op '{self.name}' has no torch lowering")

    def torch_inplace(self, node: NodeView) -> TorchLowering | None:
        """A torch lowering that overwrites the node's last input, used where nothing else reads
        that tensor (the torch backend decides where); None when the op has none."""
        return None

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        """The node's value in float64 numpy, written from PyTorch's definition (BN in inference
        form, dropout the identity): what both lowerings are checked against."""
        raise NotImplementedError(f"op '{self.name}' has no numpy reference")


# the hooks every op must define itself or inherit from an op family (tests check it)
REQUIRED_HOOKS = ("torch", "reference")

REGISTRY: dict[str, Op[Any]] = {}
OpClass = TypeVar("OpClass", bound=type[Op[Any]])


def register(cls: OpClass) -> OpClass:
    if cls.name in REGISTRY:
        raise RuntimeError(f"op '{cls.name}' is registered twice")
    REGISTRY[cls.name] = cls()
    return cls


def missing_hooks(op: Op[Any]) -> list[str]:
    """The hooks an op lacks: a lowering (`onnx` or `onnx_op`), `torch`, `reference`, or cases."""
    cls = type(op)
    missing = [h for h in REQUIRED_HOOKS if getattr(cls, h) is getattr(Op, h)]
    if cls.onnx is Op.onnx and cls.onnx_op is None:
        missing.append("onnx")
    return missing + ([] if cls.cases else ["cases"])


# ---- helpers shared by ops -------------------------------------------------------------


def state_key(node: str, local: str) -> str:
    """The state_dict key (and ONNX initializer name) of a node's weight or buffer: `<path>.<local>`.
    A weight whose local name is empty is keyed by the node's path itself: a bare nn.Parameter of
    the enclosing scope's module, not a submodule's (torchvision's CNBlock `features.1.0.layer_scale`)."""
    return f"{node}.{local}" if local else node


def pair(v: int | list[int] | tuple[int, ...]) -> tuple[int, int]:
    """An int or [h, w] as (h, w)."""
    if isinstance(v, int):
        return (v, v)
    return (v[0], v[1])


def pads(v: int | list[int] | tuple[int, ...]) -> tuple[int, int, int, int]:
    """Padding as (top, left, bottom, right) from an int, [h, w] or [top, left, bottom, right]."""
    if isinstance(v, int):
        return (v, v, v, v)
    if len(v) == 2:
        return (v[0], v[1], v[0], v[1])
    return (v[0], v[1], v[2], v[3])


def need_image(ins: list[Shape], what: str) -> tuple[int, int, int]:
    if len(ins[0]) != 3:
        raise OpError(f"{what} needs a [N,C,H,W] input, got {fmt(ins[0])}",
                      "flatten only after the last spatial op")
    c, h, w = ins[0]
    return c, h, w


def broadcast(ins: list[Shape]) -> Shape | None:
    """numpy's broadcast of per-sample shapes of one rank (an axis of size 1 stretches), or None
    where they do not broadcast. Ranks must agree: with the batch axis in front, numpy would align
    a [C] against the W of a [C,H,W], which is never what a spec means."""
    if len({len(s) for s in ins}) != 1:
        return None
    out = []
    for dims in zip(*ins):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            return None
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def num(x: float) -> str:
    """A float as written: to float32's 7 digits, so `${0.1 * 3}` shows as 0.3, not 0.30000000000000004."""
    return repr(float(f"{x:.7g}")) if isinstance(x, float) else str(x)


def fmt(shape: Shape) -> str:
    return "[" + ",".join(["N", *map(str, shape)]) + "]"


def window_out(size: int, k: int, s: int, p0: int, p1: int, d: int = 1, ceil: bool = False) -> int:
    """PyTorch's output size for a conv/pool window along one axis."""
    span = size + p0 + p1 - d * (k - 1) - 1
    if not ceil:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= size + p0:  # the last window must start inside the input or left pad
        out -= 1
    return out
