"""Safe YAML loading that remembers where every key, item and value came from.

Mappings load as :class:`SDict` and sequences as :class:`SList`; both carry the
position of the node itself and of each key/item, so any later stage can point
an error at the exact spec line. Scalars stay plain Python values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from archspec.limits import LIMITS

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster


@dataclass(frozen=True, slots=True)
class Pos:
    """A 1-based line and column in a source file."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class SDict(dict[Any, Any]):
    """A mapping that knows the position of itself, of each key and of each value."""

    pos: Pos | None = None
    key_pos: dict[Any, Pos]
    val_pos: dict[Any, Pos]

    def at(self, key: object) -> Pos | None:
        """Position of the value under `key`, else of the key, else of the mapping."""
        return self.val_pos.get(key) or self.key_pos.get(key) or self.pos


class SList(list[Any]):
    """A sequence that knows the position of itself and of each item."""

    pos: Pos | None = None
    item_pos: list[Pos]

    def at(self, i: int) -> Pos | None:
        return self.item_pos[i] if 0 <= i < len(self.item_pos) else self.pos


def _mark(file: str, node: yaml.Node) -> Pos:
    return Pos(file, node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns a composed YAML node tree into SDict/SList/scalars, within LIMITS: an alias is
    built anew at each use, so a few lines of aliases of aliases (billion laughs) would expand
    to billions of nodes; they are counted as built, and nesting is bounded."""

    def __init__(self, file: str):
        self.file = file
        self.scalars = _Loader("")  # only its scalar resolvers/constructors are used
        self.budget = LIMITS.yaml_nodes

    def build(self, node: yaml.Node, depth: int = 0) -> object:
        self.budget -= 1
        if self.budget < 0:
            raise _limit(node, f"the YAML expands to more than {LIMITS.yaml_nodes:,} nodes "
                         f"(aliases of aliases?)", "yaml_nodes")
        if depth > LIMITS.yaml_depth:
            raise _limit(node, f"mappings and lists nest deeper than {LIMITS.yaml_depth}", "yaml_depth")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, depth)
        if isinstance(node, yaml.SequenceNode):
            seq = SList(self.build(n, depth + 1) for n in node.value)
            seq.pos, seq.item_pos = _mark(self.file, node), [_mark(self.file, n) for n in node.value]
            return seq
        try:
            return self.scalars.construct_object(node, deep=True)
        except ValueError as e:  # an integer of thousands of digits (Python's int-string limit)
            raise yaml.MarkedYAMLError(problem=f"cannot read this value: {str(e)[:120]}",
                                       problem_mark=node.start_mark) from None

    def _mapping(self, node: yaml.MappingNode, depth: int) -> SDict:
        out = SDict()
        out.pos, out.key_pos, out.val_pos = _mark(self.file, node), {}, {}
        for k_node, v_node in node.value:
            if k_node.tag == "tag:yaml.org,2002:merge":
                raise yaml.MarkedYAMLError(problem="YAML merge keys (<<) are not supported",
                                           problem_mark=k_node.start_mark)
            key = self.build(k_node, depth + 1)
            if isinstance(key, (SDict, SList)) or not isinstance(key, _KEY_TYPES):
                raise yaml.MarkedYAMLError(problem="a mapping key must be a plain value",
                                           problem_mark=k_node.start_mark)
            if key in out:
                raise yaml.MarkedYAMLError(problem=f"duplicate key {key!r}", problem_mark=k_node.start_mark)
            out[key] = self.build(v_node, depth + 1)
            out.key_pos[key] = _mark(self.file, k_node)
            out.val_pos[key] = _mark(self.file, v_node)
        return out


_KEY_TYPES = (str, int, float, bool, type(None))


def _limit(node: yaml.Node, problem: str, limit: str) -> yaml.MarkedYAMLError:
    return yaml.MarkedYAMLError(problem=f"{problem} (limit {limit}; raise it with --limit {limit}=N)",
                                problem_mark=node.start_mark)


def load_yaml(text: str, file: str) -> object:
    """Parse one YAML document safely (no tags that build objects), keeping positions.

    Raises yaml.YAMLError (with a problem_mark) on bad syntax.
    """
    _check_depth(text)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    return None if node is None else _Builder(file).build(node)


def _check_depth(text: str) -> None:
    """Nesting bounded on the event stream, before anything is composed: libyaml composes a node
    tree recursively, and 100,000 nested `[` overflow its C stack."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > LIMITS.yaml_depth:
                raise yaml.MarkedYAMLError(problem=f"mappings and lists nest deeper than {LIMITS.yaml_depth} "
                                           f"(limit yaml_depth; raise it with --limit yaml_depth=N)",
                                           problem_mark=event.start_mark)  # type: ignore[arg-type]  # libyaml's Mark
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
