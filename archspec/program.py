"""The front end's product: a spec loaded, validated and expanded, with what the backends record.

Every backend takes a Program and nothing else: none re-reads the spec or expands it again. It is
made by the front end (archspec.frontend.program, reached as `Model.program`) and never changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from archspec.ir import Graph
from archspec.ops.base import Shape


@dataclass(frozen=True)
class SizeDependence:
    """What changes when the input's H and W do: the graph as expanded at another size (`size`),
    or why the spec does not accept that size (`error`)."""

    size: Shape
    error: str = ""  # the first problem the spec has at `size`; "" when it expands
    sized_weights: frozenset[str] = frozenset()  # nodes whose weight shapes change with the size
    varying: Mapping[str, tuple[bool, ...]] = field(default_factory=dict)  # node -> which output dims change


@dataclass(frozen=True)
class Program:
    graph: Graph  # the expanded spec, train-only heads included; passes make new graphs from it
    description: str
    spec_hash: str  # sha256 of the top spec file's text
    preprocess: Mapping[str, Any] | None  # the spec's preprocess block, in its JSON form
    labels: tuple[str, ...] | None
    sources: Mapping[str, str]  # node -> where it came from, `file:line` (see frontend.source_label)
    # computed on first call (it expands the spec again), then cached: only --dynamic-hw asks
    size_dependence: Callable[[], SizeDependence] = field(compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def input(self) -> str:
        return self.graph.input

    @property
    def input_shape(self) -> Shape:
        return self.graph.nodes[self.graph.input].shape
