"""The memory a command will need, checked against LIMITS before anything is allocated, so a
spec with a conv too large for the machine is an error, not an out-of-memory kill.

Activations are summary's estimate (archspec/memory.py): the peak of an inference forward, or of a
training step. Weights are every parameter and buffer, in float32 (float16 halves them); a training
run holds them four times (values, gradients, two optimiser moments).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archspec.errors import LimitError
from archspec.limits import LIMITS
from archspec.memory import estimate

if TYPE_CHECKING:
    from archspec.ir import Graph


def weight_bytes(graph: Graph, itemsize: int = 4) -> int:
    return itemsize * sum(n.params_count + n.buffers_count for n in graph.nodes.values())


def need(graph: Graph, batch: int, train: bool = False, itemsize: int = 4) -> int:
    """Bytes a run of `graph` at `batch` needs (batch 0: the weights alone, as a compile)."""
    weights = weight_bytes(graph, itemsize) * (4 if train else 1)
    if batch == 0:
        return weights
    mem = estimate(graph, batch)
    return weights + mem.input + (mem.forward_backward if train else mem.forward) * itemsize // 4


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
