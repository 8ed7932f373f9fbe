"""The Program (archspec/program.py) of a loaded spec: the front end's one product for backends."""

from __future__ import annotations

import os
from functools import cache

from archspec.errors import SpecError
from archspec.expand import expand
from archspec.ir import Graph
from archspec.loader import BUILTIN_DIR, Source
from archspec.program import Program, SizeDependence
from archspec.source import Pos
from archspec.spec import SpecFile


def program(graph: Graph, source: Source, spec: SpecFile, spec_hash: str) -> Program:
    spec_dir = str(source.path.parent)
    return Program(
        graph=graph,
        description=spec.description,
        spec_hash=spec_hash,
        preprocess=spec.preprocess.model_dump(mode="json") if spec.preprocess else None,
        labels=tuple(spec.labels) if spec.labels is not None else None,
        sources={n.name: source_label(n.pos, spec_dir) for n in graph.nodes.values() if n.pos},
        size_dependence=cache(lambda: size_dependence(graph, source, spec)),
    )


def size_dependence(graph: Graph, source: Source, spec: SpecFile) -> SizeDependence:
    """The spec expanded again at twice the input's H and W: a weight shape that changes is tied
    to the size, an output dim that changes follows it. Only for image inputs [C,H,W]."""
    c, h, w = graph.nodes[graph.input].shape
    size = (c, 2 * h, 2 * w)
    try:
        other = expand(source, size, spec)
    except SpecError as e:
        return SizeDependence(size, error=e.diagnostics[0].message)
    sized = frozenset(n.name for n in graph.nodes.values()
                      if n.name not in other.nodes or other.nodes[n.name].weights != n.weights)
    varying = {n.name: tuple(a != b for a, b in zip(n.shape, other.nodes[n.name].shape))
               for n in graph.nodes.values() if n.name in other.nodes}
    return SizeDependence(size, sized_weights=sized, varying=varying)


def source_label(pos: Pos, spec_dir: str) -> str:
    """`file:line`, the file relative to the spec's folder (built-in files as `builtin:...`), so the
    label does not depend on where the spec sits on this machine."""
    return f"{_file_label(pos.file, spec_dir)}:{pos.line}"


@cache  # a spec has a few files and hundreds of nodes
def _file_label(file: str, spec_dir: str) -> str:
    builtin = str(BUILTIN_DIR.resolve())
    file = os.path.abspath(file)
    if file.startswith(builtin + os.sep):
        return f"builtin:{os.path.relpath(file, builtin)}"
    return os.path.relpath(file, spec_dir)
