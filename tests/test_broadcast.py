"""add and mul broadcast as numpy over per-sample shapes of one rank; what cannot broadcast is an
error at the spec line, with add's old hints and a reshape hint for a rank mismatch."""

from __future__ import annotations

import pytest

import archspec
from archspec.errors import SpecError

torch = pytest.importorskip("torch")


def graph(a: str, b: str, op: str) -> str:
    return f"""archspec: 1
name: b
input: {{name: x, shape: [4, 6, 6]}}
graph:
  - {{name: a, {a}, from: x}}
  - {{name: b, {b}, from: x}}
  - {{name: out, {op}: {{}}, from: [a, b]}}
"""


GATE = "adaptive_avgpool: 1"
FLAT = "global_avgpool: {}"


@pytest.mark.parametrize("op", ["add", "mul"])
def test_channel_gate_broadcasts(op: str):
    model = archspec.loads(graph("relu: {}", GATE, op))
    assert model.graph.nodes["out"].shape == (4, 6, 6)
    net = model.to_torch(seed=0).eval()
    x = torch.randn(2, 4, 6, 6, generator=torch.Generator().manual_seed(0))
    gate = x.mean((2, 3), keepdim=True)
    want = x.relu() + gate if op == "add" else x.relu() * gate
    assert torch.allclose(net(x), want, atol=1e-6)


def test_mul_of_different_ranks_says_reshape():
    spec = graph("relu: {}", FLAT, "mul").replace("global_avgpool: {}, from: x", "flatten: {}, from: c") \
        .replace("  - {name: b,", "  - {name: c, global_avgpool: {}, from: x}\n  - {name: b,")
    with pytest.raises(SpecError, match=r"cannot multiply \[N,4,6,6\] and \[N,4\]") as e:
        archspec.loads(spec)
    assert "reshape the [N,4] side to [N,4,1,1]" in str(e.value)


def test_add_keeps_its_channel_hint():
    spec = graph("relu: {}", "conv: {out: 3, kernel: 1}", "add")
    with pytest.raises(SpecError, match=r"cannot add \[N,4,6,6\] and \[N,3,6,6\]") as e:
        archspec.loads(spec)
    assert "the channels differ (4 vs 3): project one side with a 1x1 conv" in str(e.value)
