"""The IR: a flat, typed, topologically ordered graph.

Every node has a dotted path name (`layer3.2.conv2`) that is also its torch
state_dict prefix and its ONNX node name, the op and its validated params, its
inputs, its per-sample output shape (batch is symbolic), the weights and
buffers it owns, its MACs and the spec position it came from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from archspec.ops.base import REGISTRY, Op, Params, Shape
from archspec.source import Pos


@dataclass(slots=True)
class Node:
    name: str
    op: str
    params: Params  # the op's params model (Op.params_of gives it its type)
    inputs: list[str]
    shape: Shape
    weights: dict[str, Shape] = field(default_factory=dict)
    buffers: dict[str, Shape] = field(default_factory=dict)
    macs: int = 0
    pos: Pos | None = None
    train_only: bool = False
    frozen: bool = False

    @property
    def impl(self) -> Op[Any]:
        return REGISTRY[self.op]

    @property
    def params_count(self) -> int:
        return sum(math.prod(s) for s in self.weights.values())

    @property
    def buffers_count(self) -> int:
        return sum(math.prod(s) for s in self.buffers.values())


@dataclass(slots=True)
class Output:
    name: str
    node: str
    train_only: bool = False


@dataclass
class Graph:
    """The expanded spec. `nodes` is ordered topologically; `input` names its node of op 'input'."""

    name: str
    input: str
    nodes: dict[str, Node] = field(default_factory=dict)
    outputs: list[Output] = field(default_factory=list)
    scopes: dict[str, str] = field(default_factory=dict)  # scope path -> block or combinator

    def add(self, node: Node) -> Node:
        self.nodes[node.name] = node
        return node

    def eval_nodes(self) -> list[Node]:
        """Nodes of the inference graph (train-only heads dropped)."""
        return [n for n in self.nodes.values() if not n.train_only]

    def totals(self, train: bool = False) -> dict[str, int]:
        nodes = list(self.nodes.values()) if train else self.eval_nodes()
        params = sum(n.params_count for n in nodes)
        return {
            "params": params,
            "trainable_params": sum(n.params_count for n in nodes if not n.frozen),
            "buffers": sum(n.buffers_count for n in nodes),
            "macs": sum(n.macs for n in nodes),
        }

    def lint(self) -> list[str]:
        """Structural problems: order, unique names, defined inputs, one op each. Empty when sound."""
        problems, seen = [], set()
        for key, n in self.nodes.items():
            if key != n.name:
                problems.append(f"node stored as '{key}' is named '{n.name}'")
            if n.name in seen:
                problems.append(f"duplicate node '{n.name}'")
            if n.op not in REGISTRY:
                problems.append(f"{n.name}: unknown op '{n.op}'")
            for i in n.inputs:
                if i not in seen:
                    problems.append(f"{n.name}: input '{i}' is not defined before it")
                elif self.nodes[i].train_only and not n.train_only:
                    problems.append(f"{n.name}: uses train-only '{i}' in the eval graph")
            seen.add(n.name)
        for o in self.outputs:
            if o.node not in self.nodes:
                problems.append(f"output '{o.name}' names undefined node '{o.node}'")
        return problems


def collapse_key(name: str, depth: int | None) -> str:
    """What a node is shown as at `depth` (`summary --depth`, `graph --depth`): itself, or its
    scope `depth` levels down."""
    parts = name.split(".")
    return ".".join(parts[:depth]) if depth and len(parts) > depth else name


def collapse_keys(graph: Graph, depth: int | None) -> dict[str, str]:
    """What each node is shown as at `depth` (`summary --depth`, `graph --depth`). Depth counts below
    wrappers: a scope alone on its level that holds most of the nodes (torchvision's DenseNet keeps
    all but its classifier in `features`; a `--scope` subgraph sits in its scope's parents) is opened
    rather than drawn as one node that holds nearly everything."""
    if depth is None:
        return {name: name for name in graph.nodes}
    levels = depth + _wrapper_levels(graph)  # inputs stay themselves: a subgraph's sit in other blocks
    return {k: k if n.op == "input" else collapse_key(k, levels) for k, n in graph.nodes.items()}


def _wrapper_levels(graph: Graph) -> int:
    parts = [n.name.split(".") for n in graph.nodes.values() if n.op != "input"]
    level = 0
    while True:
        inside = [p for p in parts if len(p) > level + 1]
        if len({p[level] for p in inside}) != 1 or 2 * len(inside) <= len(parts):
            return level
        parts, level = inside, level + 1
