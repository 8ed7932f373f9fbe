"""The JSON Schema of spec files, derived from the Pydantic models, the op registry and the
combinator registry.

Editors use it through the yaml-language-server modeline shown in the README to complete and
check specs. Numeric and boolean fields also accept `$name` and `${expression}` strings, since
any value may be computed from block args. Hover texts come from the op and combinator
docstrings and from each field's description, or else its trailing `# comment` in the source.
"""

from __future__ import annotations

import inspect
import re
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

from archspec.expand.combinators import COMBINATORS, ITEM, ITEMS, ITEMS_MARK, Combinator, body_keys
from archspec.ops.base import REGISTRY
from archspec.spec import SpecFile

EXPR = {"type": "string", "pattern": r"^\$", "description": "$name or ${expression}"}
_FIELD_COMMENT = re.compile(r"^\s+(\w+)\s*:[^#]*#\s*(.+?)\s*$")


class Described(GenerateJsonSchema):
    """No internal model titles (editors would offer "ConvParams" as a completion); a field's
    trailing comment becomes its description where it has none (the hover text)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def model_schema(self, schema: Any) -> dict[str, Any]:
        s = super().model_schema(schema)
        s.pop("title", None)
        comments = field_comments(schema["cls"])
        for name, prop in s.get("properties", {}).items():
            if isinstance(prop, dict) and name in comments:
                prop.setdefault("description", comments[name])
        return s


class _WithExpressions(Described):
    """Lets every number and boolean be written as an expression too."""

    def int_schema(self, schema: Any) -> dict[str, Any]:
        return {"anyOf": [super().int_schema(schema), EXPR]}

    def float_schema(self, schema: Any) -> dict[str, Any]:
        return {"anyOf": [super().float_schema(schema), EXPR]}

    def bool_schema(self, schema: Any) -> dict[str, Any]:
        return {"anyOf": [super().bool_schema(schema), EXPR]}


@cache
def field_comments(cls: type) -> dict[str, str]:
    """`{field: comment}` from the trailing comments of a model's field lines (and its bases')."""
    out: dict[str, str] = {}
    for klass in reversed([k for k in cls.__mro__ if issubclass(k, BaseModel) and k is not BaseModel]):
        try:
            lines = inspect.getsource(klass).splitlines()
        except (OSError, TypeError):
            continue
        for line in lines:
            m = _FIELD_COMMENT.match(line)
            if m and m.group(1) in getattr(klass, "model_fields", {}):
                field = klass.model_fields[m.group(1)]
                out[field.alias or m.group(1)] = m.group(2)
    return out


class _Schemas:
    """Model schemas with their nested models gathered in `defs` (the SchemaBuilder combinators use)."""

    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def model(self, model: type[BaseModel]) -> dict[str, Any]:
        s = model.model_json_schema(schema_generator=_WithExpressions, ref_template="#/$defs/{model}")
        self.defs.update(_marks_to_refs(s.pop("$defs", {})))
        out: dict[str, Any] = _marks_to_refs(s)
        return out


def _marks_to_refs(s: Any) -> Any:
    if isinstance(s, dict) and ITEMS_MARK.items() <= s.items():  # pydantic may add a default
        return {**ITEMS, **{k: v for k, v in s.items() if k == "description"}}
    if isinstance(s, dict):
        return {k: _marks_to_refs(v) for k, v in s.items()}
    if isinstance(s, list):
        return [_marks_to_refs(v) for v in s]
    return s


def _op_item(name: str, js: _Schemas) -> dict[str, Any]:
    op = REGISTRY[name]
    params = js.model(op.Params)
    params.setdefault("properties", {}).update(name={"type": "string"}, freeze={"type": "boolean"})
    choices: list[dict[str, Any]] = [params, {"type": "null"}]
    if op.shorthand:
        choices.append(params["properties"][op.shorthand])
    return {"type": "object", "description": (op.__doc__ or "").strip(),
            "properties": {name: {"anyOf": choices}, "name": {"type": "string"}, "freeze": {"type": "boolean"}},
            "required": [name], "additionalProperties": False}


def _combinator_item(c: Combinator, value: dict[str, Any]) -> dict[str, Any]:
    if c.flow:  # the item is the mapping itself
        required = [c.key, *(k for k in value.get("required", []) if k != c.key)]
        return {**value, "description": c.describe(), "required": required}
    return {"type": "object", "description": c.describe(),
            "properties": {c.key: value, "name": {"type": "string"}},
            "required": [c.key], "additionalProperties": False}


def _with_from(item: dict[str, Any]) -> dict[str, Any]:
    """An item as a graph-form entry: it may also say where its inputs come from."""
    if item.get("type") != "object" or "properties" not in item:
        return item
    sources = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    return {**item, "properties": {**item["properties"], "from": sources}}


def json_schema() -> dict[str, Any]:
    js = _Schemas()
    values = {k: c.schema(js) for k, c in COMBINATORS.items()}
    items: list[dict[str, Any]] = [{"type": "string", "description": "an op without params or a block without args",
              "examples": sorted(REGISTRY)}]
    items += [_op_item(n, js) for n in sorted(REGISTRY)]
    items += [_combinator_item(c, values[k]) for k, c in COMBINATORS.items()]
    # the item keys (name, freeze; and from, in the graph form) may stand beside the block's key
    items.append({"type": "object", "description": "a block call: {block_name: {arg: value, name: ...}}",
                  "properties": {"name": {"type": "string"}, "freeze": {"type": "boolean"}},
                  "not": {"propertyNames": {"enum": ["name", "freeze", "from"]}},  # a block key too
                  "minProperties": 1, "additionalProperties": {"type": ["object", "null"]},
                  "propertyNames": {"not": {"enum": [*REGISTRY, *COMBINATORS]}}})
    root = js.model(SpecFile)
    defs = js.defs
    defs["Item"] = {"anyOf": items}
    defs["Items"] = {"anyOf": [{"type": "array", "items": ITEM}, ITEM]}
    defs["Entry"] = {"anyOf": [_with_from(i) for i in items]}
    props = root["properties"]
    props["layers"], props["graph"] = values["seq"], values["graph"]
    block = defs["BlockDef"]["properties"]
    del block["bodies"]
    block.update({k: values[k] for k in body_keys()})
    defs["OutputDef"]["properties"]["layers"] = values["seq"]
    root["required"] = [k for k in root["required"] if k != "input"]  # a spec that extends a base
    root["if"], root["then"] = {"not": {"required": ["extends"]}}, {"required": ["input"]}  # inherits it
    root["$defs"] = defs
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://archspec.dev/schema/spec-1.json", "title": "archspec spec", **root}


__all__ = ["EXPR", "ITEMS", "Described", "json_schema"]
