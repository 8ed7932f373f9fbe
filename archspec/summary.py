"""The per-layer table behind `archspec summary`, with blocks collapsed to a depth."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from archspec.ir import collapse_keys
from archspec.memory import estimate
from archspec.ops.base import Shape, fmt

if TYPE_CHECKING:
    from archspec.ir import Graph, Node

CONVENTION = ("params: trainable weights incl. BN gamma/beta (BN running stats are buffers); "
              "MACs: conv, linear and attention matmul multiply-adds, batch 1, eval graph")
MEMORY_CONVENTION = "act: a row's output; saved: what training keeps of it for backward (docs/summary.md)"


@dataclass
class Row:
    path: str
    op: str
    shape: list[int | None]  # [null, C, H, W]: the batch is symbolic
    params: int
    macs: int
    act: int  # bytes of the row's output at the batch, float32
    saved: int  # bytes training keeps for backward of the row's outputs and own tensors
    train_only: bool = False


@dataclass
class Table:
    name: str
    input: dict[str, Any]  # {"name": "image", "shape": [null, 3, 224, 224]}
    rows: list[Row]
    totals: dict[str, int]
    train_totals: dict[str, int]
    train_outputs: list[str]
    memory: dict[str, int]  # batch, and bytes: input, forward, forward_backward

    @classmethod
    def of(cls, g: Graph, depth: int | None = None, batch: int = 1) -> Table:
        mem = estimate(g, batch)
        keys = collapse_keys(g, depth)
        rows: dict[str, Row] = {}
        for n in g.nodes.values():
            if n.impl.graph_input:
                continue
            key, act, saved = keys[n.name], mem.output[n.name], mem.saved[n.name]
            row = rows.get(key)
            if row is None:
                kind = g.scopes.get(key, n.op) if key != n.name else _op_label(n)
                rows[key] = Row(key, kind, _dims(n.shape), n.params_count, n.macs, act, saved, n.train_only)
            else:
                row.shape, row.act = _dims(n.shape), act
                row.params, row.macs, row.saved = row.params + n.params_count, row.macs + n.macs, row.saved + saved
        memory = {"batch": batch, "input": mem.input, "forward": mem.forward, "forward_backward": mem.forward_backward}
        return cls(g.name, {"name": g.input, "shape": _dims(g.nodes[g.input].shape)}, list(rows.values()),
                   g.totals(), g.totals(train=True), [o.name for o in g.outputs if o.train_only], memory)

    def render(self) -> str:
        heads = ("path", "op", "output", "params", "MACs", "act", "saved")
        body = [(r.path + (" *" if r.train_only else ""), r.op, _shape(r.shape), f"{r.params:,}", f"{r.macs:,}",
                 _bytes(r.act), _bytes(r.saved)) for r in self.rows]
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(heads)]

        def line(cells: Sequence[str]) -> str:
            cols = (c.rjust(w) if i >= 3 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
            return "  ".join(cols).rstrip()

        rule = line(["-" * w for w in widths])
        out = [f"{self.name}: input {self.input['name']} {_shape(self.input['shape'])}", line(heads), rule]
        out += [line(b) for b in body]
        t, m = self.totals, self.memory
        out += [
            line(["-" * w for w in widths]),
            f"params:           {t['params']:,} (trainable {t['trainable_params']:,})",
            f"buffers:          {t['buffers']:,}",
            f"MACs:             {t['macs']:,} ({t['macs'] / 1e9:.3f} G)",
            f"weight size:      {t['params'] * 4 / 2**20:.1f} MiB (float32)",
            f"activations:      {_mib(m['forward'])} forward, {_mib(m['forward_backward'])} forward+backward "
            f"(batch {m['batch']}, float32; input {_mib(m['input'])}, weights and grads apart)",
        ]
        if self.train_outputs:
            extra = self.train_totals["params"] - t["params"]
            out.append(f"train graph:      {self.train_totals['params']:,} params "
                       f"(+{extra:,} in train-only {', '.join(self.train_outputs)}, rows marked *)")
        out.append(f"convention:       {CONVENTION}")
        out.append(f"                  {MEMORY_CONVENTION}")
        return "\n".join(out)

    def to_json(self) -> str:
        """Indented JSON with each shape on one line."""
        text = json.dumps(asdict(self), indent=1)
        return re.sub(r"\[\s*((?:null|\d+)(?:,\s*(?:null|\d+))*)\s*\]",
                      lambda m: "[" + re.sub(r",\s*", ", ", m[1]) + "]", text)


def _dims(shape: Shape) -> list[int | None]:
    return [None, *shape]


def _shape(dims: list[int | None]) -> str:
    return fmt(tuple(d for d in dims[1:] if d is not None))


def _bytes(n: int) -> str:
    """Binary units, three digits at most: 784K, 3.1M, 12M."""
    for scale, unit in ((2**30, "G"), (2**20, "M"), (2**10, "K")):
        if n >= scale:
            v = n / scale
            return f"{v:.1f}{unit}" if v < 10 else f"{v:.0f}{unit}"
    return f"{n}B" if n else "0"


def _mib(n: int) -> str:
    for scale, unit in ((2**30, "GiB"), (2**20, "MiB")):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n / 2**10:.1f} KiB"


def _op_label(node: Node) -> str:
    detail = node.impl.summary_at(node.params, node.shape)
    return f"{node.op} {detail}" if detail else node.op
