"""remove_dropout: every `inference_identity` op (dropout) goes, its readers and outputs read its
input; onnxruntime (which runs Dropout as the identity at inference) gives bit-identical outputs."""

from __future__ import annotations

import numpy as np
from onnx_cases import realistic
from pass_cases import outputs, sample

import archspec
from archspec.ops.base import REGISTRY
from archspec.passes.remove_dropout import remove_dropout

# two dropouts in a row (the second's reader resolves through both), one right after the input,
# and one an output reads
SPEC = """
archspec: 1
name: drops
input: {name: x, shape: [12]}
output: logits
layers:
  - dropout: {p: 0.1, name: d0}
  - linear: {out: 16, name: fc1}
  - relu
  - dropout: {p: 0.5, name: d1}
  - dropout: {p: 0.3, name: d2}
  - linear: {out: 8, name: fc2}
  - tanh
  - dropout: {p: 0.2, name: d3}
outputs:
  - {name: hidden, from: d2}
"""

PLAIN = """
archspec: 1
name: plain
input: {name: x, shape: [12]}
layers: [linear: {out: 4}, relu]
"""


def test_removes_every_dropout_and_keeps_the_outputs_exact():
    model = archspec.loads(SPEC)
    g, w = model.graph, realistic(model)
    r = remove_dropout(g, w)
    assert r.changed and r.note == "removed 4 dropout" and not r.graph.lint()
    assert [n.op for n in r.graph.nodes.values()] == ["input", "linear", "relu", "linear", "tanh"]
    assert r.graph.nodes["fc1"].inputs == ["x"] and r.graph.nodes["fc2"].inputs == ["2"]
    assert [(o.name, o.node) for o in r.graph.outputs] == [("logits", "6"), ("hidden", "2")]
    assert r.weights is w  # dropout owns no weights
    assert g.nodes["fc2"].inputs == ["d2"] and "d0" in g.nodes  # its input is left as it was
    x = sample(g, batch=4)
    before, after = outputs(g, w, x), outputs(r.graph, r.weights, x)
    assert before.keys() == after.keys() == {"logits", "hidden"}
    for name, y in after.items():
        assert np.array_equal(y, before[name]), name


def test_it_asks_the_trait_not_the_name(monkeypatch):
    model = archspec.loads(SPEC)
    monkeypatch.setattr(type(REGISTRY["dropout"]), "inference_identity", False)
    assert not remove_dropout(model.graph, {}).changed
    monkeypatch.setattr(type(REGISTRY["tanh"]), "inference_identity", True)  # any op with the trait goes
    r = remove_dropout(model.graph, {})
    assert r.note == "removed 1 tanh" and r.graph.nodes["d3"].inputs == ["fc2"]


def test_nothing_to_do_without_dropout():
    model = archspec.loads(PLAIN)
    r = remove_dropout(model.graph, {})
    assert not r.changed and r.graph is model.graph and r.note == "nothing to do"
