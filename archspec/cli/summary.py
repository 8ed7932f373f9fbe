"""`archspec summary SPEC`: the per-layer table of shapes, params and MACs."""

from __future__ import annotations

import argparse


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("summary", help="per-layer shapes, params and MACs")
    p.add_argument("spec", metavar="SPEC", help="a spec file or built-in name")
    p.add_argument("--depth", type=int, default=None, help="collapse blocks below N levels")
    p.add_argument("--input", help="override the input size, CxHxW")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archspec import load
    from archspec.cli import UsageError, parse_input

    if args.depth is not None and args.depth < 1:
        raise UsageError("--depth must be at least 1")
    table = load(args.spec, parse_input(args.input)).table(args.depth)
    print(table.to_json() if args.json else table.render())
    return 0
