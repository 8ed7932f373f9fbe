"""TEMPORARY stand-in for Model.to_torch() until the torch branch is merged (then delete this file).

Interprets the IR with a few ops: enough for LeNet-5 and CIFAR ResNets.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from archspec.ir import Graph, Node
from archspec.ops.base import pads, pair


def _leaf(n: Node, graph: Graph) -> nn.Module | None:
    p, ins = n.params, [graph.nodes[i].shape for i in n.inputs]
    if n.op == "conv":
        t, left, _, _ = pads(p.pad)
        return nn.Conv2d(ins[0][0], p.out, pair(p.kernel), pair(p.stride), (t, left), pair(p.dilation),
                         p.groups, p.bias)
    if n.op == "linear":
        return nn.Linear(ins[0][0], p.out, p.bias)
    if n.op == "bn":
        return nn.BatchNorm2d(ins[0][0], p.eps, p.momentum, p.affine)
    return None


class Interim(nn.Module):
    def __init__(self, graph: Graph):
        super().__init__()
        self.graph = graph
        self._leaves: dict[str, nn.Module] = {}
        for n in graph.nodes.values():
            m = _leaf(n, graph) if n.op != "input" else None
            if m is not None:
                parent = self
                *scopes, last = n.name.split(".")
                for s in scopes:
                    if not hasattr(parent, s):
                        parent.add_module(s, nn.Module())
                    parent = getattr(parent, s)
                parent.add_module(last, m)
                self._leaves[n.name] = m

    def forward(self, x: torch.Tensor):
        vals = {self.graph.input: x}
        for n in list(self.graph.nodes.values())[1:]:
            if n.train_only and not self.training:
                continue
            a = [vals[i] for i in n.inputs]
            vals[n.name] = self._run(n, a)
        outs = {o.name: vals[o.node] for o in self.graph.outputs if self.training or not o.train_only}
        return outs if len(outs) > 1 else next(iter(outs.values()))

    def _run(self, n: Node, a: list[torch.Tensor]) -> torch.Tensor:
        p = n.params
        if n.name in self._leaves:
            return self._leaves[n.name](a[0])
        if n.op == "relu":
            return F.relu(a[0])
        if n.op == "maxpool":
            return F.max_pool2d(a[0], pair(p.kernel), p.strides(), pads(p.pad)[:2], ceil_mode=p.ceil_mode)
        if n.op == "flatten":
            return a[0].flatten(1)
        if n.op == "global_avgpool":
            return a[0].mean((2, 3), keepdim=True)
        if n.op == "add":
            return sum(a[1:], a[0])
        if n.op == "channel_pad":
            x = a[0][:, :, ::p.stride, ::p.stride]
            extra = p.out - x.shape[1]
            return F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))
        if n.op in ("identity", "dropout"):
            return F.dropout(a[0], p.p, self.training) if n.op == "dropout" else a[0]
        raise NotImplementedError(f"interim torch builder: op {n.op}")
