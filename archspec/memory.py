"""Activation memory, estimated from the IR alone (no torch): the memory lines of `archspec summary`.

Convention (docs/summary.md): float32 values at a given batch; the input batch, the weights, their
gradients and optimizer state are not counted (the summary states the weights apart, as torchinfo
does the input and params sizes). A tensor is freed after its last reader; an op with an in-place
lowering (ReLU, the residual add) writes into an input nothing else reads, as the torch backend does.

- forward: the peak of the live tensors of an inference forward (the eval graph).
- forward+backward: the peak of a training step (the train graph): every tensor autograd keeps for
  backward (`Op.saved`) lives from forward until the backward of the first op that keeps it; in
  backward, the gradients in flight and the weight gradient of the op being differentiated are added.

torch on the CPU lands within a few % of these (tests/test_summary.py measures ResNet-50's peak).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from archspec.ir import Graph, Node
from archspec.ops.base import Op

BYTES = 4  # float32


@dataclass(frozen=True)
class Memory:
    """Activation bytes at `batch`; per node, its output and what training keeps of it for backward
    (its output if some op keeps it, plus tensors of its own), so `saved` sums over nodes."""

    batch: int
    input: int
    forward: int
    forward_backward: int
    output: dict[str, int]
    saved: dict[str, int]


def estimate(graph: Graph, batch: int = 1) -> Memory:
    nodes = list(graph.nodes.values())
    size = {n.name: batch * math.prod(n.shape) * BYTES for n in nodes}
    store = _storage(graph)
    keep, own, owner = _kept(graph, size, store)
    saved = {n.name: own.get(n.name, 0) for n in nodes}
    for s in keep:
        saved[owner[s]] += size[s]
    inputs = [n for n in nodes if n.impl.graph_input]
    return Memory(batch, sum(size[n.name] for n in inputs), _forward(graph, graph.eval_nodes(), size, store, {}),
                  _training(graph, nodes, size, store, keep, own),
                  {n.name: size[n.name] for n in nodes if not n.impl.graph_input},
                  {k: v for k, v in saved.items() if not graph.nodes[k].impl.graph_input})


def _storage(graph: Graph) -> dict[str, str]:
    """Each tensor's storage: its own, or, for an in-place op, that of the input it overwrites. The
    torch backend's rule (torch_backend.build._in_place): the input's producer is no input or output,
    has no other reader and no backward that reads its output."""
    users = Counter(i for n in graph.nodes.values() for i in n.inputs)
    outputs = {o.node for o in graph.outputs}
    store: dict[str, str] = {}
    for n in graph.nodes.values():
        store[n.name] = n.name
        src = graph.nodes[n.inputs[-1]] if n.inputs else None
        if (src is not None and _has_inplace(n) and not src.impl.graph_input and users[src.name] == 1
                and src.name not in outputs and not src.impl.backward_reads_output):
            store[n.name] = store[src.name]
    return store


def _has_inplace(n: Node) -> bool:
    # asked without calling torch_inplace, which imports torch; an add of three is folded in order
    return not n.impl.graph_input and type(n.impl).torch_inplace is not Op.torch_inplace and len(n.inputs) <= 2


def _kept(graph: Graph, size: dict[str, int],
          store: dict[str, str]) -> tuple[dict[str, int], dict[str, int], dict[str, str]]:
    """Storages kept for backward, each with the index of the first op keeping it (its backward runs
    last and frees it); the bytes of each op's own kept tensors; and the tensor each kept storage
    holds when kept (an in-place ReLU's, not the BN's it overwrote). The outputs are kept for the
    loss (which keeps their log-softmax)."""
    keep: dict[str, int] = {}
    own: dict[str, int] = {}
    owner: dict[str, str] = {}
    for i, n in enumerate(graph.nodes.values()):
        if n.impl.graph_input:
            continue
        s = n.impl.saved(n.params, n.shape)
        held = ([x for x in n.inputs if not graph.nodes[x].impl.graph_input] if s.input else []) + (
            [n.name] if s.output else [])
        for t in held:
            keep.setdefault(store[t], i)
            owner.setdefault(store[t], t)
        if s.own:
            own[n.name] = round(size[n.name] // BYTES * s.own)
    for o in graph.outputs:
        keep.setdefault(store[o.node], len(graph.nodes))
        owner.setdefault(store[o.node], o.node)
    return keep, own, owner


def _forward(graph: Graph, nodes: list[Node], size: dict[str, int], store: dict[str, str],
             keep: dict[str, int]) -> int:
    """Peak bytes while `nodes` run in order; kept storages are never freed, the rest after their
    last reader (the graph's outputs are read at the end). Scratch inside an op is not counted."""
    last: dict[str, int] = {}
    for i, n in enumerate(nodes):
        for x in n.inputs:
            last[store[x]] = i
    for o in graph.outputs:
        last[store[o.node]] = len(nodes)
    live: dict[str, int] = {}
    peak = 0
    for i, n in enumerate(nodes):
        if n.impl.graph_input:
            continue
        s = store[n.name]
        live[s] = size[n.name] if s == n.name else live.get(s, size[n.name])
        peak = max(peak, sum(live.values()))
        for x in {store[x] for x in n.inputs} | {s}:
            if last.get(x, i) <= i and x not in keep:
                live.pop(x, None)
    return peak


def _training(graph: Graph, nodes: list[Node], size: dict[str, int], store: dict[str, str],
              keep: dict[str, int], own: dict[str, int]) -> int:
    """Peak bytes of a training step: its forward (kept tensors stay), then backward in reverse order,
    where an op allocates its inputs' gradients (one per tensor, summed into) and its weights'."""
    peak = _forward(graph, nodes, size, store, keep) + sum(own.values())
    held = sum(size[s] for s in keep) + sum(own.values())
    release: Counter[int] = Counter()
    for s, i in keep.items():
        release[i] += size[s]
    held -= release[len(nodes)]  # the loss has read the outputs
    grads = {o.node: size[o.node] for o in graph.outputs}
    for i in range(len(nodes) - 1, -1, -1):
        n = nodes[i]
        if n.impl.graph_input or n.name not in grads:
            continue
        new = {x: size[x] for x in n.inputs if not graph.nodes[x].impl.graph_input and x not in grads}
        weight_grad = 0 if n.frozen else n.params_count * BYTES
        peak = max(peak, held + sum(grads.values()) + sum(new.values()) + weight_grad)
        grads |= new
        del grads[n.name]
        held -= release[i] + own.get(n.name, 0)
    return peak
