"""The op protocol and registry.

An op class holds everything about one op (design principle 1): its params
model, shape rule, the weights and buffers it owns, its MACs, and its lowerings
(`onnx`, `torch`). Shapes here are per sample: the batch dim is symbolic and
left out, so a conv output is (C, H, W) and a linear output (F,).
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict

Shape = tuple[int, ...]


class OpError(ValueError):
    """A params or shape problem found by an op; the expander adds position and path."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


class Params(BaseModel):
    """Base of every op's params: unknown keys are errors, values are not coerced from str."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class NoParams(Params):
    pass


class Saved(NamedTuple):
    """What autograd keeps of an op from forward until backward in training, by its torch lowering
    (torch's derivatives.yaml); summary's activation-memory estimate sums it (archspec/memory.py)."""

    input: bool = False  # its input tensors (conv, bn, linear, softplus)
    output: bool = False  # its output tensor (relu, tanh, softmax)
    own: int = 0  # bytes per output value of tensors only it holds (maxpool's int64 indices: 8)


class Op:
    """One op. Subclasses set `name`, `Params`, and override what applies to them."""

    name: ClassVar[str]
    Params: ClassVar[type[Params]] = NoParams
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
    saves: ClassVar[Saved] = Saved()  # kept for backward (see Saved); `saved(p)` where params decide

    def saved(self, p: Any) -> Saved:
        """What training keeps of this op for backward (see Saved)."""
        return self.saves

    def tied_to_input_size(self, node: Any) -> bool:
        """Whether the lowering is computed for the one input size the node was expanded at
        (adaptive_avgpool to a grid): such a graph cannot take symbolic H and W."""
        return False

    def shape(self, p: Any, ins: list[Shape]) -> Shape:
        """Output shape (batch excluded). Elementwise by default."""
        return ins[0]

    def weights(self, p: Any, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        """Trainable tensors this op owns, by local name (the state_dict suffix)."""
        return {}

    def buffers(self, p: Any, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        """Non-trainable state (BN running statistics)."""
        return {}

    def macs(self, p: Any, ins: list[Shape], out: Shape) -> int:
        """Multiply-adds at batch 1 (conv and linear only, torchvision's convention)."""
        return 0

    def onnx(self, node: Any, b: Any) -> None:
        """Emit the node's ONNX nodes into `b` (an archspec.onnx_backend.builder.Builder)."""
        if self.onnx_op is None:
            raise NotImplementedError(f"op '{self.name}' has no ONNX lowering")
        b.op(self.onnx_op, b.inputs(node), node)

    def init(self, node: Any, rng: Any) -> dict[str, Any]:
        """PyTorch's default initial values (numpy arrays) of the weights and buffers the node owns."""
        return {}

    def summary(self, p: Any) -> str:
        """Key params in a few characters, for tables and drawings."""
        return ""

    def torch_inplace(self, node: Any) -> Any:
        """A torch lowering that overwrites the node's last input, used where nothing else reads
        that tensor (see torch_backend.build); None when the op has none."""
        return None


REGISTRY: dict[str, Op] = {}


def register(cls: type[Op]) -> type[Op]:
    if cls.name in REGISTRY:
        raise RuntimeError(f"op '{cls.name}' is registered twice")
    REGISTRY[cls.name] = cls()
    return cls


# ---- helpers shared by ops -------------------------------------------------------------


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
