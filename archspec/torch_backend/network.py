"""Network: the GraphModule a spec compiles to, with train-only outputs.

`graph`/`code` are the train graph: every node, returning {name: tensor} when there are several
outputs. When some outputs are train-only (GoogLeNet's aux heads), recompile also generates an
eval forward without them (`eval_code`), and `forward` picks one by `self.training`. The names of
the train-only outputs ride on the output node's meta, which fx copies with the graph (deepcopy,
recompile), so this class needs no state of its own.
"""

from __future__ import annotations

import copy
from typing import Any

from torch import fx
from torch.fx.graph_module import _forward_from_src

TRAIN_ONLY = "archspec_train_only"  # output-node meta: names of the train-only outputs
OUTPUTS = "archspec_outputs"  # output-node meta: every output's name, the main one first


class Network(fx.GraphModule):
    eval_code: str | None = None  # the eval forward's source, when it differs from `code`

    def recompile(self) -> Any:
        code = super().recompile()  # installs the train forward as type(self).forward
        cls = type(self)  # fx makes one class per instance, so these are per instance
        eval_graph = eval_graph_of(self.graph)
        if eval_graph is None:
            cls.eval_code = None
            return code
        py = eval_graph.python_code(root_module="self")
        cls.eval_code = py.src
        setattr(cls, "_train_forward", cls.forward)  # noqa: B010 - set on a class fx made at run time
        setattr(cls, "_eval_forward", _forward_from_src(py.src, py.globals))  # noqa: B010
        cls.forward = Network._switch
        return code

    def _switch(self, *args: Any, **kwargs: Any) -> Any:
        forward = getattr(self, "_train_forward" if self.training else "_eval_forward")
        return forward(*args, **kwargs)

    @property
    def train_only_outputs(self) -> list[str]:
        return list(_output(self.graph).meta.get(TRAIN_ONLY, []))

    @property
    def output_names(self) -> list[str]:
        return list(_output(self.graph).meta.get(OUTPUTS, ["output"]))

    def all_outputs(self, *args: Any) -> dict[str, Any]:
        """Every output by name, train-only ones included, computed in the current mode (in eval:
        BN running statistics, no dropout, as the ONNX train-mode graph computes them)."""
        out = getattr(type(self), "_train_forward", type(self).forward)(self, *args)
        return out if isinstance(out, dict) else {self.output_names[0]: out}

    def __reduce__(self) -> tuple[Any, ...]:
        # GraphModule pickles its code and re-traces it into a plain GraphModule: make it a Network
        # again, with the train-only names that tracing cannot see.
        fn, args = super().__reduce__()
        meta = {k: v for k, v in _output(self.graph).meta.items() if k in (TRAIN_ONLY, OUTPUTS)}
        return (_unpickle, (fn, args, meta, type(self).__name__))


def _unpickle(fn: Any, args: tuple[Any, ...], meta: dict[str, Any], class_name: str) -> Network:
    gm = fn(*args)
    _output(gm.graph).meta.update(meta)
    return Network(gm, gm.graph, class_name)


def eval_graph_of(graph: fx.Graph) -> fx.Graph | None:
    """A copy of `graph` without its train-only outputs and the nodes only they use; None when
    it has none."""
    out = _output(graph)
    drop = set(out.meta.get(TRAIN_ONLY, ()))
    if not drop or not isinstance(out.args[0], dict):
        return None
    g = copy.deepcopy(graph)
    old = _output(g)
    outputs: dict[str, Any] = old.args[0]  # type: ignore[assignment]  # a dict, checked above
    keep = {k: v for k, v in outputs.items() if k not in drop}
    with g.inserting_after(old):
        g.output(next(iter(keep.values())) if len(keep) == 1 else keep)
    g.erase_node(old)
    _drop_unused(g)
    return g


def _output(graph: fx.Graph) -> fx.Node:
    out: fx.Node = next(n for n in reversed(graph.nodes) if n.op == "output")  # fx's node kind, not an op
    return out


def _drop_unused(g: fx.Graph) -> None:
    """Dead-code elimination that keeps placeholders (fx's own asks the owning module about
    purity, and this graph has none)."""
    for n in reversed(list(g.nodes)):
        if n.op not in ("output", "placeholder") and not n.users:
            g.erase_node(n)
