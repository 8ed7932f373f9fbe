"""The memory a command will need, checked against LIMITS before anything is allocated, so a
spec with a conv too large for the machine is an error, not an out-of-memory kill.

The estimate, in bytes of float32 (float16 halves it):
- weights: every parameter and buffer of the graph;
- inference: the largest set of values alive at once when nodes run in graph order and each value
  is freed after its last reader (what onnxruntime's and torch's planners approach), at `batch`;
- training: every node's output kept for backward, plus gradients, at `batch`; weights four times
  (values, gradients, two optimiser moments).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from archspec.errors import LimitError
from archspec.limits import LIMITS

if TYPE_CHECKING:
    from archspec.ir import Graph


def weight_bytes(graph: Graph, itemsize: int = 4) -> int:
    return itemsize * sum(n.params_count + n.buffers_count for n in graph.nodes.values())


def peak_activations(graph: Graph) -> int:
    """Values (per sample) alive at the worst point of an in-order run with eager freeing."""
    last_use = {}
    for i, n in enumerate(graph.nodes.values()):
        for x in n.inputs:
            last_use[x] = i
    for o in graph.outputs:
        last_use[o.node] = len(graph.nodes)
    alive, peak = 0, 0
    size = {name: math.prod(n.shape) for name, n in graph.nodes.items()}
    for i, n in enumerate(graph.nodes.values()):
        alive += size[n.name]
        peak = max(peak, alive)
        for x in set(n.inputs):
            if last_use.get(x) == i:
                alive -= size[x]
        if n.name not in last_use:  # read by nothing: freed at once
            alive -= size[n.name]
    return peak


def need(graph: Graph, batch: int, train: bool = False, itemsize: int = 4) -> int:
    """Bytes a run of `graph` at `batch` needs, by the estimate above."""
    if train:
        acts = 2 * sum(math.prod(n.shape) for n in graph.nodes.values())
        return 4 * weight_bytes(graph, itemsize) + batch * acts * itemsize
    return weight_bytes(graph, itemsize) + batch * peak_activations(graph) * itemsize


def check(graph: Graph, what: str, batch: int = 1, train: bool = False, itemsize: int = 4,
          copies: int = 1) -> None:
    """LimitError when `copies` runs of `graph` at `batch` (e.g. torch and onnxruntime side by side)
    would need more than the memory budget; batch 0: the weights alone (a compile)."""
    total = copies * need(graph, batch, train, itemsize)
    budget = LIMITS.memory_bytes()
    if total > budget:
        at = f" at batch {batch}" if batch else ""
        of = f"{LIMITS.memory_mib:,} MiB" if LIMITS.memory_mib else "80% of this machine's memory"
        raise LimitError(f"{what} '{graph.name}'{at} needs about {_gib(total)} of memory, more than the budget "
                         f"of {_gib(budget)} ({of})", "memory_mib", show_value=False)


def _gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB"
