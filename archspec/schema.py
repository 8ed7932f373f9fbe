"""The JSON Schema of spec files, derived from the Pydantic models and the op registry.

Editors use it through the yaml-language-server modeline shown in the README to
complete and check specs. Numeric and boolean fields also accept `$name` and
`${expression}` strings, since any value may be computed from block args.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

from archspec.ops.base import REGISTRY
from archspec.spec import BODY_KEYS, DenseDef, IfDef, RepeatDef, ResidualDef, ShortcutDef, SpecFile

EXPR = {"type": "string", "pattern": r"^\$", "description": "$name or ${expression}"}
ITEM = {"$ref": "#/$defs/Item"}
ITEMS = {"$ref": "#/$defs/Items"}


class _WithExpressions(GenerateJsonSchema):
    """Lets every number and boolean be written as an expression too."""

    def int_schema(self, schema: Any) -> dict:
        return {"anyOf": [super().int_schema(schema), EXPR]}

    def float_schema(self, schema: Any) -> dict:
        return {"anyOf": [super().float_schema(schema), EXPR]}

    def bool_schema(self, schema: Any) -> dict:
        return {"anyOf": [super().bool_schema(schema), EXPR]}


def _schema(model: type[BaseModel], defs: dict) -> dict:
    s = model.model_json_schema(schema_generator=_WithExpressions, ref_template="#/$defs/{model}")
    defs.update(s.pop("$defs", {}))
    return s


def _op_item(name: str, defs: dict) -> dict:
    op = REGISTRY[name]
    params = _schema(op.Params, defs)
    params.setdefault("properties", {}).update(name={"type": "string"}, freeze={"type": "boolean"})
    choices: list[dict] = [params, {"type": "null"}]
    if op.shorthand:
        choices.append(params["properties"][op.shorthand])
    return {"type": "object", "description": (op.__doc__ or "").strip(),
            "properties": {name: {"anyOf": choices}, "name": {"type": "string"},
                           "freeze": {"type": "boolean"}},
            "required": [name], "additionalProperties": False}


def _combinator(key: str, model: type[BaseModel] | None, defs: dict, **fields: dict) -> dict:
    body = _schema(model, defs) if model else {}
    if model:
        body["properties"].update(fields)
    else:
        body = fields["value"]
    return {"type": "object", "properties": {key: body, "name": {"type": "string"}},
            "required": [key], "additionalProperties": False}


def _flow_item(model: type[BaseModel], defs: dict, **fields: dict) -> dict:
    s = _schema(model, defs)
    s["properties"].update(fields)
    return s


def json_schema() -> dict:
    defs: dict[str, Any] = {}
    items = [{"type": "string", "description": "an op without params or a block without args",
              "examples": sorted(REGISTRY)}]
    items += [_op_item(n, defs) for n in sorted(REGISTRY)]
    branches = {"anyOf": [{"type": "array", "items": ITEMS}, {"type": "object", "additionalProperties": ITEMS}]}
    items += [
        _combinator("seq", None, defs, value={"type": "array", "items": ITEM}),
        _combinator("residual", ResidualDef, defs, body=ITEMS, after=ITEMS,
                    shortcut={"anyOf": [ITEMS, _flow_item(ShortcutDef, defs, then=ITEMS, layers=ITEMS,
                                                          **{"else": ITEMS})]}),
        _combinator("concat", None, defs, value=branches),
        _combinator("dense", DenseDef, defs, layer=ITEMS),
        _combinator("graph", None, defs, value={"type": "array", "items": ITEM}),
        _flow_item(RepeatDef, defs, body=ITEMS),
        _flow_item(IfDef, defs, then=ITEMS, **{"else": ITEMS}),
        {"type": "object", "description": "a block call: {block_name: {arg: value, name: ...}}",
         "minProperties": 1, "additionalProperties": {"type": ["object", "null"]},
         "propertyNames": {"not": {"enum": [*REGISTRY, *BODY_KEYS, "repeat", "if"]}}},
    ]
    root = _schema(SpecFile, defs)
    defs["Item"] = {"anyOf": items}
    defs["Items"] = {"anyOf": [{"type": "array", "items": ITEM}, ITEM]}
    props = root["properties"]
    props["layers"] = {"type": "array", "items": ITEM}
    props["graph"] = {"type": "array", "items": ITEM}
    for block_key in ("seq", "graph"):
        defs["BlockDef"]["properties"][block_key] = {"type": "array", "items": ITEM}
    defs["BlockDef"]["properties"]["concat"] = branches
    defs["BlockDef"]["properties"]["residual"] = items[len(REGISTRY) + 2]["properties"]["residual"]
    defs["BlockDef"]["properties"]["dense"] = items[len(REGISTRY) + 4]["properties"]["dense"]
    defs["OutputDef"]["properties"]["layers"] = {"type": "array", "items": ITEM}
    root["required"] = [k for k in root["required"] if k != "input"]  # a spec that extends a base
    root["if"], root["then"] = {"not": {"required": ["extends"]}}, {"required": ["input"]}  # inherits it
    root["$defs"] = defs
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://archspec.dev/schema/spec-1.json", "title": "archspec spec", **root}
