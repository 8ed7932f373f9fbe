"""Pictures of a model: the IR as DOT text, rendered by Graphviz (`archspec graph`)."""

from __future__ import annotations

from pathlib import Path

from archspec.draw.dot import RANKDIRS, collapse_key, node_ids, scope_paths, subgraph, to_dot
from archspec.draw.render import FORMATS, GraphvizError, format_of, render
from archspec.ir import Graph

__all__ = ["FORMATS", "RANKDIRS", "GraphvizError", "collapse_key", "draw", "format_of", "node_ids",
           "render", "scope_paths", "subgraph", "to_dot"]


def draw(graph: Graph, paths: list[str | Path], depth: int | None = None, rankdir: str = "TB") -> list[Path]:
    """Draw `graph` to each path (format by suffix). The .dot files are written first, so they
    exist even when Graphviz is missing for the others (GraphvizError is raised after them)."""
    for p in paths:
        format_of(p)
    dot = to_dot(graph, depth, rankdir)
    ordered = sorted(paths, key=lambda p: format_of(p) != "dot")
    return [render(dot, p) for p in ordered]
