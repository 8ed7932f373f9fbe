"""archspec's protobuf encoder against onnx.helper: the same bytes for random inputs, and a clear
refusal, never a wrapped or truncated value, for anything ONNX cannot hold."""

from __future__ import annotations

import re

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper, numpy_helper

import archspec
from archspec.onnx_backend import CompileError, proto
from archspec.onnx_backend.proto import EncodeError

INT64 = st.integers(-(2**63), 2**63 - 1)
FLOAT32 = st.floats(width=32, allow_nan=False)  # nan != nan: compared apart below
NAMES = st.text(st.characters(blacklist_categories=["Cs"]), max_size=12)  # any text but lone surrogates
DTYPES = [np.float32, np.float16, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
          np.uint32, np.uint64, np.bool_, np.complex64, np.complex128]
SHAPES = st.lists(st.integers(0, 4), max_size=3).map(tuple)


@st.composite
def arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = draw(SHAPES)
    raw = draw(st.binary(min_size=dtype.itemsize * int(np.prod(shape)), max_size=dtype.itemsize * int(np.prod(shape))))
    a = np.frombuffer(raw, np.uint8).view(dtype).reshape(shape) if raw else np.zeros(shape, dtype)
    return a.astype(bool) if dtype == np.bool_ else a  # a bool's byte is 0 or 1


PLAIN = st.one_of(  # what helper.make_node takes as is (it takes TensorProtos, not arrays)
    INT64, st.booleans(), FLOAT32, NAMES, st.binary(max_size=8),
    st.lists(INT64, min_size=1, max_size=5), st.lists(FLOAT32, min_size=1, max_size=5),
    st.lists(st.one_of(INT64, FLOAT32), min_size=1, max_size=5).filter(lambda v: any(isinstance(x, float) for x in v)),
    st.lists(NAMES, min_size=1, max_size=4),
)
VALUES = st.one_of(PLAIN, arrays(), st.lists(arrays(), min_size=1, max_size=3))


@settings(max_examples=300, deadline=None)
@given(name=NAMES, value=VALUES)
def test_attribute_bytes_equal_onnx_helper(name, value):
    ref = numpy_helper.from_array(value) if isinstance(value, np.ndarray) else (
        [numpy_helper.from_array(a) for a in value] if isinstance(value, list) and isinstance(value[0], np.ndarray)
        else value)
    assert proto.attribute(name, value) == helper.make_attribute(name, ref).SerializeToString()


def test_special_attributes_equal_onnx_helper():
    for value in (float("inf"), float("-inf"), np.int64(-3), np.float32(0.5), (1, 2, 3)):
        assert proto.attribute("a", value) == helper.make_attribute("a", value).SerializeToString()
    assert proto.attribute("a", [True, 2]) == helper.make_attribute("a", [1, 2]).SerializeToString()
    nan = onnx.AttributeProto.FromString(proto.attribute("a", float("nan")))
    assert nan.type == onnx.AttributeProto.FLOAT and np.isnan(nan.f)
    assert proto.attribute("axes", []) == helper.make_attribute("axes", [], attr_type=onnx.AttributeProto.INTS
                                                                ).SerializeToString()


@settings(max_examples=200, deadline=None)
@given(op_type=NAMES, inputs=st.lists(NAMES, max_size=3), outputs=st.lists(NAMES, min_size=1, max_size=2),
       name=NAMES, attrs=st.dictionaries(st.text("abcdefgh_", min_size=1, max_size=6), PLAIN, max_size=4))
def test_node_bytes_equal_onnx_helper(op_type, inputs, outputs, name, attrs):
    ref = helper.make_node(op_type, inputs, outputs, name=name, **attrs)
    assert proto.node(op_type, inputs, outputs, name, attrs) == ref.SerializeToString()


@settings(max_examples=200, deadline=None)
@given(name=NAMES, elem=st.sampled_from(sorted(proto.DTYPES.values())),
       dims=st.lists(st.one_of(st.none(), st.integers(0, 2**63 - 1), NAMES), max_size=5))
def test_value_info_bytes_equal_onnx_helper(name, elem, dims):
    assert proto.value_info(name, elem, dims) == helper.make_tensor_value_info(name, elem, dims).SerializeToString()


@settings(max_examples=200, deadline=None)
@given(name=NAMES.filter(bool), a=arrays())
def test_tensor_bytes_equal_numpy_helper(name, a):
    assert proto.tensor(name, a) == numpy_helper.from_array(a, name).SerializeToString()
    big_endian = a.astype(a.dtype.newbyteorder(">"))
    assert proto.tensor(name, big_endian) == proto.tensor(name, a)  # ONNX raw data is little-endian


