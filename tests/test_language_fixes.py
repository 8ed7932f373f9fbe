"""The language fixes of issue 14 (part 3): each test here fails on the main before them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import archspec

HEAD = "archspec: 1\nname: t\ninput: {name: image, shape: [3, 8, 8]}\n"  # lines 1-3
TOOLS = Path(__file__).resolve().parent.parent / "tools"


def _nodes(body: str) -> list[str]:
    return [n for n in archspec.loads(HEAD + body).graph.nodes if n != "image"]


# ---- 2. positional names follow nn.Sequential ---------------------------------------------------

def test_an_unnamed_combinator_takes_one_position_and_numbers_its_own_items() -> None:
    # nn.Sequential(conv, Residual(Sequential(conv, bn)), relu): 0, 1.0, 1.1, (1.2 the add), 2
    assert _nodes("layers:\n  - conv: {out: 3, kernel: 1}\n  - residual: {body: [conv: {out: 3, kernel: 1}, bn]}\n"
                  "  - relu\n") == ["0", "1.0", "1.1", "1.2", "2"]
    assert _nodes("layers:\n  - relu\n  - seq: [relu, relu]\n  - relu\n") == ["0", "1.0", "1.1", "2"]
    assert _nodes("layers:\n  - concat: [relu, relu]\n  - relu\n") == ["0.0", "0.1", "0.2", "1"]


def test_named_items_of_an_unnamed_combinator_keep_their_names_in_the_enclosing_scope() -> None:
    # torchvision's Fire: squeeze, squeeze_activation, expand1x1, expand3x3 are its own children
    assert _nodes("layers:\n  - relu\n  - concat: {a: {conv: {out: 2, kernel: 1}}, b: [relu]}\n"
                  "  - residual: {body: [relu, {relu: {name: r}}]}\n  - relu\n") \
        == ["0", "a", "b.0", "1.2", "2.0", "r", "2.2", "3"]


def test_repeat_and_if_still_build_the_list_they_are_in() -> None:
    assert _nodes("layers:\n  - relu\n  - repeat: 2\n    body: [relu, relu]\n  - if: true\n    then: relu\n"
                  "  - relu\n") == ["0", "1", "2", "3", "4", "5", "6"]


def test_a_named_combinator_and_a_block_body_are_unchanged() -> None:
    body = ("blocks:\n  b: {residual: {body: {conv: {out: 3, kernel: 1, name: c}}}}\n"
            "layers:\n  - b\n  - {seq: [relu], name: s}\n")
    assert _nodes(body) == ["0.c", "0.1", "s.0"]


@pytest.mark.slow
def test_every_builtin_keeps_its_state_dict_keys_and_shapes() -> None:
    """tools/state_keys.py recorded them before the naming fix; a built-in added since is not in the record."""
    sys.path.insert(0, str(TOOLS))
    try:
        from state_keys import RECORD, digest, state_keys
    finally:
        sys.path.remove(str(TOOLS))
    record = json.loads(RECORD.read_text())
    assert len(record) >= 80
    changed = [n for n, r in record.items() if digest(state_keys(n)) != r["sha256"]]
    assert changed == []


# ---- 3. the input in `if:` conditions and block-arg defaults, defaults as expressions -----------

BOTTLENECK = HEAD + """blocks:
  unit:
    args:
      out: int
      mid: {type: int, default: "${out // 4}"}
      pool: {type: bool, default: "${in_height > 4}"}
    seq:
      - if: "${in_channels != out}"
        then: {conv: {out: $out, kernel: 1, name: project}}
      - conv: {out: $mid, kernel: 1, name: reduce}
      - if: $pool
        then: {maxpool: {kernel: 2, name: pool}}
layers:
  - unit: {out: 8, name: a}
  - unit: {out: 8, mid: 4, name: b}
  - unit: {out: 4, name: c}
"""


def test_if_and_arg_defaults_see_the_input_and_defaults_are_expressions() -> None:
    g = archspec.loads(BOTTLENECK).graph
    assert [n for n in g.nodes if n != "image"] == ["a.project", "a.reduce", "a.pool", "b.project", "b.reduce",
                                                    "c.reduce"]
    assert g.nodes["a.reduce"].shape == (2, 8, 8)  # mid = out // 4
    assert g.nodes["b.reduce"].shape == (4, 4, 4)  # b's input is 4x4: no pool
    assert "c.project" not in g.nodes and g.nodes["c.reduce"].shape == (1, 4, 4)  # 4 channels in: no project


def test_a_default_that_fails_is_reported_at_the_default() -> None:
    with pytest.raises(archspec.SpecError) as e:
        archspec.loads(HEAD + "blocks:\n  b:\n    args: {w: {type: int, default: \"${nope * 2}\"}}\n"
                       "    seq: [conv: {out: $w, kernel: 1}]\nlayers: [b]\n")
    d = e.value.diagnostics[0]
    assert ("nope" in d.message, d.pos.line if d.pos else None) == (True, 6)


# ---- 4. an arg typed "int or pair" ---------------------------------------------------------------

PAIR = HEAD + """blocks:
  c:
    args: {k: int or pair}
    conv: [conv: {out: 4, kernel: $k, pad: 0}]
