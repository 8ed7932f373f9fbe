"""The expander's contracts: combinators are a registry (a new one is one class), the JSON Schemas
of specs and recipes accept what archspec accepts, and independent errors come in one run."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import archspec
from archspec.expand.combinators import COMBINATORS, Combinator, Context, Items, register
from archspec.expand.combinators.repeat import RepeatDef
from archspec.expand.scope import Scope, Value
from archspec.ops.base import REGISTRY
from archspec.schema import field_comments, json_schema
from archspec.source import Pos
from archspec.spec import Strict

HEAD = "archspec: 1\nname: t\ninput: {name: image, shape: [3, 8, 8]}\n"  # lines 1-3


class TwiceDef(Strict):
    body: Items  # applied twice


class Twice(Combinator):
    """The body applied twice in sequence."""

    key = "twice"
    Model = TwiceDef

    def expand(self, ctx: Context, val: Any, pos: Pos | None, scope: Scope, x: Value) -> Value:
        if ctx.validate(TwiceDef, val, pos, scope, "twice") is None:
            return None
        for _ in range(2):
            x = ctx.items(val["body"], val.at("body"), scope, x)
        return x


@pytest.fixture
def twice() -> Iterator[None]:
    register(Twice)
    yield
    del COMBINATORS["twice"]


TWICE_SPEC = HEAD + """blocks:
  dbl:
    args: {width: int}
    twice: {body: [conv: {out: $width, kernel: 3, pad: 1}, relu]}
layers:
  - dbl: {width: 4}
  - twice: {body: relu}
  - {twice: {body: [conv: {out: 2, kernel: 1}]}, name: tw}
