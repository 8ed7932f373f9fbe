"""value_info and doc_string: every value a compiled model's nodes write carries its type and shape,
equal to archspec's shapes (the IR node's, batch "N") and to what strict ONNX shape inference
finds for the same model without them; every node carries the spec line it came from. Checked on
every built-in (compiled only, never run: the tensors are written as external references, so no
weight is waited for) and on every op's test cases."""

from __future__ import annotations

import io
import re

import numpy as np
import onnx
import pytest
from onnx_cases import dims, specs
from test_ops import CASES, one_node_spec

import archspec
from archspec.onnx_backend import proto
from archspec.onnx_backend.compile import compile_model
from archspec.ops.base import Case
from archspec.parallel import cancel

LABEL = re.compile(r"^(builtin:)?[\w./<>-]+\.yaml:\d+$")  # relative file (a loaded string's "<string>"), line


def shapes_only(program: archspec.program.Program, **options: object) -> onnx.ModelProto:
    """The compiled model, its weights as external references (dims kept, no data): what shape
    inference needs, without waiting for them to be drawn."""
    compiled = compile_model(program, **options)
    buf = io.BytesIO()
    moved = {k: proto.external("absent.data", 0, a.nbytes) for k, (_, a) in compiled.tensors.items()
             if a.dtype.kind == "f" and a.nbytes >= 1024}  # constants stay: inference reads Slice's and Pad's
    compiled.write(buf, moved)
    cancel(a for _, a in compiled.tensors.values())
    return onnx.load_from_string(buf.getvalue())


def types(values: list[onnx.ValueInfoProto]) -> dict[str, tuple[int, tuple]]:
    """name -> (elem_type, dims), an unknown dim as ""."""
    return {v.name: (v.type.tensor_type.elem_type, dims(v)) for v in values}


def check_value_info(model: onnx.ModelProto, graph: archspec.ir.Graph, batch: object = "N") -> None:
    g = model.graph
    ours = types(list(g.value_info))
    io_names = {v.name for v in (*g.input, *g.output)}
    written = [v for n in g.node for v in n.output if v not in io_names]
    assert list(ours) == written  # every intermediate value, once, in node order
    bare = onnx.ModelProto()
    bare.CopyFrom(model)
    del bare.graph.value_info[:]
    inferred = types(list(onnx.shape_inference.infer_shapes(bare, strict_mode=True).graph.value_info))
    assert ours == {k: inferred[k] for k in ours}
    for name, (elem, d) in ours.items():  # an IR node's value: its archspec shape
        if name in graph.nodes:
            assert (elem, d) == (onnx.TensorProto.FLOAT, (batch, *graph.nodes[name].shape)), name


def check_doc_strings(model: onnx.ModelProto, sources: dict[str, str]) -> None:
    for n in model.graph.node:
        assert LABEL.match(n.doc_string), (n.name, n.doc_string)
    owners = {n.name: n.doc_string for n in model.graph.node if n.name in sources}
    assert owners == {k: sources[k] for k in owners}  # a node's own ONNX node: its spec line


@pytest.mark.parametrize("name", specs())
def test_every_builtin_value_has_its_type_and_shape(name: str):
    model = archspec.load(name)
    m = shapes_only(model.program)
    check_value_info(m, model.graph)
    check_doc_strings(m, dict(model.program.sources))


@pytest.mark.parametrize(("name", "case"), CASES)
def test_every_op_value_has_its_type_and_shape(name: str, case: Case):
    """Train mode keeps every node, so each op's helpers (a composite lowering's) are covered."""
    model = archspec.loads(one_node_spec(name, case))
    m = shapes_only(model.program, mode="train")
    check_value_info(m, model.graph)
    check_doc_strings(m, dict(model.program.sources))


def test_fixed_batch_and_fp16_follow_the_options():
    model = archspec.load("resnet18")
    m = shapes_only(model.program, batch=3, fp16=True)
    got = types(list(m.graph.value_info))
    assert got["layer1.0.conv1"] == (onnx.TensorProto.FLOAT16, (3, 64, 56, 56))
    assert {e for e, _ in got.values()} == {onnx.TensorProto.FLOAT16}


