"""Pictures of a model: the IR as DOT text, rendered by Graphviz (`archspec graph`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from archspec.draw.dot import RANKDIRS, SHAPES, node_ids, scope_paths, subgraph, to_dot
from archspec.draw.render import FORMATS, GraphvizError, format_of, render
from archspec.ir import Graph, collapse_key

__all__ = ["FORMATS", "RANKDIRS", "SHAPES", "GraphvizError", "collapse_key", "draw", "format_of", "node_ids",
           "render", "render_all", "scope_paths", "subgraph", "to_dot"]


def draw(graph: Graph, paths: list[str | Path], depth: int | None = None, rankdir: str = "TB",
         shapes: str = "edges") -> list[Path]:
    """Draw `graph` to each path (format by suffix). The .dot files are written first, so they
    exist even when Graphviz is missing for the others (GraphvizError is raised after them)."""
    return render_all(to_dot(graph, depth, rankdir, shapes), paths)


def render_all(dot: str, paths: list[str | Path], warn: Callable[[str], None] | None = None) -> list[Path]:
    """Render DOT text to each path, the .dot files first (see `draw`); Graphviz's warnings go to `warn`."""
    for p in paths:
        format_of(p)
    return [render(dot, p, warn=warn) for p in sorted(paths, key=lambda p: format_of(p) != "dot")]
