"""drop_noops: every node that returns its input unchanged (its op's `noop` with these params and
input shapes) goes, its readers and outputs read its input; onnxruntime's outputs are bit-identical."""

from __future__ import annotations

import numpy as np
from onnx_cases import realistic
from pass_cases import outputs, sample

import archspec
from archspec.passes.drop_noops import drop_noops
from archspec.weights import init_weights

SPEC = """
archspec: 1
name: noops
input: {name: x, shape: [4, 6, 6]}
output: y
graph:
  - {name: one, scale: 1.0, from: x}                   # goes: a scale by 1
  - {name: c1, conv: {out: 4, kernel: 3, pad: 1}, from: one}
  - {name: same, adaptive_avgpool: 6, from: c1}         # goes: 6x6 of a 6x6 map
  - {name: pad, channel_pad: {out: 4}, from: same}      # goes: as many channels, no stride
  - {name: id, identity: {}, from: pad}                 # goes
  - {name: half, scale: 0.5, from: id}                  # kept
  - {name: grid, adaptive_avgpool: 3, from: half}       # kept: 3x3 of a 6x6 map
  - {name: wide, channel_pad: {out: 6}, from: grid}     # kept: two more channels
  - {name: sub, channel_pad: {out: 6, stride: 2}, from: wide}   # kept: strided
  - {name: y, identity: {}, from: sub}                  # goes: the output reads sub
outputs:
  - {name: mid, from: id}
"""

PLAIN = """
archspec: 1
name: plain
input: {name: x, shape: [3, 8, 8]}
layers: [conv: {out: 4, kernel: 3}, relu, scale: 0.5, adaptive_avgpool: 2, flatten]
"""


def test_drops_every_noop_and_keeps_the_outputs_exact():
    model = archspec.loads(SPEC)
    g, w = model.graph, realistic(model)
    r = drop_noops(g, w)
    assert r.changed and not r.graph.lint()
    assert r.note == "removed 1 scale, 1 adaptive_avgpool, 1 channel_pad, 2 identity"
    assert [n for n in r.graph.nodes] == ["x", "c1", "half", "grid", "wide", "sub"]
    assert r.graph.nodes["c1"].inputs == ["x"] and r.graph.nodes["half"].inputs == ["c1"]
    assert [(o.name, o.node) for o in r.graph.outputs] == [("y", "sub"), ("mid", "c1")]
    assert r.weights is w  # no-ops own no weights
    x = sample(g)
    before, after = outputs(g, w, x), outputs(r.graph, r.weights, x)
    assert before.keys() == after.keys() == {"y", "mid"}
    for name, y in after.items():
        np.testing.assert_array_equal(y, before[name], err_msg=name)


def test_nothing_to_drop():
    model = archspec.loads(PLAIN)
    w = init_weights(model.graph)
    r = drop_noops(model.graph, w)
    assert not r.changed and r.graph is model.graph and r.weights is w and r.note == "nothing to do"
