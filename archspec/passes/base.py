"""What a pass is and how passes compose.

A pass is a function `(graph, weights) -> PassResult`, one per file, named for what it does. It
never mutates its inputs, except that a `Deferred` array (drawn for one compile) is handed on, and
may be changed in place, not copied (see archspec/parallel.py). A Pipeline runs passes in order and
lints the graph after each: a graph that fails the lint is a bug of the pass that made it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from archspec.ir import Graph, Node
from archspec.parallel import Array

Weights = dict[str, Array]  # state_dict key -> array


@dataclass(frozen=True)
class PassResult:
    """A pass's graph and weights, whether it changed the graph, and what it did in a few words."""

    graph: Graph
    weights: Weights
    changed: bool
    note: str = "nothing to do"


Pass = Callable[[Graph, Weights], PassResult]


@dataclass(frozen=True)
class Step:
    """One pass of a pipeline run, as `archspec compile -v` reports it."""

    name: str
    changed: bool
    note: str

    def __str__(self) -> str:
        return f"{self.name}: {self.note}"


@dataclass(frozen=True)
class PipelineResult:
    graph: Graph
    weights: Weights
    steps: tuple[Step, ...]

    @property
    def changed(self) -> bool:
        return any(s.changed for s in self.steps)


@dataclass(frozen=True)
class Pipeline:
    passes: tuple[Pass, ...]

    def run(self, graph: Graph, weights: Weights) -> PipelineResult:
        """Each pass in turn on the previous one's graph and weights, the graph linted after each."""
        steps = []
        for p in self.passes:
            r = p(graph, weights)
            problems = r.graph.lint()
            if problems:  # a pass bug, not a user error
                raise AssertionError(f"pass {p.__name__}: IR lint failed: " + "; ".join(problems))
            if not r.changed and r.graph is not graph:
                raise AssertionError(f"pass {p.__name__}: made a new graph but reports no change")
            graph, weights = r.graph, r.weights
            steps.append(Step(p.__name__, r.changed, r.note))
        return PipelineResult(graph, weights, tuple(steps))


def op_nodes(graph: Graph) -> Iterator[Node]:
    """The nodes that apply an op (every node but the graph's input), in graph order."""
    return (n for n in graph.nodes.values() if n.name != graph.input)


def counted(names: list[str]) -> str:
    """`["bn", "bn", "dropout"]` as "2 bn, 1 dropout" (first-seen order)."""
    return ", ".join(f"{n} {name}" for name, n in Counter(names).items())
