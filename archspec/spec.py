"""Pydantic models of the spec file (the combinators' models are beside them, in archspec/expand).

Layer items are validated one by one during expansion (their keys depend on the
blocks a spec defines), so here they are `Any`; `schema.py` gives editors the
full union derived from the op registry.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from archspec import labels as label_sets
from archspec.errors import Collector, did_you_mean
from archspec.reference import JSON_SCHEMA as REFERENCE_SCHEMA
from archspec.reference import ReferenceSpec
from archspec.source import Pos, SDict, SList

Expr = str  # "$name" or "${expression}", resolved during expansion


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True, allow_inf_nan=False)


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


ArgType = Literal["int", "float", "bool", "str", "list", "int or pair"]  # pair: a list of two ints


class ArgSpec(Strict):
    type: ArgType
    default: Any = None


class BlockDef(Strict):
    """A reusable block: typed args and exactly one body, written under its combinator's key."""

    args: dict[str, ArgType | ArgSpec] = {}
    doc: str = ""
    bodies: dict[str, Any] = {}  # combinator key -> body, gathered from the block's other keys

    @model_validator(mode="before")
    @classmethod
    def _bodies(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        if "bodies" in raw:
            raise ValueError("'bodies' is no block key: write the body under its combinator's key")
        keys = _body_keys()
        return {k: v for k, v in raw.items() if k not in keys} | {"bodies": {k: raw[k] for k in raw if k in keys}}

    @classmethod
    def known_keys(cls) -> list[str]:
        return ["args", "doc", *_body_keys()]


_body_keys: Callable[[], list[str]] = list  # the combinator registry's, set by archspec.expand


def read_body_keys_from(registry: Callable[[], list[str]]) -> None:
    """Where BlockDef finds its body keys: archspec.expand's combinator registry, which imports this
    module (so this module imports no combinator)."""
    global _body_keys
    _body_keys = registry


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
    # the torchvision/timm model this spec reproduces: `torchvision.resnet50` or {model, kwargs}
    reference: Annotated[ReferenceSpec | None, WithJsonSchema(REFERENCE_SCHEMA)] = None


def validate(model: type[BaseModel], raw: Any, pos: Pos | None, errors: Collector,
             path: str = "", what: str = "") -> Any:
    """Validate `raw` against `model`; report each problem at its own YAML position."""
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        report_errors(e.errors(), raw, pos, errors, path, model, what)
        return None


def report_errors(errs: Sequence[Mapping[str, Any]], raw: Any, pos: Pos | None, errors: Collector, path: str,
                  model: type[BaseModel], what: str = "") -> None:
    """Turn Pydantic errors into diagnostics. A misspelt key is one error, not also a missing one."""
    extra = [e["loc"][-1] for e in errs if e["type"] == "extra_forbidden"]
    for err in errs:
        if err["type"] == "missing" and any(
                difflib.get_close_matches(str(k), [str(err["loc"][-1])], cutoff=0.6) for k in extra):
            continue
        _report(err, raw, pos, errors, path, model, what)


def _report(err: Mapping[str, Any], raw: Any, pos: Pos | None, errors: Collector, path: str,
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
def _fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    keys = iter(loc)
    for key in keys:  # descend into nested models (and mappings of them) where the location says so
        field = model.model_fields.get(str(key))
        ann = getattr(field, "annotation", None)
        if get_origin(ann) is dict and next(keys, None) is not None:  # blocks.<name>
            ann = get_args(ann)[1]
        ann = next((a for a in get_args(ann) if isinstance(a, type) and issubclass(a, BaseModel)), ann)  # X | None
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            return []
    known = getattr(model, "known_keys", None)  # a model that gathers keys beyond its fields
    return list(known()) if known else [f.alias or n for n, f in model.model_fields.items()]
