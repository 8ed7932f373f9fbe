"""The user-facing Model: a loaded, expanded spec with its costs and backends."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archspec.expand import expand, validate_spec
from archspec.ir import Graph
from archspec.loader import Source, find_spec, read
from archspec.spec import SpecFile

if TYPE_CHECKING:
    import onnx

    from archspec.program import Program
    from archspec.reference import ReferenceSpec
    from archspec.summary import Table
    from archspec.torch_backend import Network


class Model:
    """A spec expanded to its IR. Backends are reached through methods that import them lazily."""

    def __init__(self, graph: Graph, source: Source, spec: SpecFile):
        self.graph = graph
        self.source = source
        self.spec = spec  # the validated top level: input, preprocess, labels, ...

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.graph.nodes[self.graph.input].shape

    @property
    def reference(self) -> ReferenceSpec | None:
        """The torchvision/timm model the spec declares it reproduces (its `reference:` key)."""
        return self.spec.reference

    @cached_property
    def _totals(self) -> dict[str, int]:
        return self.graph.totals()

    @property
    def params(self) -> int:
        """Trainable parameters of the eval graph (BN gamma/beta included, running stats not)."""
        return self._totals["params"]

    @property
    def buffers(self) -> int:
        return self._totals["buffers"]

    @property
    def macs(self) -> int:
        """Conv and linear multiply-adds at batch 1, eval graph."""
        return self._totals["macs"]

    @property
    def train_params(self) -> int:
        """Parameters of the train graph, train-only heads included."""
        return self.graph.totals(train=True)["params"]

    @cached_property
    def spec_hash(self) -> str:
        import hashlib

        return hashlib.sha256(self.source.text().encode()).hexdigest()

    @cached_property
    def program(self) -> Program:
        """What the backends take: the graph, and what a compiled file records about the spec."""
        from archspec.frontend import program

        return program(self.graph, self.source, self.spec, self.spec_hash)

    def table(self, depth: int | None = None) -> Table:
        from archspec.summary import Table

        return Table.of(self.graph, depth)

    def summary(self, depth: int | None = None) -> str:
        return self.table(depth).render()

    def to_torch(self, seed: int | None = None) -> Network:
        """The PyTorch module (a torch.fx GraphModule): parameters named by IR path, PyTorch's default
        initialisation drawn under `seed` (None: from the global generator)."""
        from archspec.torch_backend import build

        return build(self.graph, seed)

    def to_onnx(self, **kw: Any) -> onnx.ModelProto:
        """The ONNX model: see archspec.onnx_backend.to_onnx for the options (opset, batch, mode...)."""
        from archspec.onnx_backend import to_onnx

        return to_onnx(self.program, **kw)

    def onnx_bytes(self, **kw: Any) -> bytes:
        """The ONNX model encoded, as `to_onnx(**kw).SerializeToString()` gives it, without building
        a ModelProto (nor importing onnx)."""
        from archspec.onnx_backend.compile import compile_model

        return compile_model(self.program, **kw).tobytes()

    def save_onnx(self, path: str | Path, **kw: Any) -> Path:
        """Compile and write atomically (to_onnx's options, plus external_threshold)."""
        from archspec.onnx_backend import save_onnx

        return save_onnx(self.program, path, **kw)

    def __repr__(self) -> str:
        return f"<Model {self.name}: {self.params:,} params, {self.macs:,} MACs>"


def load(spec: str | Path, input_shape: tuple[int, ...] | None = None,
         roots: list[Path] | None = None) -> Model:
    """Load a spec by path or built-in name. Raises SpecError listing every problem found."""
    src = read(find_spec(spec), roots)
    top = validate_spec(src)
    return Model(expand(src, input_shape, top), src, top)


def loads(text: str, name: str = "<string>.yaml", **kw: Any) -> Model:
    """Load a spec from a string (written to a temporary file so errors can quote its lines)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_text(text, encoding="utf-8")
        model = load(path, **kw)
        model.spec_hash  # noqa: B018 - hashed while the file exists (compiled models record it)
        return model
