"""The core: figures, the summary, the CLI, the schema, and the IR's invariants."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml
from procs import heavy_imports, run_cli

import archspec
from archspec.loader import BUILTIN_DIR, builtin_names
from archspec.ops import REGISTRY
from archspec.schema import json_schema


def test_lenet5_per_layer_params() -> None:  # the totals of every built-in: test_zoo.py
    m = archspec.load("lenet5")
    per_layer = {n.name: n.params_count for n in m.graph.nodes.values() if n.params_count}
    assert per_layer == {"c1": 156, "c3": 2_416, "f5": 48_120, "f6": 10_164, "output": 850}


def test_resnet50_buffers_shapes_and_names() -> None:
    m = archspec.load("resnet50")
    assert m.buffers == 53_120  # 2 x the BN channels
    g = m.graph
    assert g.nodes["layer3.0.downsample.0"].shape == (1024, 14, 14)
    assert g.nodes["layer4.2.conv2"].weights == {"weight": (512, 512, 3, 3)}
    assert g.nodes["fc"].shape == (1000,)
    assert g.lint() == []


def test_summary_cli_prints_totals() -> None:
    r = run_cli("summary", "lenet5")
    assert r.returncode == 0, r.stderr
    assert "params:           61,706 (trainable 61,706)" in r.stdout
    assert "MACs:             416,520 (0.000 G)" in r.stdout
    r = run_cli("summary", "resnet50", "--depth", "1")
    rows = [line.split()[0] for line in r.stdout.splitlines()[3:-8]]
    assert rows == ["conv1", "bn1", "2", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "9", "fc"]
    assert "params:           25,557,032" in r.stdout and "(4.089 G)" in r.stdout


def test_summary_depth_keeps_totals_and_json() -> None:
    full = json.loads(run_cli("summary", "resnet18", "--json").stdout)
    d2 = json.loads(run_cli("summary", "resnet18", "--json", "--depth", "2").stdout)
    assert full["totals"] == d2["totals"]
    assert sum(r["params"] for r in d2["rows"]) == full["totals"]["params"] == 11_689_512
    assert [r["path"] for r in d2["rows"]][4:6] == ["layer1.0", "layer1.1"]
    assert d2["rows"][4]["op"] == "basic"


def test_input_override() -> None:
    m = archspec.load("resnet50", input_shape=(3, 128, 160))
    assert m.graph.nodes["layer4.2.conv3"].shape == (2048, 4, 5)
    assert m.params == 25_557_032
    r = run_cli("summary", "resnet50", "--input", "3x128x160", "--json")
    assert json.loads(r.stdout)["input"] == {"name": "image", "shape": [None, 3, 128, 160]}


def test_check_many_and_list() -> None:
    r = run_cli("check", "lenet5", "resnet18")
    assert r.returncode == 0
    assert "ok: lenet5: lenet5, 12 nodes, 61,706 params" in r.stdout
    assert sorted(run_cli("list", "--names").stdout.split()) == builtin_names()
    assert "lib" not in builtin_names() and {"lenet5", "resnet50"} <= set(builtin_names())


def test_schema_validates_builtins_and_rejects_typos(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    assert run_cli("schema", "-o", str(out)).returncode == 0
    schema = json.loads(out.read_text())
    assert schema == json_schema()
    validator = jsonschema.Draft202012Validator(schema)  # built-ins validate: test_zoo_language.py
    bad = yaml.safe_load((BUILTIN_DIR / "lenet5.yaml").read_text())
    bad["layers"][0]["conv"]["kernal"] = 3
    assert list(validator.iter_errors(bad))
    assert set(REGISTRY) <= set(json.dumps(schema["$defs"]["Item"]).split('"'))


def test_ops_page_is_generated_from_the_registry() -> None:
    from archspec.docs import ops_page

    page = (Path(__file__).parent.parent / "docs" / "ops.md").read_text()
    assert page == ops_page(), "docs/ops.md is stale: run python tools/gen_ops_doc.py"
    for name in REGISTRY:
        assert f"## `{name}`" in page


def test_static_commands_load_no_heavy_library() -> None:
    assert heavy_imports(["check", "resnet50"], ["summary", "googlenet"], ["schema"], ["list"],
                         ["list", "--json"]) == set()


def test_extends_and_include(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.yaml").write_text(
        "blocks:\n  unit:\n    args: {c: int}\n    seq: [conv: {out: $c, kernel: 3, pad: 1, name: conv}, relu]\n")
    (tmp_path / "base.yaml").write_text(
        "archspec: 1\nname: base\ninput: {shape: [3, 8, 8]}\ninclude: [lib/blocks.yaml]\n"
        "args: {width: 4, n: 1}\nlayers:\n  - repeat: $n\n    body: {unit: {c: $width}}\n")
    (tmp_path / "child.yaml").write_text("archspec: 1\nextends: base.yaml\nname: child\nargs: {n: 2}\n")
    m = archspec.load(tmp_path / "child.yaml")
    assert m.name == "child"
    assert [n for n in m.graph.nodes if n.endswith("conv")] == ["0.conv", "1.conv"]
    assert m.params == (3 * 9 * 4 + 4) + (4 * 9 * 4 + 4)


def test_loads_and_repr() -> None:
    m = archspec.loads("archspec: 1\nname: t\ninput: {shape: [10]}\nlayers: [linear: {out: 5}, softmax]\n")
    assert repr(m) == "<Model t: 55 params, 50 MACs>"
    assert m.graph.nodes["1"].shape == (5,)


def test_lint_finds_broken_graphs() -> None:
    from archspec.ir import Graph, Node, Output

    g = Graph("g", "x")
    g.add(Node("x", "input", None, [], (3,)))
    g.add(Node("b", "relu", None, ["a"], (3,)))  # uses a node defined later
    g.add(Node("a", "relu", None, ["x"], (3,)))
    g.add(Node("c", "frobnicate", None, ["a"], (3,)))
    g.outputs.append(Output("out", "zz"))
    assert g.lint() == ["b: input 'a' is not defined before it", "c: unknown op 'frobnicate'",
                        "output 'out' names undefined node 'zz'"]


def test_frozen_weights_are_not_trainable() -> None:
    m = archspec.loads("archspec: 1\nname: f\ninput: {shape: [4]}\n"
                       "layers: [linear: {out: 4, freeze: true}, linear: {out: 2}]\n")
    assert m.graph.totals() == {"params": 30, "trainable_params": 10, "buffers": 0, "macs": 24}
