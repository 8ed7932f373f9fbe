"""The `reference:` key: the torchvision or timm model a spec reproduces, declared in the spec.

    reference: torchvision.mobilenet_v2
    reference: {model: torchvision.googlenet, kwargs: {aux_logits: true, init_weights: true}}

Checked here without importing torch (check, summary and compile never do): the library is
torchvision or timm, the constructor a plain name (looked up with getattr on torchvision.models,
or passed to timm.create_model, when the torch backend builds it; never an import of another
module, never eval), the kwargs plain YAML values. Kwargs that would fetch or read weights
(`weights`, `pretrained`, ...) are refused: a reference is built randomly initialised.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from pydantic_core import PydanticCustomError

LIBRARIES = ("torchvision", "timm")
# would download weights or read a file: the reference is always built from random init
REFUSED_KWARGS = frozenset({"weights", "weights_backbone", "pretrained", "pretrained_cfg", "pretrained_cfg_overlay",
                            "pretrained_strict", "checkpoint_path", "cache_dir", "progress"})
# torchvision: one attribute of torchvision.models; timm: a model name, with an optional `.tag`
_BUILDER = {"torchvision": re.compile(r"[A-Za-z][A-Za-z0-9_]*"),
            "timm": re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)?")}
JSON_SCHEMA: dict[str, Any] = {
    "description": "the torchvision or timm model this spec reproduces (archspec verify --reference)",
    "anyOf": [
        {"type": "string", "pattern": r"^(torchvision|timm)\.[A-Za-z]"},
        {"type": "object", "additionalProperties": False, "properties": {  # `model` may come from a base spec
            "model": {"type": "string", "pattern": r"^(torchvision|timm)\.[A-Za-z]",
                      "description": "torchvision.<constructor in torchvision.models> or timm.<model name>"},
            "kwargs": {"type": "object", "description": "keyword arguments of the constructor (plain values)"}}},
        {"type": "null"}]}


def split_model(model: str) -> tuple[str, str]:
    """`torchvision.resnet50` -> ("torchvision", "resnet50"); ValueError naming what is wrong."""
    library, _, builder = model.partition(".")
    if library not in LIBRARIES:
        raise ValueError(f"the library must be one of {', '.join(LIBRARIES)} "
                         f"(as in torchvision.resnet50 or timm.inception_resnet_v2)")
    if not _BUILDER[library].fullmatch(builder):
        raise ValueError(f"'{builder}' is no {library} constructor name (a name, looked up in "
                         f"{'torchvision.models' if library == 'torchvision' else 'timm.create_model'})")
    return library, builder


def plain(value: Any, where: str = "") -> Any:
    """A YAML value as plain dicts, lists and scalars; anything else (or a non-finite float) refused."""
    at = f"'{where}': " if where else ""
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError(f"{at}keys must be strings")
        return {k: plain(v, f"{where}.{k}" if where else k) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{at}{value} is no finite number")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ValueError(f"{at}a {type(value).__name__} is no plain YAML value (quote it to pass a string)")


def check_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    refused = sorted(REFUSED_KWARGS & set(kwargs))
    if refused:
        raise ValueError(f"'{refused[0]}' cannot be given: a reference is built randomly initialised, "
                         f"never from downloaded or stored weights")
    out: dict[str, Any] = plain(kwargs)
    return out


class ReferenceSpec(BaseModel):
    """The validated `reference:` key. Written as a string, it is the model alone."""

    model_config = ConfigDict(extra="forbid", defer_build=True, allow_inf_nan=False)

    model: str  # torchvision.<constructor in torchvision.models> or timm.<model name>
    kwargs: dict[str, Any] = {}  # the constructor's keyword arguments (plain YAML values)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, raw: Any) -> Any:
        if isinstance(raw, str):
            return {"model": raw}
        if not isinstance(raw, dict):
            raise PydanticCustomError("reference",
                                      "write torchvision.<name>, timm.<name> or {model: ..., kwargs: {...}}")
        return raw

    @field_validator("model")
    @classmethod
    def _model(cls, model: str) -> str:
        try:
            split_model(model)
        except ValueError as e:
            raise PydanticCustomError("reference", str(e)) from None
        return model

    @field_validator("kwargs")
    @classmethod
    def _kwargs(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            return check_kwargs(kwargs)
        except ValueError as e:
            raise PydanticCustomError("reference", str(e)) from None

    @property
    def library(self) -> str:
        return split_model(self.model)[0]

    @property
    def builder(self) -> str:
        return split_model(self.model)[1]

