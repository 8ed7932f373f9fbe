"""value_info and doc_string: every value a compiled model's nodes write carries its type and shape,
equal to archspec's shapes (the IR node's, batch "N") and to what strict ONNX shape inference
finds for the same model without them; every node carries the spec line it came from. Checked on
every built-in (compiled only, never run: the tensors are written as external references, so no
weight is waited for) and on every op's test cases."""

from __future__ import annotations

import io
import re

import onnx
import pytest
from onnx_cases import dims, specs
from test_ops import CASES, one_node_spec

import archspec
from archspec.ops.base import Case
from archspec.onnx_backend import proto
from archspec.onnx_backend.compile import compile_model
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