@pytest.mark.parametrize("value, message", [
    (2**63, "attribute 'a': 9223372036854775808 is outside the int64 range"),
    (-(2**63) - 1, "attribute 'a': -9223372036854775809 is outside the int64 range"),
    ([1, 10**21], "attribute 'a': 1000000000000000000000 is outside the int64 range"),
    (1e39, "attribute 'a': 1e+39 is outside the float32 range"),
    ([0.5, -1e300], "attribute 'a': -1e+300 is outside the float32 range"),
    ("\ud800", "attribute 'a': '\\ud800' is not valid UTF-8 text"),
    (None, "attribute 'a': archspec does not write a NoneType"),
    ({"k": 1}, "attribute 'a': archspec does not write a dict"),
    ([1, "x"], "attribute 'a': archspec does not write a list of int, str"),
    (onnx.GraphProto(), "attribute 'a': archspec does not write GRAPH attributes"),
    ([onnx.GraphProto()], "attribute 'a': archspec does not write GRAPHS attributes"),
    (onnx.SparseTensorProto(), "attribute 'a': archspec does not write SPARSE_TENSOR attributes"),
    ([onnx.SparseTensorProto()], "attribute 'a': archspec does not write SPARSE_TENSORS attributes"),
    (onnx.TypeProto(), "attribute 'a': archspec does not write TYPE_PROTO attributes"),
    ([onnx.TypeProto()], "attribute 'a': archspec does not write TYPE_PROTOS attributes"),
    (np.array(["s"]), "attribute 'a': ONNX has no data type for numpy <U1"),
])
def test_values_onnx_cannot_hold_are_refused(value, message):
    with pytest.raises(EncodeError, match="^" + re.escape(message)):
        proto.attribute("a", value)


def test_every_attribute_type_is_written_or_refused():
    written = {proto.ATTR_FLOAT, proto.ATTR_INT, proto.ATTR_STRING, proto.ATTR_TENSOR, proto.ATTR_FLOATS,
               proto.ATTR_INTS, proto.ATTR_STRINGS, proto.ATTR_TENSORS}
    refused = {getattr(onnx.AttributeProto, k + s) for k in proto.REFUSED.values() for s in ("", "S")}
    assert written | refused | {onnx.AttributeProto.UNDEFINED} == set(onnx.AttributeProto.AttributeType.values())
    assert not written & refused
    for code, name in ((proto.ATTR_TENSOR, "TENSOR"), (proto.ATTR_STRINGS, "STRINGS")):
        assert onnx.AttributeProto.AttributeType.Name(code) == name
    assert {onnx.helper.tensor_dtype_to_np_dtype(c) for c in proto.DTYPES.values()} == set(proto.DTYPES)


def test_ints_beyond_64_bits_are_refused_not_wrapped():
    assert proto.varint(2**64 - 1) == b"\xff" * 9 + b"\x01" and proto.varint(-1) == b"\xff" * 9 + b"\x01"
    for n in (2**64, 2**70, -(2**63) - 1):
        with pytest.raises(EncodeError, match="does not fit in 64 bits"):
            proto.varint(n)
    with pytest.raises(EncodeError, match=r"^value 'image': dimension 1180591620717411303424 is outside the int64"):
        proto.value_info("image", proto.FLOAT, [2**70, 3])


def test_a_pad_beyond_int64_is_an_error_at_its_line(tmp_path):
    spec = tmp_path / "bigpad.yaml"
    spec.write_text("archspec: 1\nname: bigpad\ninput: {name: image, shape: [3, 8, 8]}\nlayers:\n"
                    "  - conv: {out: 4, kernel: 3, pad: 1000000000000000000000, name: c1}\n  - global_avgpool\n")
    with pytest.raises(CompileError) as e:
        archspec.load(spec).save_onnx(tmp_path / "x.onnx")
    assert str(e.value) == (f"{spec}:5:5: node 'c1': attribute 'pads': 1000000000000000000000 is outside the "
                            "int64 range [-2^63, 2^63-1]")
    assert isinstance(e.value, ValueError) and not (tmp_path / "x.onnx").exists()


def test_a_batch_beyond_int64_is_an_error(tmp_path):
    with pytest.raises(CompileError, match=r"value 'image': dimension 1180591620717411303424 is outside"):
        archspec.load("lenet5").save_onnx(tmp_path / "x.onnx", batch=2**70)
    assert not (tmp_path / "x.onnx").exists()
