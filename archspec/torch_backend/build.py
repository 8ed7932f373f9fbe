"""IR -> torch.fx graph -> Network (a GraphModule).

Each op lowers itself (`Op.torch(node)`): to an nn.Module, placed at the node's IR path so
its state_dict keys are f"{node.name}.{local}", or to a `Call` of a function for ops without
state (relu, add, concat), which keeps the generated code short and readable, or to a `Weighted`
function of one bare parameter placed at the node's path itself (layer_scale).
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Iterator

import torch
from torch import fx, nn

from archspec.ir import Graph, Node
from archspec.lowering import Call, Placeholder, Weighted
from archspec.torch_backend.network import OUTPUTS, TRAIN_ONLY, Network

IR_NODE = "archspec_node"  # fx node meta: the IR node it computes (for a folded add, its last step)


class LoweringError(TypeError):
    """An op has no torch lowering, or returned something that is neither a Module nor a Call."""


def lower(node: Node) -> nn.Module | Call | Weighted | Placeholder:
    try:
        out = node.impl.torch(node)
    except NotImplementedError:
        raise LoweringError(f"{node.name}: op '{node.op}' has no torch lowering (add a `torch` method "
                            f"to its class in archspec/ops)") from None
    if not isinstance(out, nn.Module | Call | Weighted | Placeholder):
        raise LoweringError(f"{node.name}: {type(node.impl).__name__}.torch returned {type(out).__name__}")
    return out


def build(graph: Graph, seed: int | None = None) -> Network:
    """The graph as a Network: modules made in IR order (so under a seed, as a hand-written
    model constructing them in that order would be), code in `schedule` order."""
    with _seeded(seed):
        lowered = {n.name: lower(n) for n in graph.nodes.values()}
    _in_place(graph, lowered)
    modules: dict[str, nn.Module | nn.Parameter] = {k: v for k, v in lowered.items() if isinstance(v, nn.Module)}
    modules |= {k: nn.Parameter(v.value) for k, v in lowered.items() if isinstance(v, Weighted)}
    fxg = fx.Graph()
    env: dict[str, fx.Node] = {}
    for n in schedule(graph):
        env[n.name] = _emit(fxg, n, lowered[n.name], [env[i] for i in n.inputs])
        env[n.name].meta[IR_NODE] = n.name
    out = fxg.output(_outputs(graph, env))
    out.meta[TRAIN_ONLY] = [o.name for o in graph.outputs if o.train_only]
    out.meta[OUTPUTS] = [o.name for o in graph.outputs]
    return Network(modules, fxg, class_name=_ident(graph.name, camel=True))


def _in_place(graph: Graph, lowered: dict[str, nn.Module | Call | Weighted | Placeholder]) -> None:
    """Ops with an in-place lowering (`Op.torch_inplace`: ReLU, the residual add) take it where
    their last input is read by nothing else and its producer's backward does not need it, as
    torchvision's ReLU(inplace=True) and `out += identity` do: one tensor less to allocate and
    write each, about 3% of a ResNet-50 training step on the CPU (tools/bench_torch.py)."""
    users = Counter(i for n in graph.nodes.values() for i in n.inputs)
    outputs = {o.node for o in graph.outputs}
    for n in graph.nodes.values():
        src = graph.nodes[n.inputs[-1]] if n.inputs else None
        if src is None or src.impl.graph_input or users[src.name] != 1 or src.name in outputs \
                or src.impl.backward_reads_output:
            continue
        inplace = n.impl.torch_inplace(n)
        if inplace is not None:
            lowered[n.name] = inplace


def schedule(graph: Graph) -> list[Node]:
    """IR order, with each train-only node moved up to just after its inputs are ready, so a
    train-only head runs where a hand-written model runs it (torchvision's GoogLeNet computes
    aux1 right after inception4a): same order of random draws in dropout."""
    done: set[str] = set()
    order: list[Node] = []
    waiting = [n for n in graph.nodes.values() if n.train_only]

    def place(n: Node) -> None:
        order.append(n)
        done.add(n.name)

    for n in graph.nodes.values():
        if n.train_only:
            continue
        place(n)
        progress = True
        while progress:
            progress = False
            for w in waiting:
                if w.name not in done and all(i in done for i in w.inputs):
                    place(w)
                    progress = True
    order += [w for w in waiting if w.name not in done]  # unreachable in a linted graph
    return order


def _emit(fxg: fx.Graph, n: Node, low: nn.Module | Call | Weighted | Placeholder, ins: list[fx.Node]) -> fx.Node:
    if isinstance(low, Placeholder):
        return fxg.placeholder(_ident(n.name))
    name = _node_name(n)
    if isinstance(low, nn.Module):
        return fxg.create_node("call_module", n.name, tuple(ins), name=name)
    if isinstance(low, Weighted):  # the parameter at the node's path, then the function of it
        param = fxg.create_node("get_attr", n.name, (), name=f"{name}_param")
        return fxg.create_node("call_function", low.fn, (param, *ins), name=name)
    if low.packed:
        return fxg.create_node("call_function", low.fn, (ins, *low.args), dict(low.kwargs), name=name)
    if low.fold and len(ins) > 2:
        acc = ins[0]
        for i, x in enumerate(ins[1:], 1):
            last = i == len(ins) - 1
            acc = fxg.create_node("call_function", low.fn, (acc, x), dict(low.kwargs),
                                  name=name if last else f"{name}_{i}")
        return acc
    return fxg.create_node("call_function", low.fn, (*ins, *low.args), dict(low.kwargs), name=name)


def _outputs(graph: Graph, env: dict[str, fx.Node]) -> fx.Node | dict[str, fx.Node]:
    """One output: the tensor; several: a dict by output name, the main output first."""
    if len(graph.outputs) == 1:
        return env[graph.outputs[0].node]
    return {o.name: env[o.node] for o in graph.outputs}


def _node_name(n: Node) -> str:
    """A readable Python name for an fx node: its IR path, an unnamed node's index suffixed to its op
    (`layer1.0.2` -> `layer1_0_relu2`)."""
    *scope, last = n.name.split(".")
    if last.isdigit():
        last = f"{n.op}{last}"
    return _ident("_".join([*scope, last]))


def _ident(text: str, camel: bool = False) -> str:
    words = [w for w in re.split(r"[^0-9A-Za-z_]+", text) if w]
    out = "".join(w[:1].upper() + w[1:] for w in words) if camel else "_".join(words)
    return out if out and not out[0].isdigit() else f"_{out}"


@contextlib.contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    """Construct under `seed` without disturbing the caller's random state; None: the global RNG."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
