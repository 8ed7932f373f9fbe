"""`archspec check SPEC...`: validate specs; every problem of every spec in one run."""

from __future__ import annotations

import argparse
import sys

from archspec.errors import SpecError


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help="validate specs and infer every shape")
    p.add_argument("specs", nargs="+", metavar="SPEC", help="a spec file or built-in name")
    p.add_argument("--input", help="override the input size, CxHxW")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archspec import load
    from archspec.cli import EXIT_OK, EXIT_SPEC, parse_input

    shape, failed = parse_input(args.input), 0
    for spec in args.specs:
        try:
            m = load(spec, shape)
        except SpecError as e:
            failed += 1
            print(e.report(), file=sys.stderr)
            continue
        if not args.quiet:
            print(f"ok: {spec}: {m.name}, {len(m.graph.nodes) - 1} nodes, {m.params:,} params, "
                  f"{m.macs / 1e9:.3f} GMACs")
    if failed:
        print(f"{failed} of {len(args.specs)} spec{'s' if len(args.specs) > 1 else ''} failed",
              file=sys.stderr)
    return EXIT_SPEC if failed else EXIT_OK
