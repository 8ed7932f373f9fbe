"""`archspec graph SPEC -o FILE`: draw the architecture (DOT, or SVG/PNG/PDF through Graphviz)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archspec.ir import Graph

EXIT_TOOL = 4  # Graphviz missing or failed (3 is an internal error, as on every command)


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("graph", help="draw the architecture as SVG, PNG, PDF or DOT",
                       description="Draw a spec: ops with key params and shapes, blocks as clusters. "
                       "SVG, PNG and PDF need Graphviz's `dot` program; .dot files need nothing. "
                       f"Exit status {EXIT_TOOL} when Graphviz is missing or fails.")
    p.add_argument("spec", metavar="SPEC", help="a spec file, a built-in name, or a compiled FILE.onnx")
    p.add_argument("-o", "--output", action="append", required=True, metavar="FILE",
                   help="FILE.svg, .png, .pdf or .dot ('-' for DOT on stdout); repeat for several")
    p.add_argument("--depth", type=int, default=None, metavar="N",
                   help="collapse blocks below N levels into one node each")
    p.add_argument("--rankdir", type=str.upper, choices=["TB", "LR"], default="TB",
                   help="top to bottom (default) or left to right")
    p.add_argument("--shapes", choices=["edges", "nodes"], default="edges",
                   help="write each tensor's shape on its edge (default) or in the node that makes it")
    p.add_argument("--scope", metavar="PATH",
                   help="draw only the block at PATH (e.g. layer3.0); --depth then counts inside it")
    p.add_argument("--input", metavar="CxHxW", help="override the input size")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archspec.cli import UsageError
    from archspec.draw import GraphvizError, format_of, render_all, scope_paths, subgraph, to_dot
    from archspec.errors import did_you_mean

    if args.depth is not None and args.depth < 1:
        raise UsageError("--depth must be at least 1")
    files = [o for o in args.output if o != "-"]
    for f in files:
        try:
            format_of(f)
        except ValueError as e:
            raise UsageError(str(e)) from None
    graph = _read(args.spec, args.input)
    if args.scope is not None:
        scopes = scope_paths(graph)
        if args.scope not in scopes:
            raise UsageError(f"--scope: {graph.name} has no block '{args.scope}'; {did_you_mean(args.scope, scopes)}")
        graph = subgraph(graph, args.scope)
    dot = to_dot(graph, args.depth, args.rankdir, args.shapes)
    if "-" in args.output:
        sys.stdout.write(dot)
    try:
        written = render_all(dot, files, warn=lambda w: print(f"archspec: warning: {w}", file=sys.stderr))
    except GraphvizError as e:
        done = [f for f in files if format_of(f) == "dot"]
        print(f"archspec: error: {e}", file=sys.stderr)
        if done:
            print(f"wrote {', '.join(done)}", file=sys.stderr)
        return EXIT_TOOL
    for w in written:
        print(f"wrote {w}", file=sys.stderr)
    return 0


def _read(spec: str, size: str | None) -> Graph:
    """The graph to draw: a spec's IR, or the nodes of a compiled .onnx file."""
    from archspec import load
    from archspec.cli import UsageError, parse_input

    if spec.lower().endswith(".onnx"):
        from archspec.draw.onnx_graph import read_onnx

        if size is not None:
            raise UsageError("--input: an .onnx file is drawn at the size it was compiled for")
        try:
            return read_onnx(spec)
        except (OSError, ValueError) as e:
            raise UsageError(str(e)) from None
    return load(spec, parse_input(size)).graph
