"""On every built-in the ONNX tests compile (tests/onnx_cases.py), onnxsim and onnxslim find
nothing to remove from archspec's deploy graph: it runs no fewer nodes after them
(tools/check_lean.py prints the table; nodes computed from initializers alone, which onnxruntime
folds at session start, are not counted)."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from onnx_cases import specs
from procs import env

pytest.importorskip("onnxsim")
pytest.importorskip("onnxslim")
TOOL = Path(__file__).resolve().parents[1] / "tools" / "check_lean.py"


@cache
def lean() -> dict[str, dict]:
    """tools/check_lean.py's results over the built-ins the ONNX tests compile, from one process of
    its own: onnxsim's and onnxslim's native code stays out of the test process."""
    done = subprocess.run([sys.executable, str(TOOL), "--json", *specs()], env=env(threads=2),
                          capture_output=True, text=True, timeout=3600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return {r["name"]: r for r in json.loads(done.stdout.splitlines()[-1])}


@pytest.mark.slow
@pytest.mark.parametrize("name", specs())
def test_simplifiers_find_nothing_to_remove(name: str):
    r = lean()[name]
    assert r["onnxsim"] >= r["nodes"] and r["onnxslim"] >= r["nodes"], r  # runtime nodes: none fewer


def test_inception_resnet_v2_scales_are_folded():
    """What onnxsim found before fold_scale and drop_noops: 40 residual scales, one of them by 1."""
    import archspec

    model = archspec.load("inception_resnet_v2")
    ops = [n.impl.factor(n) for n in model.graph.nodes.values()]
    assert sum(f is not None for f in ops) == 40 and ops.count(1.0) == 1
    compiled = model.to_onnx()
    assert not [n for n in compiled.graph.node if n.op_type == "Mul"]
