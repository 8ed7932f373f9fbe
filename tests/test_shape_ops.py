"""Shape ops of any per-sample rank (permute, reshape, flatten start/end, slice, channel_shuffle)
through shape inference, summary and both backends; `split` in the graph form and as an item, and
its errors; the ShuffleNet V2 built-ins against torchvision's figures and state_dict."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx_cases import evaluate, inferred_shapes, realistic, run, scale_diff

import archspec
from archspec.errors import SpecError

RANKS = """archspec: 1
name: ranks
input: {shape: [8, 6, 6]}
layers:
  - conv: {out: 8, kernel: 3, pad: 1}
  - reshape: {shape: [2, 4, 6, 6]}
  - permute: {dims: [0, 2, 1, 3, 4]}
  - relu
  - flatten: {start: 1, end: 2}
  - channel_shuffle: 2
  - slice: {axis: 1, start: 2}
  - bn
  - flatten: {start: 2}
  - permute: {dims: [0, 2, 1]}
  - flatten
  - linear: {out: 3}
"""

SPLIT = """archspec: 1
name: split
input: {shape: [8, 6, 6]}
graph:
  - {name: parts, split: {sizes: {left: 3, right: -1}}, from: in}
  - {name: b, conv: {out: 5, kernel: 1}, from: parts.right}
  - {name: cat, concat: {}, from: [parts.left, b, parts.right]}
  - {name: unit, split: {sizes: ["${in_channels // 2}", -1], branches: {"1": [conv: {out: 4, kernel: 1}, relu]}}}
  - {name: shuffle, channel_shuffle: 2}
"""


def report(text: str) -> str:
    with pytest.raises(SpecError) as e:
        archspec.loads(text)
    return e.value.report()


def _backends_agree(model: archspec.Model) -> None:
    """ONNX shape inference gives archspec's shape at every node; onnxruntime and torch equal the
    numpy references."""
    torch = pytest.importorskip("torch")
    from archspec.torch_backend import load_state

    w = realistic(model)
    x = np.random.default_rng(0).standard_normal((2, *model.input_shape)).astype(np.float32)
    out = model.graph.outputs[0].node
    ref = evaluate(model.graph, w, x)[out]
    proto = model.to_onnx(mode="train", weights=w)
    onnx.checker.check_model(proto, full_check=True)
    shapes = inferred_shapes(proto)
    for n in model.graph.nodes.values():
        if n.name in shapes:  # the IR node's final ONNX op is named by its path
            assert shapes[n.name] == ("N", *n.shape), n.name
    net = load_state(model.to_torch(seed=0), w).eval()
    with torch.no_grad():
        got = net(torch.from_numpy(x))
    got = (got[model.graph.outputs[0].name] if isinstance(got, dict) else got).numpy()
    assert ref.shape == got.shape == (2, *model.graph.nodes[out].shape)
    assert scale_diff(got, ref) < 1e-5
    name = model.graph.outputs[0].name
    assert scale_diff(run(proto, x)[name], ref) < 1e-5
    assert scale_diff(run(model.to_onnx(weights=w), x)[name], ref) < 1e-5  # deploy: BN folded


def test_any_rank_flows_through_shapes_summary_and_backends():
    m = archspec.loads(RANKS)
    shapes = [n.shape for n in m.graph.nodes.values()][1:]
    assert shapes == [(8, 6, 6), (2, 4, 6, 6), (4, 2, 6, 6), (4, 2, 6, 6), (8, 6, 6), (8, 6, 6), (6, 6, 6),
                      (6, 6, 6), (6, 36), (36, 6), (216,), (3,)]
    text = m.summary()
    assert "[N,2,4,6,6]" in text and "permute 0,2,1,3,4" in text and "[N,36,6]" in text
    assert m.params == 8 * 8 * 9 + 8 + 12 + 216 * 3 + 3
    _backends_agree(m)


def test_default_flatten_is_onnx_flatten_and_others_a_reshape():
    m = archspec.loads(RANKS)
    ops = {n.name: n.op_type for n in m.to_onnx(mode="train").graph.node}
    assert ops["10"] == "Flatten" and ops["4"] == ops["8"] == "Reshape"
    assert [ops[k] for k in ("5/grouped", "5/transpose", "5")] == ["Reshape", "Transpose", "Reshape"]


def test_split_graph_form_and_item():
    m = archspec.loads(SPLIT)
    g = m.graph
    assert [(n.name, n.op, n.shape) for n in g.nodes.values()][1:6] == [
        ("parts.left", "slice", (3, 6, 6)), ("parts.right", "slice", (5, 6, 6)), ("b", "conv", (5, 6, 6)),
        ("cat", "concat", (13, 6, 6)), ("unit.0.0", "slice", (6, 6, 6))]
    assert g.nodes["unit.0.1"].shape == (7, 6, 6) and g.nodes["unit.1.0"].inputs == ["unit.0.1"]
    assert g.nodes["unit.2"].op == "concat" and g.nodes["unit.2"].inputs == ["unit.0.0", "unit.1.1"]
    assert g.nodes[g.outputs[0].node].shape == (10, 6, 6)
    _backends_agree(m)


def test_split_in_a_sequence_and_an_extra_output():
    m = archspec.loads("""archspec: 1
name: seq_split
input: {shape: [6, 4, 4]}
layers:
  - split:
      sizes: {a: 2, b: 3, c: 1}
      branches: {b: [conv: {out: 3, kernel: 1}], c: {relu: {}}}
  - split: {axis: "${-1}", sizes: [1, -1], branches: {"0": [identity]}}
outputs:
  - {name: part_b, from: 0.0.b}
