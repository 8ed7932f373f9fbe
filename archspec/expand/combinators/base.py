"""The combinator protocol and registry, mirroring the op registry (archspec/ops/base.py).

A combinator is an item that joins or repeats other items (seq, residual, concat, dense, graph;
the flow items repeat and if). Its class holds all of it: the key it is written under, the
Pydantic model of its value, its expansion and its JSON Schema fragment. The block body keys, the
`BlockDef` model and the spec JSON Schema are derived from `COMBINATORS`, so a new combinator is
one class in one file.

Combinators expand through a :class:`Context` (the expander), so naming, errors and shape
inference behave as for any other item.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Protocol

from pydantic import BaseModel, WithJsonSchema

from archspec.expand.scope import Scope, Value
from archspec.ir import Graph
from archspec.source import Pos
from archspec.spec import SpecFile, read_body_keys_from

ITEM: dict[str, Any] = {"$ref": "#/$defs/Item"}  # one op, block call or combinator
ITEMS: dict[str, Any] = {"$ref": "#/$defs/Items"}  # one item or a list of them
ENTRY: dict[str, Any] = {"$ref": "#/$defs/Entry"}  # an item with `from`, in the graph form
# A field holding items: validated during expansion (its keys depend on the spec's blocks). Its
# schema is ITEMS; pydantic is given a mark instead, as it would look for a $ref among its own models.
ITEMS_MARK: dict[str, Any] = {"x-archspec": "items"}
Items = Annotated[Any, WithJsonSchema(ITEMS_MARK)]


class Context(Protocol):
    """What a combinator may use of the expander."""

    spec: SpecFile
    graph: Graph  # the nodes so far (their shapes) and the scope kinds

    def items(self, raw: Any, pos: Pos | None, scope: Scope, x: Value) -> Value:
        """A list of items, or one item, applied in order to `x`."""
        ...

    def item(self, raw: Any, pos: Pos | None, scope: Scope, x: Value, name: str | None = None) -> Value:
        """One item applied to `x`."""
        ...

    def keyed(self, key: str, val: Any, vpos: Pos | None, pos: Pos | None, scope: Scope,
              ins: list[Value], name: str | None) -> Value:
        """The item `{key: val}` applied to `ins` (several only for ops that join tensors)."""
        ...

    def known(self, key: str) -> bool:
        """Whether `key` names an op, a block or a combinator."""
        ...

    def node(self, key: str, p: Any, ins: list[str], path: str, pos: Pos | None, scope: Scope) -> Value:
        """A new IR node of op `key` with validated params `p`; None (reported) on a shape error."""
        ...

    def validate(self, model: type[BaseModel], raw: Any, pos: Pos | None, scope: Scope, what: str) -> Any:
        """`raw` as `model`, or None with each problem reported."""
        ...

    def name(self, raw: Any, key: str, scope: Scope) -> str | None:
        """The name given under `raw[key]` (expressions resolved), or None."""
        ...

    def with_input(self, scope: Scope, x: Value) -> Scope:
        """`scope` whose expressions also see `in_channels`, `in_height` and `in_width` of `x`."""
        ...

    def value(self, v: Any, pos: Pos | None, scope: Scope) -> Any:
        """`v` with its expressions resolved, or None (reported)."""
        ...

    def count(self, v: Any, pos: Pos | None, scope: Scope) -> int | None:
        """A repeat count, or None (reported)."""
        ...

    def error(self, message: str, pos: Pos | None, scope: Scope, hint: str = "", path: str | None = None) -> None:
        """Report a problem at `pos`, in `scope` (or at node `path`), with the block-call notes."""
        ...


class SchemaBuilder(Protocol):
    """What a combinator may use to write its JSON Schema (archspec/schema.py provides it)."""

    def model(self, model: type[BaseModel]) -> dict[str, Any]:
        """The schema of a Pydantic model, numbers and booleans also taking expressions."""
        ...


class Combinator:
    """One combinator. Subclasses set `key` and `Model` (or override `schema`) and `expand`."""

    key: ClassVar[str]
    Model: ClassVar[type[BaseModel] | None] = None  # its value's model; None: `schema` says it
    # A flow item is recognised by its key among the item's keys, and the whole mapping is its
    # value ({repeat: 3, body: ...}); it is always transparent for naming and is no block body.
    flow: ClassVar[bool] = False

    def expand(self, ctx: Context, val: Any, pos: Pos | None, scope: Scope, x: Value) -> Value:
        """The combinator applied to `x`; with x None (an earlier error) it checks what it can."""
        raise NotImplementedError

    def schema(self, js: SchemaBuilder) -> dict[str, Any]:
        """The JSON Schema of the value (of the whole item, for a flow item)."""
        if self.Model is None:
            raise NotImplementedError(f"combinator '{self.key}' has no schema")
        return js.model(self.Model)

    def describe(self) -> str:
        return " ".join((type(self).__doc__ or "").split())


COMBINATORS: dict[str, Combinator] = {}


def register(cls: type[Combinator]) -> type[Combinator]:
    if cls.key in COMBINATORS:
        raise RuntimeError(f"combinator '{cls.key}' is registered twice")
    COMBINATORS[cls.key] = cls()
    return cls


def body_keys() -> list[str]:
    """The combinators a block body (or a keyed item) is written with."""
    return [k for k, c in COMBINATORS.items() if not c.flow]


read_body_keys_from(body_keys)


def flow_keys() -> list[str]:
    return [k for k, c in COMBINATORS.items() if c.flow]