"""


def test_a_combinator_registered_outside_archspec_is_a_block_body_an_item_and_in_the_schema(twice: None) -> None:
    g = archspec.loads(TWICE_SPEC).graph
    got = [(n.name, n.op, n.inputs, n.shape) for n in g.nodes.values()]
    assert got == [("image", "input", [], (3, 8, 8)),
                   ("0.0", "conv", ["image"], (4, 8, 8)), ("0.1", "relu", ["0.0"], (4, 8, 8)),
                   ("0.2", "conv", ["0.1"], (4, 8, 8)), ("0.3", "relu", ["0.2"], (4, 8, 8)),
                   ("1.0", "relu", ["0.3"], (4, 8, 8)), ("1.1", "relu", ["1.0"], (4, 8, 8)),  # unnamed: by position
                   ("tw.0", "conv", ["1.1"], (2, 8, 8)), ("tw.1", "conv", ["tw.0"], (2, 8, 8))]
    assert g.scopes == {"0": "dbl", "tw": "twice"}
    assert g.nodes["0.2"].params_count == 4 * 4 * 9 + 4

    schema = json_schema()
    v = jsonschema.Draft202012Validator(schema)
    assert "twice" in schema["$defs"]["BlockDef"]["properties"]
    item = next(i for i in schema["$defs"]["Item"]["anyOf"] if "twice" in i.get("properties", {}))
    assert item["description"] == "The body applied twice in sequence."
    assert item["properties"]["twice"]["properties"]["body"]["description"] == "applied twice"
    assert [e.message for e in v.iter_errors(yaml.safe_load(TWICE_SPEC))] == []
    bad = yaml.safe_load(TWICE_SPEC)
    bad["layers"][1]["twice"]["bodyy"] = "relu"
    assert not v.is_valid(bad)

    with pytest.raises(archspec.SpecError) as e:  # validated by its model, at its line
        archspec.loads(HEAD + "layers:\n  - twice: {body: relu, times: 3}\n")
    d = e.value.diagnostics[0]
    assert (d.message, d.pos.line, d.pos.col) == ("twice: unknown key 'times'", 5, 25)
    with pytest.raises(archspec.SpecError) as e:
        archspec.loads(HEAD + "blocks:\n  b: {twise: {body: relu}}\nlayers: [b]\n")
    assert "did you mean 'twice'?" in e.value.report()


def test_the_twice_combinator_is_gone_after_the_test() -> None:
    assert "twice" not in COMBINATORS
    assert "twice" not in json.dumps(json_schema()["$defs"]["BlockDef"])


def test_spec_schema_has_no_internal_titles_and_describes_ops_and_fields() -> None:
    schema = json_schema()
    text = json.dumps(schema)
    assert text.count('"title"') == 1 and schema["title"] == "archspec spec"  # the root only
    assert "Params" not in text.replace("Params model", "") and "SpecFile" not in text
    items = {k: i for i in schema["$defs"]["Item"]["anyOf"] for k in i.get("required", [])[:1]}
    ops = {k: i for k, i in items.items() if "freeze" in i["properties"]}
    assert set(ops) == set(REGISTRY) - {"concat"}  # concat in a list of items is the combinator
    for name, op in REGISTRY.items():
        if name not in ops:
            continue
        assert ops[name]["description"] == (op.__doc__ or "").strip() != ""
        params = ops[name]["properties"][name]["anyOf"][0]["properties"]
        for field, comment in field_comments(op.Params).items():  # a field's comment is its hover text
            assert params[field]["description"] == comment, (name, field)
    repeat = items["repeat"]["properties"]["var"]
    assert repeat["description"] == "the loop variable, 0-based, usable in the body's expressions and names"
    assert field_comments(RepeatDef) == {"var": repeat["description"]}


def test_graph_form_entries_may_say_from_in_the_schema() -> None:
    v = jsonschema.Draft202012Validator(json_schema())
    spec = yaml.safe_load(HEAD + "graph:\n  - {name: a, conv: {out: 4, kernel: 1}, from: image}\n"
                          "  - {name: b, relu: {}}\n  - {name: s, add: {}, from: [a, b]}\n")
    assert [e.message for e in v.iter_errors(spec)] == []
    assert archspec.loads(HEAD + "graph:\n  - {name: a, conv: {out: 4, kernel: 1}, from: image}\n"
                          "  - {name: b, relu: {}}\n  - {name: s, add: {}, from: [a, b]}\n").graph.nodes["s"].inputs \
        == ["a", "b"]
    spec["layers"] = [{"relu": None, "from": "image"}]  # not in a sequence
    del spec["graph"]
    assert not v.is_valid(spec)


def test_every_spec_in_the_docs_validates_against_the_schema() -> None:
    v = jsonschema.Draft202012Validator(json_schema())
    docs = Path(__file__).parent.parent / "docs"
    specs = [yaml.safe_load(b) for f in sorted(docs.glob("*.md"))
             for b in re.findall(r"```yaml\n(.*?)```", f.read_text(), re.S)]
    specs = [s for s in specs if isinstance(s, dict) and "archspec" in s]
    assert len(specs) >= 10 and any("graph" in s for s in specs)
    for s in specs:
        assert [e.message for e in v.iter_errors(s)] == [], s["name"]


def test_every_builtin_recipe_validates_against_the_recipe_schema_shorthands_included() -> None:
    from archspec.train.recipe import RECIPE_DIR, builtin_recipes
    from archspec.train.recipe import json_schema as recipe_schema

    schema = recipe_schema()
    v = jsonschema.Draft202012Validator(schema)
    assert {"lenet5", "cifar"} <= set(builtin_recipes())
    for name in builtin_recipes():
        raw = yaml.safe_load((RECIPE_DIR / f"{name}.yaml").read_text())
        assert [e.message for e in v.iter_errors(raw)] == [], name
    base = {"recipe": 1, "name": "r"}
    for augment in ({"rotation": 8}, {"scale": [0.9, 1.1]}, {"hflip": True}, {"hflip": 0.3},
                    {"random_crop": None}, {"color_jitter": False}, {"rotation": {"degrees": 3}}):
        assert v.is_valid({**base, "augment": augment}), augment
    for augment in ({"rotation": -1}, {"scale": [0.9]}, {"hflip": 2}, {"rotate": 8}):
        assert not v.is_valid({**base, "augment": augment}), augment
    assert json.dumps(schema).count('"title"') == 1  # the root only
    assert schema["$defs"]["Optimizer"]["properties"]["lr"]["description"] == "the peak rate, reached after warm-up"


# ---- errors ----------------------------------------------------------------------------


def _errors(body: str, tmp_path: Path) -> list[tuple[int, int, str, str]]:
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + body)
    with pytest.raises(archspec.SpecError) as e:
        archspec.load(path)
    return [(d.pos.line, d.pos.col, d.message, d.hint) if d.pos else (0, 0, d.message, d.hint)
            for d in e.value.diagnostics]


def test_misspelt_op_in_the_graph_form_is_unknown_not_an_arity_error(tmp_path: Path) -> None:
    got = _errors("graph:\n  - {name: a, relu: {}, from: image}\n  - {name: m, ad: {}, from: [image, a]}\n",
                  tmp_path)
    assert got == [(6, 5, "unknown op or block 'ad'", "did you mean 'add'?")]
    got = _errors("graph:\n  - {name: a, relu: {}, from: image}\n  - {name: m, relu: {}, from: [image, a]}\n",
                  tmp_path)
    assert got == [(6, 31, "'relu' takes one input, got 2", "")]


def test_independent_errors_in_a_sequence_come_in_one_run(tmp_path: Path) -> None:
    got = _errors("args: {width: 8, sizes: [4, 8]}\nlayers:\n"
                  "  - conv: {out: $widht, kernel: 3}\n"  # 6: the output shape is unknown from here
                  "  - relu\n"
                  "  - conv: {out: '${sizes[5]}', kernel: 3}\n"  # 8: wrong whatever the input
                  "  - conv: {out: '${in_channels * 2}', kernel: 1}\n"  # unknown input: not checked
                  "  - flatten\n"
                  "  - linear: {out: '${sizes[7]}'}\n", tmp_path)
    assert [(line, msg) for line, _, msg, _ in got] == [
        (6, "undefined name 'widht'; did you mean 'width'?"),
        (8, "cannot evaluate 'sizes[5]': list index out of range"),
        (11, "cannot evaluate 'sizes[7]': list index out of range")]


def test_after_a_wrong_elementwise_op_the_shape_is_known_and_checking_goes_on(tmp_path: Path) -> None:
    got = _errors("layers:\n  - conv: {out: 4, kernel: 3}\n  - bn: {epss: 0.001}\n  - relu: 3\n"
                  "  - conv: {out: 4, kernel: 7}\n  - flatten\n  - linear: {out: 10, in: 144}\n", tmp_path)
    assert [(line, msg) for line, _, msg, _ in got[:2]] == [
        (6, "bn: unknown key 'epss'"),
        (7, "'relu' takes a mapping of params, got 3"),
    ]
    assert got[2][0] == 8 and "[N,4,6,6]" in got[2][2]  # the conv's input shape is still known


def test_a_problem_in_a_repeat_body_is_reported_once(tmp_path: Path) -> None:
    got = _errors("layers:\n  - repeat: 3\n    body: {dropout: {p: 2}}\n  - {conv: {out: 0, kernel: 1}}\n",
                  tmp_path)
    assert [(line, msg) for line, _, msg, _ in got] == [
        (6, "dropout: p: input should be less than 1, got 2"),
        (7, "conv: out: input should be greater than 0, got 0")]


def test_errors_after_a_poisoned_input_inside_combinators_are_still_found(tmp_path: Path) -> None:
    got = _errors("layers:\n  - conv: {out: 4, kernal: 3}\n  - residual:\n      body: [relu, dropout: 2]\n"
                  "      after: {maxpool: {kernel: 2, strid: 2}}\n", tmp_path)
    assert [(line, msg) for line, _, msg, _ in got] == [
        (5, "conv: unknown key 'kernal'"),
        (7, "dropout: p: input should be less than 1, got 2"),
        (8, "maxpool: unknown key 'strid'")]


REQUIRE = """archspec: 1
name: tiles
input: {{shape: [3, {h}, 32]}}
args: {{patch: 4}}
layers:
  - require: "${{in_height % patch == 0 and in_width % patch == 0}}"
    message: "${{in_height}}x${{in_width}} is no multiple of the patch, ${{patch}}"
  - avgpool: {{kernel: $patch, name: pool}}
  - require: "${{in_channels == 3}}"
"""


def test_require_is_an_error_at_its_line_when_false_and_adds_no_node() -> None:
    m = archspec.loads(REQUIRE.format(h=32))
    assert [n.op for n in m.graph.nodes.values()] == ["input", "avgpool"]
    with pytest.raises(archspec.SpecError) as e:
        archspec.loads(REQUIRE.format(h=30))
    assert "<string>.yaml:6:14: error: require failed: 30x32 is no multiple of the patch, 4" in str(e.value)
    with pytest.raises(archspec.SpecError, match="require failed: the spec's requirement does not hold"):
        archspec.loads(REQUIRE.format(h=32).replace("in_channels == 3", "in_channels == 4"))
