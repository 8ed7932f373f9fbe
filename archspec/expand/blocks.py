"""Blocks: their definitions checked once, and their args checked at each call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archspec.errors import Collector, did_you_mean
from archspec.expand.combinators import COMBINATORS, body_keys
from archspec.expand.scope import ITEM_KEYS
from archspec.loader import Source
from archspec.ops.base import REGISTRY
from archspec.source import Pos, SDict
from archspec.spec import ArgSpec, BlockDef, validate

_TYPES: dict[str, type | tuple[type, ...]] = {"float": (int, float), "bool": bool, "str": str,
                                              "list": list}


@dataclass(frozen=True)
class Block:
    name: str
    raw: SDict
    pos: Pos | None
    body: str  # its combinator's key
    args: dict[str, ArgSpec]


def read_blocks(src: Source, errors: Collector) -> dict[str, Block]:
    """The spec's blocks (its own and its includes'), each with exactly one body."""
    blocks = {}
    for name, (raw, pos) in src.blocks.items():
        if name in REGISTRY or name in COMBINATORS:
            errors.add(f"block name '{name}' is taken by an op or combinator", pos)
            continue
        bdef: BlockDef | None = validate(BlockDef, raw, pos, errors, what=f"block '{name}'")
        if bdef is None:
            continue
        if len(bdef.bodies) != 1:
            errors.add(f"block '{name}' needs exactly one body ({', '.join(body_keys())}), "
                       f"got {len(bdef.bodies)}", pos)
            continue
        args = {k: v if isinstance(v, ArgSpec) else ArgSpec(type=v) for k, v in bdef.args.items()}
        blocks[name] = Block(name, raw, pos, next(iter(bdef.bodies)), args)
    return blocks


def unknown_args(block: Block, given: SDict) -> list[tuple[str, Pos | None, str]]:
    """(arg, position, hint) of each given arg the block does not declare."""
    hint = f"'{block.name}' takes no args"
    return [(str(k), given.key_pos.get(k), did_you_mean(k, block.args) if block.args else hint)
            for k in given if k not in block.args and k not in ITEM_KEYS]


def typed(spec: ArgSpec, v: Any) -> tuple[bool, Any]:
    """Whether `v` is of the arg's type, and `v` as that type (an integral float is an int)."""
    if spec.type == "int or pair":  # a kernel of 3 or [1, 7]
        ints = [_int(e) for e in (v if isinstance(v, list) else [v])]
        if None in ints or (isinstance(v, list) and len(v) != 2):
            return False, v
        return True, ints if isinstance(v, list) else ints[0]
    if spec.type == "int":
        return _int(v) is not None, v if _int(v) is None else _int(v)
    if isinstance(v, _TYPES[spec.type]) and not (spec.type == "float" and isinstance(v, bool)):
        return True, v
    return False, v


def _int(v: Any) -> int | None:
    """`v` as an int (an integral float is one), or None."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v if isinstance(v, int) and not isinstance(v, bool) else None
