"""`archspec schema`: write the JSON Schema of spec files (for editors)."""

from __future__ import annotations

import argparse
import json


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("schema", help="write the JSON Schema of spec files")
    p.add_argument("-o", "--output", help="file to write (default: stdout)")
    p.add_argument("--recipe", action="store_true", help="the schema of training recipes instead")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archspec.io import write_atomic
    if args.recipe:
        from archspec.train.recipe import json_schema
    else:
        from archspec.schema import json_schema

    text = json.dumps(json_schema(), indent=1) + "\n"
    if args.output:
        write_atomic(args.output, text.encode())
        print(f"wrote {args.output}")
    else:
        print(text, end="")
    return 0
