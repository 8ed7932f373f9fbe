"""drop_train_only: train-only outputs and the nodes only they need go; the eval outputs are
computed exactly as before (onnxruntime, before and after, bit for bit: the same nodes compute them)."""

from __future__ import annotations

import numpy as np
from onnx_cases import realistic
from pass_cases import outputs, sample

import archspec
from archspec.passes.drop_train_only import drop_train_only

# an aux head on the stem, and a second train-only head that shares the aux head's first node
SPEC = """
archspec: 1
name: heads
input: {name: x, shape: [3, 16, 16]}
output: logits
layers:
  - conv: {out: 8, kernel: 3, pad: 1, name: stem}
  - relu: {name: act}
  - global_avgpool
  - flatten
  - linear: {out: 10, name: fc}
outputs:
  - {name: aux1, from: stem, train_only: true, layers: [avgpool: {kernel: 4, name: pool}, flatten,
                                                        linear: {out: 3, name: fc}]}
  - {name: aux2, from: aux1.pool, train_only: true, layers: [global_avgpool, flatten]}
  - {name: features, from: act, layers: [global_avgpool, flatten]}
"""

PLAIN = """
archspec: 1
name: plain
input: {name: x, shape: [3, 8, 8]}
layers: [conv: {out: 4, kernel: 3}, relu, flatten]
"""


def test_drops_the_heads_and_keeps_the_eval_outputs_exact():
    model = archspec.loads(SPEC)
    g, w = model.graph, realistic(model)
    r = drop_train_only(g, w)
    assert r.changed and r.note == "dropped 5 nodes and train-only aux1, aux2"
    assert [o.name for o in r.graph.outputs] == ["logits", "features"]
    assert set(g.nodes) - set(r.graph.nodes) == {"aux1.pool", "aux1.1", "aux1.fc", "aux2.0", "aux2.1"}
    assert set(w) - set(r.weights) == {"aux1.fc.weight", "aux1.fc.bias"}
    assert not r.graph.lint()
    assert len(g.nodes) == 13 and len(g.outputs) == 4  # its input is left as it was
    x = sample(g)
    before, after = outputs(g, w, x), outputs(r.graph, r.weights, x)
    assert set(before) == {"logits", "aux1", "aux2", "features"} and set(after) == {"logits", "features"}
    for name, y in after.items():
        assert np.array_equal(y, before[name]), name


def test_nothing_to_do_without_train_only_outputs():
    model = archspec.loads(PLAIN)
    w = realistic(model)
    r = drop_train_only(model.graph, w)
    assert not r.changed and r.graph is model.graph and r.weights is w and r.note == "nothing to do"