layers:
  - c: {k: 3}
  - c: {k: [1, 3]}
"""


def test_an_int_or_pair_arg_takes_either() -> None:
    g = archspec.loads(PAIR.replace("conv: [conv", "seq: [conv")).graph
    assert g.nodes["0.0"].shape == (4, 6, 6) and g.nodes["1.0"].shape == (4, 6, 4)


@pytest.mark.parametrize("bad", ["[1, 2, 3]", "true", "[1, x]", "2.5"])
def test_an_int_or_pair_arg_rejects_anything_else(bad: str) -> None:
    spec = PAIR.replace("conv: [conv", "seq: [conv").replace("k: [1, 3]", f"k: {bad}")
    with pytest.raises(archspec.SpecError) as e:
        archspec.loads(spec)
    assert "block 'c' arg 'k' must be int or pair, got" in e.value.report()


# ---- 5. in the graph form an error poisons only its own node -------------------------------------

def test_every_independent_graph_error_is_reported_at_its_line() -> None:
    body = """graph:
  - {name: a, reluu: null}
  - {name: b, conv: {out: 4, kernel: 1, bogus: 1}, from: a}
  - {name: c, relu: {}, from: image}
  - {name: d, add: {alpha: 2}, from: [a, c]}
  - {name: e, nosuch: {}, from: [b, d]}
  - {name: f, relu: {}, from: e}
"""
    with pytest.raises(archspec.SpecError) as e:
        archspec.loads(HEAD + body)
    got = [(d.path, d.pos.line if d.pos else None, d.message) for d in e.value.diagnostics]
    assert got == [("a", 5, "unknown op or block 'reluu'"), ("b", 6, "conv: unknown key 'bogus'"),
                   ("d", 8, "add: unknown key 'alpha'"), ("e", 9, "unknown op or block 'nosuch'")]


# ---- 6. did-you-mean: every close candidate once, ranked; other frameworks' names mapped ----------

def _hint(key: str) -> str:
    with pytest.raises(archspec.SpecError) as e:
        archspec.loads(HEAD + f"layers:\n  - {key}\n")
    (d,) = e.value.diagnostics
    assert d.message == f"unknown op or block '{key}'"
    return d.hint


@pytest.mark.parametrize(("key", "hint"), [
    ("Conv2d", "archspec calls it 'conv'"), ("BatchNorm2d", "archspec calls it 'bn'"),
    ("ReLU", "archspec calls it 'relu'"), ("MaxPool2d", "archspec calls it 'maxpool'"),
    ("Linear", "archspec calls it 'linear'"), ("Flatten", "archspec calls it 'flatten'"),
    ("Dropout", "archspec calls it 'dropout'"), ("ReLU6", "archspec calls it 'relu6'"),
    ("GELU", "archspec calls it 'gelu'"), ("view", "archspec calls it 'reshape'"),
    ("Dense", "archspec calls it 'linear' (Keras' Dense is nn.Linear; archspec's 'dense' is DenseNet's block)"),
    ("BatchNormalization", "archspec calls it 'bn'"), ("GlobalAveragePooling2D", "archspec calls it 'global_avgpool'"),
    ("hardtanh", "archspec has no 'hardtanh' op: relu6 is Hardtanh(0, 6); other bounds are missing"),
    ("Hardtanh", "archspec has no 'Hardtanh' op: relu6 is Hardtanh(0, 6); other bounds are missing"),
    ("selu", "archspec has no 'selu' op: elu is not SELU (no scale)"),
    ("LogSoftmax", "archspec has no 'LogSoftmax' op: softmax is not its log"),
    ("GroupNorm", "archspec has no 'GroupNorm' op"),
])
def test_another_frameworks_op_name_is_mapped_or_said_missing(key: str, hint: str) -> None:
    assert _hint(key) == hint


def test_close_candidates_are_listed_once_each_closest_first() -> None:
    assert _hint("reluu") == "did you mean 'relu', 'relu6' or 'elu'?"
    assert _hint("concatt") == "did you mean 'concat'?"  # an op and a combinator: named once


def test_with_no_close_candidate_every_op_block_and_combinator_is_listed_once() -> None:
    from archspec.expand.combinators import COMBINATORS
    from archspec.ops.base import REGISTRY

    hint = _hint("zzzz")
    names = hint.removeprefix("expected one of: ").split(", ")
    assert names == sorted({*REGISTRY, *COMBINATORS} - {"input"})


# ---- 7. weight mismatches: wrong shapes first ------------------------------------------------------

def test_shape_mismatches_come_first_even_past_the_first_twenty_problems() -> None:
    from archspec.weights import WeightsError, check_weights, init_weights

    g = archspec.load("resnet18").graph
    w = {k: v for k, v in init_weights(g).items() if not k.startswith("layer")}  # 100+ keys missing
    w["fc.weight"] = w["fc.weight"][:10]
    with pytest.raises(WeightsError) as e:
        check_weights(g, w, g.nodes.values())
    lines = str(e.value).splitlines()
    assert lines[1] == "  'fc.weight' has shape [10, 512], expected [1000, 512]"
    assert lines[2].startswith("  missing 'layer1.0.conv1.weight'") and lines[-1].startswith("  ... and ")