@pytest.mark.parametrize("name", ["resnet18", "densenet121", "googlenet"])
def test_dynamic_hw_leaves_the_sizes_that_follow_the_input_unknown(name: str):
    model = archspec.load(name)
    m = shapes_only(model.program, dynamic_hw=True)
    assert dims(m.graph.input[0]) == ("N", 3, "H", "W")
    bare = onnx.ModelProto()
    bare.CopyFrom(m)
    del bare.graph.value_info[:]
    inferred = types(list(onnx.shape_inference.infer_shapes(bare, strict_mode=True).graph.value_info))
    ours = types(list(m.graph.value_info))
    unknown = {k: (e, tuple("" if str(d).startswith("unk__") else d for d in ds)) for k, (e, ds) in inferred.items()}
    assert ours == {k: unknown[k] for k in ours}  # onnx names each unknown dim it makes unk__<i>
    for v, (_, d) in ours.items():
        if v in model.graph.nodes:
            shape = model.graph.nodes[v].shape
            assert d[:2] == ("N", shape[0]) and (len(d) == 2 or d[2:] in (("", ""), shape[1:])), v


RULE_CASES = [  # op_type, attrs, input shapes (constants: a numpy array)
    ("Conv", {"kernel_shape": [3, 2], "pads": [1, 0, 2, 1], "strides": [2, 1], "dilations": [1, 2]},
     [(2, 4, 9, 8), np.zeros((6, 4, 3, 2), np.float32)]),
    ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}, [(2, 4, 8, 7)]),
    ("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2]}, [(2, 4, 8, 7)]),
    ("Slice", {}, [(2, 4, 9, 8), np.array([1, 0]), np.array([7, 99]), np.array([2, 3]), np.array([2, 3])]),
    ("Pad", {}, [(2, 4, 9, 8), np.array([0, 1, 0, 0, 0, 2, 0, 3])]),
    ("Flatten", {"axis": 2}, [(2, 4, 3, 5)]),
    ("Concat", {"axis": 1}, [(2, 4, 3, 5), (2, 6, 3, 5)]),
    ("Gemm", {"transB": 1}, [(2, 7), np.zeros((5, 7), np.float32)]),
    ("GlobalAveragePool", {}, [(2, 4, 3, 5)]),
    ("MatMul", {}, [(2, 4, 3, 5), np.zeros((5, 6), np.float32)]),
    ("Where", {}, [(2, 1, 3, 1), (2, 4, 3, 5), np.zeros((5,), np.float32)]),
    ("Greater", {}, [(2, 4, 3, 5), np.zeros((1, 5), np.float32)]),
]


@pytest.mark.parametrize(("op_type", "attrs", "ins"), RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_helper_shape_rules_agree_with_onnx(op_type, attrs, ins):
    """Every rule of archspec/onnx_backend/shapes.py, also those no lowering uses yet, on one node."""
    from onnx import TensorProto, helper, numpy_helper

    from archspec.onnx_backend import shapes

    names = [f"i{k}" for k in range(len(ins))]
    consts = [a if isinstance(a, np.ndarray) else None for a in ins]
    inits = [numpy_helper.from_array(a, n) for n, a in zip(names, ins) if isinstance(a, np.ndarray)]
    elem = TensorProto.BOOL if op_type == "Where" else TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info(n, elem if k == 0 else TensorProto.FLOAT, s)
              for k, (n, s) in enumerate(zip(names, ins)) if not isinstance(s, np.ndarray)]
    node = helper.make_node(op_type, names, ["y"], **attrs)
    graph = helper.make_graph([node], "g", inputs, [helper.make_tensor_value_info("y", TensorProto.UNDEFINED, None)],
                              inits)
    inferred = onnx.shape_inference.infer_shapes(helper.make_model(graph), strict_mode=True).graph.output[0]
    dims_in = [tuple(a.shape) if isinstance(a, np.ndarray) else a for a in ins]
    got = shapes.infer(op_type, dims_in, attrs, consts, TensorProto.FLOAT)
    assert got == (inferred.type.tensor_type.elem_type, dims(inferred))
