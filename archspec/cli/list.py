"""`archspec list`: the built-in specs."""

from __future__ import annotations

import argparse


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list the built-in specs")
    p.add_argument("--long", action="store_true", help="with params, MACs and input size")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archspec.loader import builtin_names

    for name in builtin_names():
        if not args.long:
            print(name)
            continue
        from archspec import load
        from archspec.ops.base import fmt

        m = load(name)
        print(f"{name:24s} {m.params:>13,} params {m.macs / 1e9:>8.3f} GMACs  {fmt(m.input_shape)}")
    return 0
