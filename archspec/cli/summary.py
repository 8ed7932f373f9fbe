"""`archspec summary SPEC`: the per-layer table of shapes, params and MACs."""

from __future__ import annotations

import argparse


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("summary", help="per-layer shapes, params, MACs and activation memory")
    p.add_argument("spec", metavar="SPEC", help="a spec file or built-in name")
    p.add_argument("--depth", type=int, default=None, help="collapse blocks below N levels")
    p.add_argument("--input", help="override the input size, CxHxW")
    p.add_argument("--batch", type=int, default=1, metavar="N",
                   help="the batch of the activation-memory estimate (default 1)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archspec import load
    from archspec.cli import UsageError, parse_input
    from archspec.summary import Table

    if args.depth is not None and args.depth < 1:
        raise UsageError("--depth must be at least 1")
    if args.batch < 1:
        raise UsageError("--batch must be at least 1")
    table = Table.of(load(args.spec, parse_input(args.input)).graph, args.depth, args.batch)
    print(table.to_json() if args.json else table.render())
    return 0
