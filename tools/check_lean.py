"""Whether archspec's deploy graphs leave graph simplifiers anything to remove, built-in by built-in.

    python tools/check_lean.py [NAME ...]

Compiles each built-in (deploy mode, the default options), then runs onnxsim (`onnxsim.simplify`)
and onnxslim (`onnxslim.slim`) on the model and prints the runtime node counts (nodes that read the
input: what onnxruntime runs per inference) before and after, with what each tool took away (by op
type). archspec's deploy passes (drop_noops, fold_bn, fold_scale)
and lowerings are meant to leave nothing: the exit status is 1 when a tool leaves fewer runtime nodes.
tests/test_lean.py runs the same check on every built-in.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import sys
from collections import Counter
from dataclasses import dataclass

import numpy as np
import onnx

import archspec
from archspec.loader import builtin_names


@dataclass(frozen=True)
class Lean:
    name: str
    nodes: int  # runtime nodes (see runtime_ops)
    onnxsim: int
    onnxslim: int
    removed: dict[str, dict[str, int]]  # tool -> op type -> runtime nodes of that type it took away

    @property
    def lean(self) -> bool:
        """Neither tool leaves fewer runtime nodes (onnxsim may trade a MatMul for Reshape-Gemm-Reshape)."""
        return self.onnxsim >= self.nodes and self.onnxslim >= self.nodes


def runtime_ops(model: onnx.ModelProto) -> Counter[str]:
    """Op types of the nodes that read the input. Nodes computed from initializers alone (a linear's
    transposed weight, Swin's bias gathered from its table) are folded by onnxruntime when a session
    starts; archspec keeps them so that every initializer is the state_dict's tensor, by its name."""
    known = {i.name for i in model.graph.initializer}
    ops: Counter[str] = Counter()
    for n in model.graph.node:  # topological order
        if all(not i or i in known for i in n.input):
            known.update(n.output)
        else:
            ops[n.op_type] += 1
    return ops


def nonzero_weights(model: archspec.Model) -> dict[str, np.ndarray]:
    """The built-in's initial weights, its all-zero float tensors drawn at random (std 0.02): an Add
    of nn.MultiheadAttention's zero-initialised biases is one a simplifier drops, as it should, and
    trained weights do not have."""
    from archspec.weights import init_weights

    rng = np.random.default_rng(0)
    return {k: (rng.standard_normal(v.shape) * 0.02).astype(v.dtype) if v.dtype.kind == "f" and not v.any() else v
            for k, v in init_weights(model.graph).items()}


def check(name: str) -> Lean:
    import onnxsim
    import onnxslim

    spec = archspec.load(name)
    model = spec.to_onnx(weights=nonzero_weights(spec))
    ops = runtime_ops(model)
    with contextlib.redirect_stdout(io.StringIO()):  # onnxslim prints its own table
        simplified, _ = onnxsim.simplify(_copy(model))
        slimmed = onnxslim.slim(_copy(model))
    after = {tool: runtime_ops(m) for tool, m in (("onnxsim", simplified), ("onnxslim", slimmed))}
    return Lean(name, sum(ops.values()), sum(after["onnxsim"].values()), sum(after["onnxslim"].values()),
                {tool: dict(ops - c) for tool, c in after.items() if ops - c})


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    return m


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="built-ins to check (default: all)")
    ap.add_argument("--json", action="store_true", help="print one JSON list of the results instead")
    args = ap.parse_args()
    names = args.names or builtin_names()
    if args.json:
        print(json.dumps([dataclasses.asdict(check(name)) for name in names]))
        return 0
    print(f"{'built-in':<24}{'nodes':>7}{'onnxsim':>9}{'onnxslim':>10}  removed")
    results = []
    for name in names:
        r = check(name)
        results.append(r)
        gone = "; ".join(f"{tool}: {dict(ops)}" for tool, ops in r.removed.items()) or "-"
        print(f"{name:<24}{r.nodes:>7}{r.onnxsim:>9}{r.onnxslim:>10}  {gone}", flush=True)
    bad = [r.name for r in results if not r.lean]
    print(f"{len(results) - len(bad)} of {len(results)} lean" + (f"; not: {', '.join(bad)}" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
