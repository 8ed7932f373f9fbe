"""fold_scale: a constant scale after an `absorbs_norm` op (conv) read by nothing else folds into
the conv's weight and bias, as Inception-ResNet-v2's residual scales (y = relu(x + s * conv(..))).
onnxruntime's outputs before and after agree within 1e-6 of the output's scale (s * W rounded to
float32 once, where the pair rounds s * (W * x + b))."""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np
from onnx_cases import realistic, scale_diff
from pass_cases import outputs, sample

import archspec
from archspec.parallel import Deferred, resolve
from archspec.passes import deploy
from archspec.passes.fold_scale import fold_scale
from archspec.weights import init_weights

SPEC = """
archspec: 1
name: scales
input: {name: x, shape: [4, 8, 8]}
output: y
graph:
  - {name: s0, scale: 2.0, from: x}                      # kept: the input absorbs nothing
  - {name: c1, conv: {out: 4, kernel: 3, pad: 1}, from: s0}
  - {name: s1, scale: 0.17, from: c1}                    # folds, into a conv with bias
  - {name: r1, add: {}, from: [s0, s1]}                  # the residual add reads the conv then
  - {name: c2, conv: {out: 4, kernel: 1, bias: false}, from: r1}
  - {name: s2, scale: -1.5, from: c2}                    # folds, into a conv without bias
  - {name: c3, conv: {out: 4, kernel: 1}, from: s2}
  - {name: s3, scale: 0.1, from: c3}                     # kept: r3 reads c3 too
  - {name: r3, add: {}, from: [c3, s3]}
  - {name: a, relu: {}, from: r3}
  - {name: s4, scale: 0.5, from: a}                      # kept: a relu absorbs nothing
  - {name: c5, conv: {out: 4, kernel: 1}, from: s4}
  - {name: s5, scale: 3.0, from: c5}                     # kept: c5 is an output
  - {name: y, add: {}, from: [s5, s4]}
outputs:
  - {name: mid, from: c5}
"""

PLAIN = """
archspec: 1
name: plain
input: {name: x, shape: [3, 8, 8]}
layers: [conv: {out: 4, kernel: 3}, relu, scale: 0.5, flatten]
"""


def test_folds_a_scale_into_the_conv_that_alone_feeds_it():
    model = archspec.loads(SPEC)
    g, w = model.graph, realistic(model)
    r = fold_scale(g, w)
    assert r.changed and r.note == "folded 2 scale into conv" and not r.graph.lint()
    assert set(g.nodes) - set(r.graph.nodes) == {"s1", "s2"}
    assert r.graph.nodes["r1"].inputs == ["s0", "c1"] and r.graph.nodes["c3"].inputs == ["c2"]
    assert set(r.weights) == set(w)  # the same tensors, c1's and c2's scaled
    np.testing.assert_array_equal(r.weights["c1.weight"], w["c1.weight"] * np.float32(0.17))
    np.testing.assert_array_equal(r.weights["c1.bias"], w["c1.bias"] * np.float32(0.17))
    np.testing.assert_array_equal(r.weights["c2.weight"], w["c2.weight"] * np.float32(-1.5))
    assert "c2.bias" not in r.weights and not r.graph.nodes["c2"].params.bias
    assert all(r.weights[k] is w[k] for k in w if not k.startswith(("c1.", "c2.")))  # the rest shared
    assert "s1" in g.nodes and g.nodes["r1"].inputs == ["s0", "s1"]  # its input is left as it was
    x = sample(g)
    before, after = outputs(g, w, x), outputs(r.graph, r.weights, x)
    assert before.keys() == after.keys() == {"y", "mid"}
    for name, y in after.items():
        assert scale_diff(y, before[name]) < 1e-6, name


def test_drawn_weights_are_scaled_as_they_are_drawn():
    """A compile's own draws (Deferred) are scaled in place as they come; given arrays are copied.
    Both give the same bits."""
    def deferred(a: np.ndarray) -> Deferred:
        done: Future[np.ndarray] = Future()
        done.set_result(a.copy())
        return Deferred(done, a.shape, a.dtype)

    model = archspec.loads(SPEC)
    w = realistic(model)
    lazy = {k: deferred(v) if k.startswith("c") else v for k, v in w.items()}
    r1, r2 = fold_scale(model.graph, w), fold_scale(model.graph, lazy)
    assert isinstance(r2.weights["c1.weight"], Deferred) and isinstance(r2.weights["c1.bias"], Deferred)
    for k, v in r1.weights.items():
        assert np.array_equal(resolve(r2.weights[k]), v), k


def test_deploy_folds_a_scale_after_conv_and_bn():
    """fold_bn runs first: the scale then reads the conv and folds too."""
    spec = PLAIN.replace("relu, scale: 0.5", "bn, scale: 0.5, relu")
    model = archspec.loads(spec)
    w = realistic(model)
    r = deploy().run(model.graph, w)
    assert [n.op for n in r.graph.nodes.values()] == ["input", "conv", "relu", "flatten"]
    x = sample(model.graph)
    assert scale_diff(outputs(r.graph, r.weights, x)["output"], outputs(model.graph, w, x)["output"]) < 1e-5


def test_nothing_to_fold():
    model = archspec.loads(PLAIN)
    w = init_weights(model.graph)
    r = fold_scale(model.graph, w)
    assert not r.changed and r.graph is model.graph and r.weights is w and r.note == "nothing to do"
