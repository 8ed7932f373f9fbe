"""Generated documentation: the ops reference page, from the op registry."""

from __future__ import annotations

import inspect
from typing import Any

from archspec.ops import REGISTRY, Op


def _type(schema: dict[str, Any]) -> str:
    """A short type for a JSON Schema property: `int >= 0 or [int >= 0 x 2]`."""
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"] if s.get("type") != "null")
    t = {"integer": "int", "number": "float", "boolean": "bool", "string": "str"}.get(str(schema.get("type")), "")
    if schema.get("type") == "array":
        n = schema.get("minItems"), schema.get("maxItems")
        item = _type(schema.get("items", {}))
        if n[1] is None:
            return f"[{item} x {n[0]} or more]"
        return f"[{item} x {n[0]}]" if n[0] == n[1] else f"[{item} x {n[0]}..{n[1]}]"
    for key, sym in (("exclusiveMinimum", ">"), ("minimum", ">="), ("exclusiveMaximum", "<"), ("maximum", "<=")):
        if key in schema:
            t += f" {sym} {schema[key]}"
    return t


def _param_rows(op: Op[Any]) -> list[str]:
    props = op.Params.model_json_schema().get("properties", {})
    rows = []
    for name, field in op.Params.model_fields.items():
        key = field.alias or name
        default = "required" if field.is_required() else f"`{field.default!r}`"
        rows.append(f"| `{key}` | {_type(props.get(key, {}))} | {default} |")
    return rows


def ops_page() -> str:
    out = ["# Ops", "",
           "Generated from the op registry by `python tools/gen_ops_doc.py`; do not edit by hand.",
           "Shapes are per sample (the batch N is symbolic). Every op also takes `name:` and `freeze:`.", ""]
    for name in sorted(REGISTRY):
        op = REGISTRY[name]
        out += [f"## `{name}`", "", inspect.cleandoc(op.__doc__ or "").strip(), ""]
        inputs = {None: "two or more inputs", 0: "no input"}.get(op.arity, "one input")
        short = f"; shorthand: `{name}: <{op.shorthand}>`" if op.shorthand else ""
        out += [f"Takes {inputs}{short}.", ""]
        rows = _param_rows(op)
        if rows:
            out += ["| param | type | default |", "|---|---|---|", *rows, ""]
    return "\n".join(out)
