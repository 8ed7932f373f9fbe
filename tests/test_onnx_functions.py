"""`--functions`: each scope a call of an ONNX model-local function. The model passes the full ONNX
check, onnxruntime's outputs equal the flat graph's exactly (it inlines the functions), instances
of a block with the same body share one function, and the graph's values keep their value_info."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx_cases import run

import archspec
from archspec.onnx_backend.emit import FUNCTION_DOMAIN


def flat_and_functions(name: str, **options: object) -> tuple[archspec.Model, onnx.ModelProto, onnx.ModelProto]:
    model = archspec.load(name, **options)
    return model, model.to_onnx(), model.to_onnx(functions=True)


@pytest.mark.parametrize(("name", "size"), [("resnet18", None), ("googlenet", None), ("densenet121", (3, 64, 64)),
                                            ("inception_resnet_v2", (3, 139, 139)), ("cifar_resnet20", None)])
def test_functions_run_as_the_flat_graph(name: str, size: tuple[int, ...] | None):
    model = archspec.load(name, size) if size else archspec.load(name)
    flat, fn = model.to_onnx(), model.to_onnx(functions=True)
    onnx.checker.check_model(fn, full_check=True)
    assert {(o.domain, o.version) for o in fn.opset_import} == {("", 17), (FUNCTION_DOMAIN, 1)}
    assert fn.ir_version >= 8 and len(fn.functions) > 0
    assert len(fn.graph.node) < len(flat.graph.node)
    x = np.random.default_rng(0).standard_normal((2, *model.input_shape)).astype(np.float32)
    a, b = run(flat, x), run(fn, x)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_resnet18_blocks_share_their_functions():
    model = archspec.load("resnet18")
    fn = model.to_onnx(functions=True)
    funcs = {f.name: f for f in fn.functions}
    # a basic block without and with a downsample; the first stage and the others
    assert set(funcs) == {"basic", "basic_2", "stage", "stage_2"}
    calls = [(n.name, n.op_type, n.domain) for n in fn.graph.node if n.domain]
    assert calls == [(s, "stage" if s == "layer1" else "stage_2", FUNCTION_DOMAIN)
                     for s in ("layer1", "layer2", "layer3", "layer4")]
    basic = funcs["basic"]
    assert list(basic.input) == ["x0", "conv1.weight", "conv2.weight"]  # fresh BNs fold to no bias
    assert [n.name for n in basic.node] == ["conv1", "2", "conv2", "5", "6"]
    assert basic.node[0].doc_string.startswith("builtin:lib/resnet.yaml:")
    stage2 = funcs["stage_2"]
    assert [(n.op_type, n.name) for n in stage2.node] == [("basic_2", "0"), ("basic", "1")]
    # the graph's own values keep their value_info: the stages' outputs
    assert [v.name for v in fn.graph.value_info] == ["conv1", "2", "maxpool", "layer1.1.6", "layer2.1.6",
                                                     "layer3.1.6", "layer4.1.6", "avgpool", "9"]


def test_a_graph_without_scopes_is_the_flat_one_with_functions_on():
    model = archspec.load("lenet5")
    flat, fn = model.to_onnx(), model.to_onnx(functions=True)
    assert not fn.functions and fn.graph == flat.graph and fn.ir_version == flat.ir_version


def test_cli_writes_functions(tmp_path):
    from archspec.cli import main

    out = tmp_path / "r.onnx"
    assert main(["compile", "cifar_resnet20", "--functions", "-o", str(out)]) == 0
    m = onnx.load(out)
    assert [f.name for f in m.functions] == ["basic", "stage", "basic_2", "stage_2"]
