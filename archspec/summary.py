"""The per-layer table behind `archspec summary`, with blocks collapsed to a depth."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from archspec.ir import collapse_key
from archspec.ops.base import fmt

if TYPE_CHECKING:
    from archspec.model import Model

CONVENTION = ("params: trainable weights incl. BN gamma/beta (BN running stats are buffers); "
              "MACs: conv + linear multiply-adds, batch 1, eval graph")


@dataclass
class Row:
    path: str
    op: str
    shape: str
    params: int
    macs: int
    train_only: bool = False


@dataclass
class Table:
    name: str
    input: str
    rows: list[Row]
    totals: dict[str, int]
    train_totals: dict[str, int]
    train_outputs: list[str]

    @classmethod
    def of(cls, model: Model, depth: int | None = None) -> Table:
        g = model.graph
        rows: dict[str, Row] = {}
        for n in g.nodes.values():
            if n.impl.graph_input:
                continue
            key = collapse_key(n.name, depth)
            row = rows.get(key)
            if row is None:
                kind = g.scopes.get(key, n.op) if key != n.name else _op_label(n)
                rows[key] = Row(key, kind, fmt(n.shape), n.params_count, n.macs, n.train_only)
            else:
                row.shape, row.params, row.macs = fmt(n.shape), row.params + n.params_count, row.macs + n.macs
        return cls(g.name, f"{g.input} {fmt(model.input_shape)}", list(rows.values()),
                   g.totals(), g.totals(train=True), [o.name for o in g.outputs if o.train_only])

    def render(self) -> str:
        heads = ("path", "op", "output", "params", "MACs")
        body = [(r.path + (" *" if r.train_only else ""), r.op, r.shape, f"{r.params:,}", f"{r.macs:,}")
                for r in self.rows]
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(heads)]
        line = lambda cells: "  ".join(  # noqa: E731
            c.rjust(w) if i >= 3 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
        out = [f"{self.name}: input {self.input}", line(heads), line(["-" * w for w in widths])]
        out += [line(b) for b in body]
        t = self.totals
        out += [
            line(["-" * w for w in widths]),
            f"params:           {t['params']:,} (trainable {t['trainable_params']:,})",
            f"buffers:          {t['buffers']:,}",
            f"MACs:             {t['macs']:,} ({t['macs'] / 1e9:.3f} G)",
            f"weight size:      {t['params'] * 4 / 2**20:.1f} MiB (float32)",
        ]
        if self.train_outputs:
            extra = self.train_totals["params"] - t["params"]
            out.append(f"train graph:      {self.train_totals['params']:,} params "
                       f"(+{extra:,} in train-only {', '.join(self.train_outputs)}, rows marked *)")
        out.append(f"convention:       {CONVENTION}")
        return "\n".join(out)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)


def _op_label(node) -> str:
    detail = node.impl.summary(node.params)
    return f"{node.op} {detail}" if detail else node.op
