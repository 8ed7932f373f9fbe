"""`archspec graph`: the DOT text (clusters, train-only heads, --depth), rendering, missing Graphviz."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from procs import heavy_imports

import archspec
from archspec.cli import main
from archspec.draw import collapse_key, node_ids, subgraph, to_dot

INCEPTIONS = ["inception3a", "inception3b", "inception4a", "inception4b", "inception4c", "inception4d",
              "inception4e", "inception5a", "inception5b"]
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


@dataclass
class Cluster:
    path: str
    parent: str | None
    attrs: str = ""
    nodes: list[str] = field(default_factory=list)


def clusters(dot: str) -> dict[str, Cluster]:
    """The clusters of DOT text written by to_dot, by scope path, with the node ids directly in each."""
    out, stack = {}, []
    for line in dot.splitlines():
        s = line.strip()
        if m := re.match(r'subgraph "cluster_(.*)" \{$', s):
            out[m[1]] = Cluster(m[1], stack[-1] if stack else None)
            stack.append(m[1])
        elif s == "}" and stack:
            stack.pop()
        elif stack and s.startswith("label=") and not out[stack[-1]].attrs:
            out[stack[-1]].attrs = s
        elif stack and (ids := list(node_ids(s))):
            out[stack[-1]].nodes += ids
    return out


def inside(cs: dict[str, Cluster], path: str) -> set[str]:
    """Node ids in cluster `path` or any cluster nested in it."""
    return {i for c in cs.values() if c.path == path or c.path.startswith(path + ".") for i in c.nodes}


def googlenet() -> archspec.Model:
    return archspec.load("googlenet")


# ---- DOT structure -------------------------------------------------------------------------------


def test_googlenet_aux_heads_are_train_only_clusters():
    g = googlenet().graph
    dot = to_dot(g)
    cs = clusters(dot)
    for aux in ("aux1", "aux2"):
        c = cs[aux]
        assert c.parent is None  # drawn apart, not inside the network's blocks
        assert "dashed" in c.attrs and "train-only" in c.attrs
        train = {n.name for n in g.nodes.values() if n.train_only and n.name.startswith(aux + ".")}
        assert len(train) >= 5  # avgpool, conv, bn, relu, flatten, fc1... of the head
        drawn = inside(cs, aux)
        assert drawn == train | {f"output:{aux}"}
    # the eval graph's nodes are all outside the heads, drawn solid
    eval_ids = {n.name for n in g.nodes.values() if not n.train_only}
    assert eval_ids.isdisjoint(inside(cs, "aux1") | inside(cs, "aux2"))
    assert sum('style=dashed color="#8c8c8c"' in line and "->" in line for line in dot.splitlines()) >= 2 * 5


def test_googlenet_has_nine_inception_clusters():
    dot = to_dot(googlenet().graph)
    last = [p.rsplit(".", 1)[-1] for p in clusters(dot)]
    names = sorted(n for n in last if re.fullmatch(r"inception\d[a-e]", n))
    assert names == INCEPTIONS
    # collapsed to depth 1 they are nodes, not clusters
    dot1 = to_dot(googlenet().graph, depth=1)
    assert not any("inception" in p for p in clusters(dot1))
    assert {f"{i}.*" for i in INCEPTIONS} <= set(node_ids(dot1))


@pytest.mark.parametrize("depth, literal", [(1, 13), (2, 25), (None, None)])
def test_depth_changes_node_count_resnet50(depth, literal):
    g = archspec.load("resnet50").graph
    ids = list(node_ids(to_dot(g, depth=depth)))
    expected = len({collapse_key(n, depth) for n in g.nodes}) + len(g.outputs)
    assert len(ids) == len(set(ids)) == expected
    if literal is not None:  # hand-checked: image conv1 bn1 relu maxpool layer1..4 avgpool flatten fc logits;
        assert len(ids) == literal  # at depth 2 the 4 stages become 3+4+6+3 = 16 bottlenecks: 13 - 4 + 16
    else:
        assert len(ids) == len(g.nodes) + 1


def test_depth_clusters_resnet50():
    g = archspec.load("resnet50").graph
    assert clusters(to_dot(g, depth=1)) == {}
    assert sorted(clusters(to_dot(g, depth=2))) == ["layer1", "layer2", "layer3", "layer4"]
    full = clusters(to_dot(g))
    assert len(full) == 4 + 16 + 4  # stages, bottlenecks, the four downsample shortcuts
    assert full["layer2.0.downsample"].parent == "layer2.0"
    assert full["layer2.0.downsample"].nodes == ["layer2.0.downsample.0", "layer2.0.downsample.1"]


def test_edges_carry_shapes_and_collapse():
    dot = to_dot(archspec.load("resnet50").graph, depth=1, rankdir="LR")
    assert "rankdir=LR" in dot
    assert '"maxpool" -> "layer1.*" [label=" [N,64,56,56] "];' in dot
    assert '"layer3.*" -> "layer4.*" [label=" [N,1024,14,14] "];' in dot
    assert len(re.findall(r" -> ", dot)) == 12  # a chain of 13 items
    nodes = to_dot(archspec.load("resnet50").graph, depth=1, rankdir="LR", shapes="nodes")
    assert " [label=\" [N," not in nodes
    label = re.search(r'"layer2\.\*" \[label=(<.*>) fillcolor', nodes)[1]
    assert "layer2</B> <FONT" in label and ">stage</FONT>" in label
    assert "1.22M params" in label and "[N,512,28,28]" in label


def test_node_labels_op_params_shape():
    dot = to_dot(archspec.load("lenet5").graph, shapes="nodes")
    assert re.search(r'"c1" \[label=<<B>conv</B> 5x5, 6<BR/>.*c1  \[N,6,28,28\]', dot)
    assert re.search(r'"s4" \[label=<<B>maxpool</B> 2x2, /2<BR/>.*\[N,16,5,5\]', dot)
    assert "61.7K params · 416.5K MACs" in dot


def test_scope_subgraph():
    g = archspec.load("resnet50").graph
    sub = subgraph(g, "layer2.0")
    assert sub.input == "layer1.2.9"
    assert [o.node for o in sub.outputs] == ["layer2.0.9"]
    assert len(sub.nodes) == 1 + 12
    assert not sub.lint()
    assert sorted(clusters(to_dot(sub))) == ["layer2", "layer2.0", "layer2.0.downsample"]


def test_train_only_output_without_layers_is_drawn_apart():
    m = archspec.loads(SPEC_WITH_FEATURES)
    cs = clusters(to_dot(m.graph))
    assert cs["feat"].nodes == ["output:feat"] and "dashed" in cs["feat"].attrs


SPEC_WITH_FEATURES = """
archspec: 1
name: tiny
input: {name: x, shape: [1, 8, 8]}
output: y
layers: [conv: {out: 4, kernel: 3, name: 'c<&"1'}, relu, flatten, linear: {out: 2}]
outputs: [{name: feat, from: "2", train_only: true}]
"""


def _edge_labels(dot: str) -> list[tuple[str, str | None]]:
    """(source id, its shape label or None) of each edge of DOT text written by to_dot."""
    return [(m[1], m[2]) for m in re.finditer(r'^  "([^"]*)" -> "[^"]*"(?: \[label=" (\[[^\]]*\]) ")?', dot, re.M)]


@pytest.mark.parametrize("spec, depth", [("lenet5", None), ("resnet50", None), ("googlenet", 1), ("densenet121", 2)])
def test_each_shape_drawn_once(spec, depth):
    """On the edges: no node repeats a shape, and a tensor read by several nodes is labelled on one
    edge. In the nodes (--shapes nodes): no edge has a label."""
    g = archspec.load(spec).graph
    dot = to_dot(g, depth=depth)
    decls = [line for line in dot.splitlines() if " [label=<" in line and "->" not in line]
    assert decls and not any("[N," in line for line in decls)
    edges = _edge_labels(dot)
    labelled = [src for src, label in edges if label]
    assert len(labelled) == len(set(labelled)) == len({src for src, _ in edges})
    nodes = to_dot(g, depth=depth, shapes="nodes")
    assert all(label is None for _, label in _edge_labels(nodes))
    assert sum("[N," in line for line in nodes.splitlines()) == len(list(node_ids(nodes))) - len(g.outputs)


def test_fan_out_has_one_label():
    dot = to_dot(archspec.load("resnet50").graph)  # maxpool feeds layer1.0's body and its downsample
    assert [label for src, label in _edge_labels(dot) if src == "maxpool"] == ["[N,64,56,56]", None]


def test_densenet121_depth_1_draws_its_blocks():
    dot = to_dot(archspec.load("densenet121").graph, depth=1)
    ids = list(node_ids(dot))
    blocks = [i for i in ids if i.endswith(".*")]
    assert blocks == [f"features.{k}{i}.*" for i in (1, 2, 3) for k in ("denseblock", "transition")] + [
        "features.denseblock4.*"]
    assert len(ids) == 18  # image, conv0 norm0 relu0 pool0, the 7 blocks, norm5, relu, pool, flatten, fc, logits
    assert sorted(clusters(dot)) == ["features"]
    assert "168 ops · 2.84M params" in dot  # denseblock3


def test_scope_depth_counts_inside_the_scope():
    g = subgraph(archspec.load("resnet50").graph, "layer3")
    assert [i for i in node_ids(to_dot(g, depth=1)) if i.endswith(".*")] == [f"layer3.{k}.*" for k in range(6)]


@pytest.fixture(scope="module")
def resnet50_onnx(tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "r50.onnx"
    assert main(["compile", "resnet50", "-o", str(path)]) == 0
    return path


def test_onnx_file_is_drawn_and_collapses_by_path(resnet50_onnx, capsys):
    assert main(["graph", str(resnet50_onnx), "--depth", "1", "-o", "-"]) == 0
    dot = capsys.readouterr().out
    ids = list(node_ids(dot))  # BN is folded into the convs: no bn1 node
    assert ids == ["image", "conv1", "2", "maxpool", "layer1.*", "layer2.*", "layer3.*", "layer4.*", "avgpool",
                   "9", "fc", "output:logits"]
    assert "<B>Conv</B> 7x7, 64, /2" in dot and "<B>Gemm</B> 1000" in dot
    assert '"layer3.*" -> "layer4.*" [label=" [N,1024,14,14] "];' in dot
    assert "25.50M params · 4.09G MACs" in dot  # 25,557,032 less BN's 53,120 gamma and beta, folded
    assert main(["graph", str(resnet50_onnx), "--scope", "layer2.0", "-o", "-"]) == 0
    assert "layer2.0.downsample.0" in capsys.readouterr().out


def test_onnx_graph_of_every_op_matches_the_spec_paths(tmp_path, capsys):
    path = tmp_path / "every.onnx"
    assert main(["compile", str(Path(__file__).parent / "every_op.yaml"), "-o", str(path)]) == 0
    assert main(["graph", str(path), "--depth", "1", "-o", "-"]) == 0
    ids = set(node_ids(capsys.readouterr().out))
    assert {"stem", "act/elu", "act", "lrn_even/square", "add3.*", "res.*", "output:logits", "output:probs"} <= ids


def test_bad_onnx_file_is_a_usage_error(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    assert main(["graph", str(bad), "-o", str(tmp_path / "x.dot")]) == 2
    assert "not an ONNX model" in capsys.readouterr().err


# ---- rendering and the CLI ---------------------------------------------------------------------


@needs_dot
def test_svg_and_png_render(tmp_path):
    svg, png = tmp_path / "lenet.svg", tmp_path / "lenet.png"
    assert main(["graph", "lenet5", "-o", str(svg), "-o", str(png)]) == 0
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    ns = {"s": "http://www.w3.org/2000/svg"}
    titles = [g.find("s:title", ns).text for g in root.iter("{http://www.w3.org/2000/svg}g")
              if g.get("class") == "node"]
    assert len(titles) == 14 and titles[0] == "image" and titles[-1] == "output:logits"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet.png", "lenet.svg"]  # no temp files left


@needs_dot
def test_odd_names_are_escaped(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC_WITH_FEATURES)
    out = tmp_path / "tiny.svg"
    assert main(["graph", str(spec), "-o", str(out)]) == 0
    text = ET.parse(out).getroot().itertext()
    assert 'c<&"1' in "".join(text)


def test_missing_dot_says_how_to_install_and_still_writes_dot(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    svg, dot = tmp_path / "out" / "r.svg", tmp_path / "out" / "r.dot"
    assert main(["graph", "resnet18", "--depth", "2", "-o", str(svg), "-o", str(dot)]) == 4
    err = capsys.readouterr().err
    assert "not on PATH" in err
    for how in ("apt-get install graphviz", "brew install graphviz", "conda install -c conda-forge graphviz"):
        assert how in err
    assert dot.read_text() == to_dot(archspec.load("resnet18").graph, depth=2)
    assert sorted(p.name for p in dot.parent.iterdir()) == ["r.dot"]  # no svg, no temp file


def test_dot_needs_no_graphviz_and_stdout(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["graph", "lenet5", "--rankdir", "lr", "-o", "-"]) == 0
    out = capsys.readouterr().out
    assert out == to_dot(archspec.load("lenet5").graph, rankdir="LR")


@pytest.mark.parametrize("argv, message", [
    (["-o", "x.jpg"], "cannot tell the format of 'x.jpg'"),
    (["-o", "x.svg", "--depth", "0"], "--depth must be at least 1"),
    (["-o", "x.svg", "--scope", "layer9"], "has no block 'layer9'"),
])
def test_usage_errors(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(["graph", "resnet18", *argv]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@needs_dot
def test_too_large_warning_is_passed_on_with_a_hint(tmp_path, capsys):
    spec = tmp_path / "long.yaml"
    spec.write_text("archspec: 1\nname: long\ninput: {shape: [1, 4, 4]}\nlayers:\n  - repeat: 700\n    body: relu\n")
    assert main(["graph", str(spec), "-o", str(tmp_path / "long.png")]) == 0
    err = capsys.readouterr().err
    assert "archspec: warning: Graphviz, writing long.png:" in err and "too large" in err
    assert "hint:" in err and "--depth" in err and "--scope" in err and "SVG" in err


def test_graph_loads_no_heavy_library(tmp_path):
    assert heavy_imports(["graph", "resnet18", "-o", str(tmp_path / "r.dot")]) == set()
