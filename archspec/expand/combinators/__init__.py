"""The combinator registry: importing this package registers every built-in combinator, in the order
that error messages and the JSON Schema list them."""

# isort: off
from archspec.expand.combinators import seq, residual, concat, dense, split, graph, repeat, cond, require  # noqa: F401 - registration
# isort: on
from archspec.expand.combinators.base import (
    COMBINATORS,
    ENTRY,
    ITEM,
    ITEMS,
    ITEMS_MARK,
    Combinator,
    Context,
    Items,
    SchemaBuilder,
    body_keys,
    flow_keys,
    register,
)

__all__ = [
    "COMBINATORS",
    "ENTRY",
    "ITEM",
    "ITEMS",
    "ITEMS_MARK",
    "Combinator",
    "Context",
    "Items",
    "SchemaBuilder",
    "body_keys",
    "flow_keys",
    "register",
]
