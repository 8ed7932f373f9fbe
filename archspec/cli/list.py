"""`archspec list`: the built-in specs, each with its description, params, MACs and input.

Every built-in is loaded and expanded (no torch): the whole command takes about 0.7 s, so
nothing is cached."""

from __future__ import annotations

import argparse
import json
import re
from typing import Any


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("list", help="list the built-in specs: description, params, MACs, input")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--json", action="store_true", help="machine-readable output")
    how.add_argument("--names", action="store_true", help="the names alone, one a line")
    p.set_defaults(run=run)


def natural_key(name: str) -> list[Any]:
    """resnet18 before resnet101: digit runs compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def si(n: float) -> str:
    """A count with an adaptive unit: 416.5 K, 1.81 G (three or four significant digits)."""
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            x = n / scale
            return f"{x:.2f} {unit}" if x < 10 else f"{x:.1f} {unit}"
    return f"{n:g}"


def entries() -> list[dict[str, Any]]:
    from archspec import load
    from archspec.loader import builtin_names

    out = []
    for name in sorted(builtin_names(), key=natural_key):
        m = load(name)
        out.append({"name": name, "description": m.spec.description, "params": m.params, "macs": m.macs,
                    "input": list(m.input_shape)})
    return out


def run(args: argparse.Namespace) -> int:
    if args.names:
        from archspec.loader import builtin_names

        print("\n".join(sorted(builtin_names(), key=natural_key)))
        return 0
    rows = entries()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["name"]) for r in rows)
    print(f"{'spec':<{width}}  {'params':>11}  {'MACs':>8}  {'input':<9}  description")
    for r in rows:
        shape = "x".join(map(str, r["input"]))
        print(f"{r['name']:<{width}}  {r['params']:>11,}  {si(r['macs']):>8}  {shape:<9}  {r['description']}")
    return 0
