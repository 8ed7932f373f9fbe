"""Pydantic models of the spec file and its combinators.

Layer items are validated one by one during expansion (their keys depend on the
blocks a spec defines), so here they are `Any`; `schema.py` gives editors the
full union derived from the op registry.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PositiveInt, ValidationError, WithJsonSchema

from archspec import labels as label_sets
from archspec.errors import Collector, did_you_mean
from archspec.source import Pos, SDict, SList

Expr = str  # "$name" or "${expression}", resolved during expansion


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class InputSpec(Strict):
    name: str = "input"
    shape: list[PositiveInt] = Field(min_length=1, max_length=3)


class Preprocess(Strict):
    """How raw images become the input tensor; recorded in compiled models."""

    resize: PositiveInt | None = None  # shorter side, before the centre crop
    crop: PositiveInt | None = None
    scale: float = 1 / 255  # pixel values times this, before mean/std
    mean: list[float] | None = None
    std: list[float] | None = None
    channels: Literal["rgb", "bgr", "gray"] = "rgb"


ArgType = Literal["int", "float", "bool", "str", "list"]


class ArgSpec(Strict):
    type: ArgType
    default: Any = None


class BlockDef(Strict):
    """A reusable block: typed args and exactly one body."""

    args: dict[str, ArgType | ArgSpec] = {}
    doc: str = ""
    seq: list[Any] | None = None
    residual: dict[str, Any] | None = None
    concat: list[Any] | dict[str, Any] | None = None
    dense: dict[str, Any] | None = None
    graph: list[Any] | None = None


BODY_KEYS = ("seq", "residual", "concat", "dense", "graph")


class OutputDef(Strict):
    name: str
    from_: str = Field(alias="from")
    layers: list[Any] = []
    train_only: bool = False


class SpecFile(Strict):
    archspec: Literal[1]
    name: str
    description: str = ""
    input: InputSpec
    preprocess: Preprocess | None = None
    # a list, or a label set shipped with archspec (`labels: imagenet`), resolved to its list
    labels: Annotated[list[str] | None, BeforeValidator(label_sets.resolve),
                      WithJsonSchema(label_sets.JSON_SCHEMA)] = None
    output: str = "output"  # name of the main output
    include: list[str] = []
    extends: str | None = None
    args: dict[str, Any] = {}
    blocks: dict[str, BlockDef] = {}
    layers: list[Any] | None = None
    graph: list[Any] | None = None
    outputs: list[OutputDef] = []


class ResidualDef(Strict):
    body: Any
    shortcut: Any = None
    scale: float | Expr | None = None
    after: Any = None
    name: str | None = None


class ShortcutDef(Strict):
    """A shortcut given as a mapping: conditional, named, or both."""

    if_: bool | Expr = Field(True, alias="if")
    then: Any = None
    else_: Any = Field(None, alias="else")
    layers: Any = None
    name: str = "shortcut"


class DenseDef(Strict):
    repeat: int | Expr
    layer: Any
    name: str | None = None


class RepeatDef(Strict):
    repeat: int | Expr
    body: Any
    var: str = "i"  # the loop variable, 0-based, usable in the body's expressions and names


class IfDef(Strict):
    if_: bool | Expr = Field(alias="if")
    then: Any = None
    else_: Any = Field(None, alias="else")


def validate(model: type[BaseModel], raw: Any, pos: Pos | None, errors: Collector,
             path: str = "", what: str = "") -> Any:
    """Validate `raw` against `model`; report each problem at its own YAML position."""
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        report_errors(e.errors(), raw, pos, errors, path, model, what)
        return None


def report_errors(errs: list[dict], raw: Any, pos: Pos | None, errors: Collector, path: str,
                  model: type[BaseModel], what: str = "") -> None:
    """Turn Pydantic errors into diagnostics. A misspelt key is one error, not also a missing one."""
    extra = [e["loc"][-1] for e in errs if e["type"] == "extra_forbidden"]
    for err in errs:
        if err["type"] == "missing" and any(
                difflib.get_close_matches(str(k), [str(err["loc"][-1])], cutoff=0.6) for k in extra):
            continue
        _report(err, raw, pos, errors, path, model, what)


def _report(err: dict, raw: Any, pos: Pos | None, errors: Collector, path: str,
            model: type[BaseModel], what: str) -> None:
    loc, node, at = err["loc"], raw, pos
    for key in loc:  # walk the raw value to the offending key for its position
        in_list = isinstance(node, SList) and isinstance(key, int) and key < len(node)
        if (isinstance(node, SDict) and key in node) or in_list:
            at, node = node.at(key), node[key]
        else:
            break
    where = ".".join(str(k) for k in loc if not str(k).startswith(("function-", "union")))
    label = f"{what}: " if what else ""
    hint = ""
    if err["type"] == "extra_forbidden":
        if isinstance(raw, SDict) and len(loc) == 1:
            at = raw.key_pos.get(loc[-1], at)
        fields = _fields(model, loc[:-1])
        msg = f"{label}unknown key '{where}'"
        hint = did_you_mean(loc[-1], fields) if fields else ""
    elif err["type"] == "missing":
        msg = f"{label}missing required key '{where}'"
    elif err["type"] == "literal_error" and where == "archspec":
        msg, hint = "unsupported spec version", "this archspec reads `archspec: 1`"
    else:
        got = err.get("input")
        got_s = f", got {got!r}" if not isinstance(got, (dict, list)) else ""
        msg = f"{label}{where}: {err['msg'][0].lower()}{err['msg'][1:]}{got_s}"
    errors.add(msg, at, path, hint)
def _fields(model: type[BaseModel], loc: tuple) -> list[str]:
    for key in loc:  # descend into nested models where the location says so
        field = model.model_fields.get(str(key))
        ann = getattr(field, "annotation", None)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            return []
    return [f.alias or n for n, f in model.model_fields.items()]
