"""fold_bn: a `foldable_norm` (bn) after an `absorbs_norm` op (conv) read by nothing else folds into
the conv's weight and bias. onnxruntime's outputs before and after agree within 1e-5 of the
output's scale (W' = s * W is rounded to float32 once more than conv then BN computes)."""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np
from onnx_cases import realistic, scale_diff
from pass_cases import outputs, sample

import archspec
from archspec.ops.base import REGISTRY
from archspec.parallel import Deferred, resolve
from archspec.passes.fold_bn import fold_bn
from archspec.weights import init_weights

SPEC = """
archspec: 1
name: norms
input: {name: x, shape: [4, 8, 8]}
output: logits
graph:
  - {name: n0, bn: {}, from: x}                          # kept: the input absorbs nothing
  - {name: c1, conv: {out: 6, kernel: 3, pad: 1}, from: n0}
  - {name: n1, bn: {eps: 0.001}, from: c1}               # folds, into a conv with bias
  - {name: c2, conv: {out: 6, kernel: 1, bias: false}, from: n1}
  - {name: n2, bn: {affine: false}, from: c2}            # folds, into a conv without bias
  - {name: c3, conv: {out: 6, kernel: 3, pad: 1}, from: n2}
  - {name: n3, bn: {}, from: c3}                         # kept: s reads c3 too
  - {name: s, add: {}, from: [c3, n3]}
  - {name: c4, conv: {out: 6, kernel: 1}, from: s}
  - {name: n4, bn: {}, from: c4}                         # kept: c4 is an output
  - {name: p, global_avgpool: {}, from: n4}
  - {name: f, flatten: {}, from: p}
  - {name: l, linear: {out: 5}, from: f}
  - {name: n5, bn: {}, from: l}                          # kept: a linear absorbs no norm
outputs:
  - {name: mid, from: c4}
"""

PLAIN = """
archspec: 1
name: plain
input: {name: x, shape: [3, 8, 8]}
layers: [conv: {out: 4, kernel: 3}, relu, flatten]
"""


def test_folds_bn_into_the_conv_that_alone_feeds_it():
    model = archspec.loads(SPEC)
    g, w = model.graph, realistic(model)
    r = fold_bn(g, w)
    assert r.changed and r.note == "folded 2 bn into conv" and not r.graph.lint()
    assert set(g.nodes) - set(r.graph.nodes) == {"n1", "n2"}
    assert r.graph.nodes["c2"].inputs == ["c1"] and r.graph.nodes["c3"].inputs == ["c2"]
    c1, c2 = r.graph.nodes["c1"], r.graph.nodes["c2"]
    assert c1.params.bias and c2.params.bias and c1.weights == c2.weights | {"weight": (6, 4, 3, 3)}
    assert c2.weights == {"weight": (6, 6, 1, 1), "bias": (6,)}  # the BN's shift became a bias
    assert set(w) - set(r.weights) == {"n1.weight", "n1.bias", "n1.running_mean", "n1.running_var",
                                      "n2.running_mean", "n2.running_var"}
    assert set(r.weights) - set(w) == {"c2.bias"}
    assert g.nodes["c2"].params.bias is False and "n1" in g.nodes  # its input is left as it was
    assert all(r.graph.nodes[n] is g.nodes[n] for n in ("n0", "c4", "n4", "l", "n5"))  # untouched nodes shared
    x = sample(g)
    before, after = outputs(g, w, x), outputs(r.graph, r.weights, x)
    assert before.keys() == after.keys() == {"logits", "mid"}
    for name, y in after.items():
        assert scale_diff(y, before[name]) < 1e-5, name


def test_a_zero_bias_is_left_out():
    """Fresh BNs (mean 0, var 1, gamma 1, beta 0): a conv without bias gets none."""
    model = archspec.loads(SPEC)
    r = fold_bn(model.graph, init_weights(model.graph))
    assert not r.graph.nodes["c2"].params.bias and "c2.bias" not in r.weights
    assert r.graph.nodes["c1"].params.bias and "c1.bias" in r.weights


def test_it_asks_the_traits_not_the_names(monkeypatch):
    model = archspec.loads(SPEC)
    w = realistic(model)
    with monkeypatch.context() as m:
        m.setattr(type(REGISTRY["conv"]), "absorbs_norm", False)
        assert not fold_bn(model.graph, w).changed
    with monkeypatch.context() as m:
        m.setattr(type(REGISTRY["bn"]), "foldable_norm", False)
        assert not fold_bn(model.graph, w).changed


def test_folding_deferred_weights_equals_folding_arrays():
    """The compile's own draws are folded in place as they come (Deferred); given arrays are copied.
    With non-trivial BN statistics both give the same bits."""

    def deferred(a):
        done = Future()
        done.set_result(a.copy())
        return Deferred(done, a.shape, a.dtype)

    model = archspec.loads(SPEC)
    w = realistic(model)
    lazy = {k: deferred(v) if v.ndim == 4 else v for k, v in w.items()}
    r1, r2 = fold_bn(model.graph, w), fold_bn(model.graph, lazy)
    assert list(r1.graph.nodes) == list(r2.graph.nodes) and r1.weights.keys() == r2.weights.keys()
    assert isinstance(r2.weights["c1.weight"], Deferred) and isinstance(r2.weights["c3.weight"], Deferred)
    for k, v in r1.weights.items():
        assert np.array_equal(resolve(r2.weights[k]), v), k


def test_nothing_to_do_without_a_foldable_pair():
    for spec in (PLAIN, SPEC.replace("{name: n1, bn: {eps: 0.001}, from: c1}", "{name: n1, relu: {}, from: c1}")
                 .replace("{name: n2, bn: {affine: false}, from: c2}", "{name: n2, relu: {}, from: c2}")):
        model = archspec.loads(spec)
        w = realistic(model)
        r = fold_bn(model.graph, w)
        assert not r.changed and r.graph is model.graph and r.weights is w and r.note == "nothing to do"
