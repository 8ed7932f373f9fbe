"""On every built-in, onnxsim and onnxslim find nothing to remove from archspec's deploy graph:
node counts before and after are equal (tools/check_lean.py prints the table)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from archspec.loader import builtin_names

pytest.importorskip("onnxsim")
pytest.importorskip("onnxslim")
TOOL = Path(__file__).resolve().parents[1] / "tools" / "check_lean.py"


def _tool():
    spec = importlib.util.spec_from_file_location("check_lean", TOOL)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["check_lean"] = mod  # its dataclass looks its module up
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
@pytest.mark.parametrize("name", builtin_names())
def test_simplifiers_find_nothing_to_remove(name: str):
    r = _tool().check(name)
    assert r.removed == {} and r.nodes == r.onnxsim == r.onnxslim, r


def test_inception_resnet_v2_scales_are_folded():
    """What onnxsim found before fold_scale and drop_noops: 40 residual scales, one of them by 1."""
    import archspec

    model = archspec.load("inception_resnet_v2")
    ops = [n.impl.factor(n) for n in model.graph.nodes.values()]
    assert sum(f is not None for f in ops) == 40 and ops.count(1.0) == 1
    compiled = model.to_onnx()
    assert not [n for n in compiled.graph.node if n.op_type == "Mul"]