""")
    g = m.graph  # each unnamed split is one position (0, 1); its slices, named branches and join are under it
    assert [(k, g.nodes[k].params.start, g.nodes[k].params.end) for k in ("0.0.a", "0.0.b", "0.0.c")] == [
        ("0.0.a", 0, 2), ("0.0.b", 2, 5), ("0.0.c", 5, 6)]
    assert g.nodes["c"].op == "relu" and g.nodes["b.0"].op == "conv"
    assert g.nodes["0.3"].inputs == ["0.0.a", "b.0", "c"]
    assert g.nodes["1.0.1"].params.axis == 3 and g.nodes["1.0.1"].shape == (6, 4, 3)
    assert g.nodes["1.1.0"].op == "identity" and g.nodes["1.2"].inputs == ["1.1.0", "1.0.1"]  # parts by position
    assert [o.node for o in g.outputs] == ["1.2", "0.0.b"]
    _backends_agree(m)


SPLIT_ERRORS = [
    ("{name: p, split: {sizes: {a: 3, b: 4}}, from: in}\n  - {name: q, concat: {}, from: [p.a, p.b]}",
     "5:30: error: p: split sizes [3, 4] sum to 7, but the axis has 8 entries (input [N,8,6,6])"),
    ("{name: p, split: {sizes: {left: 4, right: 4}}, from: in}\n  - {name: q, relu: {}, from: p.rihgt}",
     "6:31: error: q: split 'p' has no output 'rihgt'\n 6 |"),
    ("{name: p, split: {sizes: [4, 4]}, from: in}\n  - {name: q, relu: {}, from: p}",
     "6:31: error: q: 'from' names split 'p', which has several outputs"),
    ("{name: p, relu: {}, from: in}\n  - {name: q, relu: {}, from: p.x}",
     "6:31: error: q: 'from' names 'p.x', but 'p' is no split with parts"),
    ("{name: p, split: {sizes: [4, 4], branches: {x: [relu]}}, from: in}",
     "5:52: error: p: split has no part 'x'"),
    ("{name: p, split: {sizes: [4, 4], axis: 0}, from: in}\n  - {name: q, concat: {}, from: [p.0, p.1]}",
     "5:44: error: p: split: axis 0 is not a non-batch axis"),
    ("{name: p, split: {sizes: [4, 4]}, from: in}", "5:5: error: the graph ends with split 'p'"),
    ("{name: p, split: {sizes: [8]}, from: in}\n  - {name: q, relu: {}, from: p.0}",
     "5:30: error: p: a split needs two or more parts"),
]


@pytest.mark.parametrize(("entries", "want"), SPLIT_ERRORS)
def test_split_errors_point_at_the_spec_line(entries: str, want: str):
    text = f"archspec: 1\nname: e\ninput: {{shape: [8, 6, 6]}}\ngraph:\n  - {entries}\n"
    assert f"<string>.yaml:{want}" in report(text)


def test_split_without_branches_in_a_sequence():
    out = report("archspec: 1\nname: q\ninput: {shape: [8, 6, 6]}\nlayers:\n  - relu\n  - split: {sizes: [4, 4]}\n")
    assert ":6:12: error: a split without 'branches' has several outputs" in out
    assert "from: NAME.PART" in out


@pytest.mark.parametrize(("layer", "want"), [
    ("permute: {dims: [1, 0, 2, 3]}", "permute dims [1, 0, 2, 3] move the batch axis 0 (input [N,8,6,6])"),
    ("permute: {dims: [0, 1, 1, 2]}", "permute dims [0, 1, 1, 2] repeat an axis"),
    ("reshape: {shape: [5, -1]}", "cannot reshape [N,8,6,6] (288 values per sample) to [N,5,-1]"),
    ("reshape: {shape: [-1, -1]}", "reshape shape [-1, -1]: sizes must be positive, with at most one -1"),
    ("flatten: {start: 0}", "flatten start 0, end -1 do not name axes"),
    ("channel_shuffle: 3", "channel_shuffle groups: 3 do not divide the 8 channels"),
    ("slice: {axis: 2, start: 6}", "slice 6: on axis 2 of [N,8,6,6] is empty"),
])
def test_shape_op_errors(layer: str, want: str):
    out = report(f"archspec: 1\nname: e\ninput: {{shape: [8, 6, 6]}}\nlayers:\n  - {layer}\n")
    assert ":5:5: error: 0: " + want in out


SHUFFLENETS = ["shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"]


@pytest.mark.parametrize("name", SHUFFLENETS)
def test_shufflenet_figures_and_state_dict_are_torchvisions(name: str):
    tv = pytest.importorskip("torchvision")
    m = archspec.load(name)
    meta = tv.models.get_model_weights(name).DEFAULT.meta
    assert m.params == meta["num_params"]
    digits = len(str(meta["_ops"]).split(".")[1])
    assert round(m.macs / 1e9, digits) == meta["_ops"]
    ours = {k: tuple(v.shape) for k, v in m.to_torch(seed=0).state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in getattr(tv.models, name)().state_dict().items()}
    assert ours == theirs


def test_shufflenet_unit_names():
    g = archspec.load("shufflenet_v2_x1_0").graph
    assert g.nodes["stage2.0.branch1.0"].params.groups == 24 and g.nodes["stage2.0.branch2.3"].params.groups == 58
    assert g.nodes["stage2.1.0.0.branch1"].op == g.nodes["stage2.1.0.0.branch2"].op == "slice"
    assert g.nodes["stage2.1.branch2.0"].inputs == ["stage2.1.0.0.branch2"]
    assert g.nodes["stage4.3.1"].op == "channel_shuffle" and g.nodes["stage4.3.1"].shape == (464, 7, 7)  # split: 0
