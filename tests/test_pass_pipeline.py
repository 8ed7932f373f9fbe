"""The Pipeline: passes in order, the graph linted after each (a failure names the pass), a report
of what each did; the deploy pipeline on the every-op spec, and `archspec compile -v`."""

from __future__ import annotations

from dataclasses import replace

import pytest
from onnx_cases import EVERY_OP, every_op, realistic, scale_diff
from pass_cases import outputs, sample

from archspec.cli import main
from archspec.ir import Graph
from archspec.passes import PassResult, Pipeline, Weights, deploy
from archspec.passes.drop_noops import drop_noops
from archspec.passes.drop_train_only import drop_train_only
from archspec.passes.fold_bn import fold_bn
from archspec.passes.remove_dropout import remove_dropout

EVERY_OP_REPORT = ["drop_train_only: dropped 6 nodes and train-only aux", "remove_dropout: removed 1 dropout",
                   "drop_noops: removed 3 identity", "fold_bn: folded 2 bn into conv",
                   "fold_scale: nothing to do"]


def test_deploy_runs_the_five_passes_in_order_and_reports_each():
    model = every_op()
    g, w = model.graph, realistic(model)
    ran = deploy().run(g, w)
    assert [str(s) for s in ran.steps] == EVERY_OP_REPORT and ran.changed
    one = drop_train_only(g, w)
    two = remove_dropout(one.graph, one.weights)
    three = fold_bn(drop_noops(two.graph, two.weights).graph, two.weights)
    assert list(ran.graph.nodes) == list(three.graph.nodes) and ran.weights.keys() == three.weights.keys()
    assert [s.name for s in deploy(fold=False).run(g, w).steps] == ["drop_train_only", "remove_dropout",
                                                                    "drop_noops", "fold_scale"]
    again = deploy().run(ran.graph, ran.weights)  # a deploy graph has nothing left to do
    assert not again.changed and again.graph is ran.graph
    assert [s.note for s in again.steps] == ["nothing to do"] * 5
    x = sample(g)
    before, after = outputs(g, w, x), outputs(ran.graph, ran.weights, x)
    assert after.keys() == {"logits", "probs"}
    for name, y in after.items():
        assert scale_diff(y, before[name]) < 1e-5, name  # as fold_bn's test states


def _dangling(graph: Graph, weights: Weights) -> PassResult:
    """A broken pass: the last node reads a node that does not exist."""
    last = list(graph.nodes.values())[-1]
    nodes = {**graph.nodes, last.name: replace(last, inputs=["nowhere"])}
    return PassResult(Graph(graph.name, graph.input, nodes, graph.outputs), weights, True, "broke it")


def _silent(graph: Graph, weights: Weights) -> PassResult:
    """A broken pass: it makes a new graph but says it changed nothing."""
    return PassResult(Graph(graph.name, graph.input, dict(graph.nodes), graph.outputs), weights, False)


def test_a_pass_that_breaks_the_graph_is_named():
    g = every_op().graph
    with pytest.raises(AssertionError, match=r"^pass _dangling: IR lint failed: probs.softmax: input 'nowhere' is not"):
        Pipeline((drop_train_only, _dangling, fold_bn)).run(g, {})
    with pytest.raises(AssertionError, match=r"^pass _silent: made a new graph but reports no change"):
        Pipeline((_silent,)).run(g, {})
    assert Pipeline(()).run(g, {}).graph is g


def test_compile_verbose_reports_the_passes_on_stderr(tmp_path, capsys):
    quiet, loud = tmp_path / "quiet.onnx", tmp_path / "loud.onnx"
    assert main(["compile", str(EVERY_OP), "-o", str(quiet)]) == 0
    plain = capsys.readouterr()
    assert main(["compile", str(EVERY_OP), "-o", str(loud), "-v"]) == 0
    verbose = capsys.readouterr()
    assert plain.err == "" and verbose.out == plain.out.replace(str(quiet), str(loud))
    assert verbose.err.splitlines() == [f"pass {line}" for line in EVERY_OP_REPORT]
    assert loud.read_bytes() == quiet.read_bytes()
    assert main(["compile", str(EVERY_OP), "-o", str(loud), "-v", "--mode", "train", "--no-fold-bn"]) == 0
    assert capsys.readouterr().err == "passes: none, the train graph is compiled as it is\n"
