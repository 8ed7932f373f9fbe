"""Spec-language pieces the zoo needed: `in_channels` in expressions, `outputs.from` naming a
block, the concat combinator as a sequence item, and the adaptive_avgpool op."""

from __future__ import annotations

import pytest

import archspec
from archspec.errors import SpecError

HEAD = "archspec: 1\nname: t\ninput: {name: x, shape: [8, 16, 16]}\n"


def test_in_channels_in_op_params_and_block_args():
    m = archspec.loads(HEAD + """
blocks:
  half:
    args: {out: int}
    seq: [conv: {out: $out, kernel: 1, name: c}]
layers:
  - conv: {out: "${in_channels * 3}", kernel: 1, name: triple}
  - half: {out: "${in_channels // 2}", name: h}
  - flatten
  - linear: {out: "${in_channels - 1}", name: fc}
""")
    nodes = m.graph.nodes
    assert nodes["triple"].shape == (24, 16, 16)
    assert nodes["h.c"].shape == (12, 16, 16)
    assert nodes["fc"].shape == (12 * 16 * 16 - 1,)


def test_an_arg_named_in_channels_wins():
    m = archspec.loads(HEAD + "args: {in_channels: 5}\nlayers: [conv: {out: $in_channels, kernel: 1}]\n")
    assert m.graph.nodes["0"].shape == (5, 16, 16)


def test_output_from_a_block_is_its_last_node():
    m = archspec.loads(HEAD + """
blocks:
  stem:
    seq: [conv: {out: 4, kernel: 3, pad: 1}, relu]
layers:
  - stem: {name: s}
  - global_avgpool
outputs:
  - {name: side, from: s, train_only: true, layers: [flatten, linear: {out: 3, name: fc}]}
  - {name: raw, from: s.0}
""")
    g = m.graph
    assert g.nodes["side.0"].inputs == ["s.1"]
    assert [(o.name, o.node, o.train_only) for o in g.outputs] == [
        ("output", "1", False), ("side", "side.fc", True), ("raw", "s.0", False)]
    assert g.scopes["side"] == "train-only output" and m.train_params == m.params + 4 * 16 * 16 * 3 + 3


def test_output_from_unknown_name_is_reported_at_its_line():
    with pytest.raises(SpecError) as e:
        archspec.loads(HEAD + "blocks:\n  stem:\n    seq: [relu]\nlayers: [stem: {name: stem1}]\n"
                       "outputs:\n  - {name: o, from: stem2}\n")
    d = e.value.diagnostics[0]
    assert "'from' names no node or block: 'stem2'" in d.message
    assert d.pos.line == 9 and "stem1" in d.hint


def test_concat_combinator_as_a_sequence_item():
    m = archspec.loads(HEAD + """
layers:
  - residual:
      body:
        - concat:
            a: {conv: {out: 2, kernel: 1}}
            b: [conv: {out: 3, kernel: 1}, relu]
        - conv: {out: 8, kernel: 1, name: proj}
      scale: 0.5
""")
    g = m.graph
    cat = next(n for n in g.nodes.values() if n.op == "concat")
    assert cat.inputs == ["a", "b.1"] and cat.shape == (5, 16, 16)
    assert g.nodes["proj"].inputs == [cat.name]
    assert [n.op for n in g.nodes.values()][-2:] == ["scale", "add"]


def test_concat_op_still_joins_inputs_in_graph_form():
    m = archspec.loads(HEAD + """
graph:
  - {name: a, conv: {out: 2, kernel: 1}, from: x}
  - {name: b, conv: {out: 3, kernel: 1}, from: x}
  - {name: j, concat: {}, from: [a, b]}
""")
    assert m.graph.nodes["j"].inputs == ["a", "b"] and m.graph.nodes["j"].shape == (5, 16, 16)


@pytest.mark.parametrize(("out", "shape"), [(4, (8, 4, 4)), ([16, 1], (8, 16, 1)), (16, (8, 16, 16))])
def test_adaptive_avgpool_shape(out, shape):
    m = archspec.loads(HEAD + f"layers: [adaptive_avgpool: {out}]\n")
    n = m.graph.nodes["0"]
    assert n.shape == shape and n.macs == 0 and not n.weights
    assert n.impl.summary(n.params) == f"->{shape[1]}x{shape[2]}"


def test_adaptive_avgpool_to_a_grid_larger_than_its_input():
    """As torch's AdaptiveAvgPool2d (torchvision's alexnet at 64x64 pools a 1x1 map to 6x6): cells
    repeat input values. Values are tests/test_ops.py's (adaptive_avgpool-larger_*)."""
    m = archspec.loads(HEAD + "layers:\n  - adaptive_avgpool: {out: [17, 3]}\n")
    assert m.graph.nodes["0"].shape == (8, 17, 3)


def test_every_builtin_spec_and_library_validates_against_the_json_schema():
    import jsonschema
    import yaml

    from archspec.loader import BUILTIN_DIR
    from archspec.schema import json_schema

    validator = jsonschema.Draft202012Validator(json_schema())
    files = sorted(BUILTIN_DIR.glob("*.yaml")) + sorted(BUILTIN_DIR.glob("lib/*.yaml"))
    assert len(files) > 20
    for f in files:
        assert [e.message for e in validator.iter_errors(yaml.safe_load(f.read_text()))] == [], f.name
    # the `reference:` key, in both forms, is part of it (and a bad one is not)
    refs = [yaml.safe_load(f.read_text()).get("reference") for f in files]
    assert sum(isinstance(r, str) for r in refs) >= 10 and sum(isinstance(r, dict) for r in refs) >= 2
    spec = {"archspec": 1, "name": "x", "input": {"shape": [3, 8, 8]}, "layers": ["relu"]}
    assert validator.is_valid({**spec, "reference": "torchvision.resnet50"})
    assert not validator.is_valid({**spec, "reference": "subprocess.run"})
    assert not validator.is_valid({"archspec": 1, "name": "x", "layers": ["relu"]})  # no input, no base


def test_the_json_schema_takes_block_calls_as_graph_entries():
    """`{name: branch1x1, basic_conv: {out: 64}, from: in}`, as the built-in Inception v3 writes
    its blocks: item keys beside the block's key; item keys alone are no block call."""
    import jsonschema

    from archspec.schema import json_schema

    validator = jsonschema.Draft202012Validator(json_schema())
    spec = {"archspec": 1, "name": "g", "input": {"shape": [3, 8, 8]},
            "blocks": {"bc": {"args": {"out": "int"}, "seq": [{"conv": {"out": "$out", "kernel": 1}}]}}}
    ok = {**spec, "graph": [{"name": "a", "bc": {"out": 4}, "from": "in"}, {"name": "b", "bc": {"out": 4}}]}
    assert [e.message for e in validator.iter_errors(ok)] == []
    assert not validator.is_valid({**spec, "graph": [{"name": "a", "from": "in"}]})
    assert not validator.is_valid({**spec, "layers": [{"name": "a"}]})
