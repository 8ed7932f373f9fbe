"""The protobuf encoder of the ONNX messages archspec writes, so `archspec compile` never
imports the onnx package (a tenth of a ResNet-50 compile) and streams tensors straight from
their arrays. Fields are written in number order, repeated scalars unpacked (onnx.proto is
proto2): the canonical encoding, so parsing a file and serialising it again gives the same bytes
(tests check it against onnx.helper). The encoding is total: every value is written exactly or
refused with an EncodeError naming it (an int beyond int64, a float beyond float32, an
attribute type archspec does not write), never wrapped or truncated.
"""

from __future__ import annotations

import math
import numbers
import struct
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from archspec.parallel import Array

VARINT, FIXED32, LEN = 0, 5, 2
FLOAT, FLOAT16, INT64 = 1, 10, 7  # TensorProto.DataType
DTYPES = {np.dtype(t): code for t, code in (  # numpy dtype -> TensorProto.DataType
    (np.float32, FLOAT), (np.uint8, 2), (np.int8, 3), (np.uint16, 4), (np.int16, 5), (np.int32, 6),
    (np.int64, INT64), (np.bool_, 9), (np.float16, FLOAT16), (np.float64, 11), (np.uint32, 12),
    (np.uint64, 13), (np.complex64, 14), (np.complex128, 15))}
# AttributeProto.AttributeType: those written, and those refused by the name of the onnx message
# that would hold them (archspec builds no subgraphs, sparse tensors or type attributes)
ATTR_FLOAT, ATTR_INT, ATTR_STRING, ATTR_TENSOR = 1, 2, 3, 4
ATTR_FLOATS, ATTR_INTS, ATTR_STRINGS, ATTR_TENSORS = 6, 7, 8, 9
REFUSED = {"GraphProto": "GRAPH", "SparseTensorProto": "SPARSE_TENSOR", "TypeProto": "TYPE_PROTO"}
EXTERNAL = 1  # TensorProto.DataLocation
INT64_MIN, INT64_MAX, UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1
FLOAT32_MAX = float(np.finfo(np.float32).max)
# the IR version of the onnx release that introduced each opset: the oldest runtime that loads it
IR_VERSION = {13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11, 24: 12,
              25: 13, 26: 13, 27: 13, 28: 14}


class CompileError(ValueError):
    """Options or a graph that cannot become the ONNX model asked for."""


class EncodeError(CompileError):
    """A value the ONNX encoding cannot hold: the message names it."""


def varint(n: int) -> bytes:
    """A varint of an int64 (negative as two's complement, as protobuf does) or a uint64."""
    if 0 <= n < 0x80:  # most lengths, field keys and attribute values
        return _BYTE[n]
    if not INT64_MIN <= n <= UINT64_MAX:
        raise EncodeError(f"{n} does not fit in 64 bits")
    n &= UINT64_MAX
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_BYTE = [bytes((i,)) for i in range(0x80)]


def key(field: int, wire: int = LEN) -> bytes:
    return varint(field << 3 | wire)


def int_field(field: int, n: int) -> bytes:
    """An int64 field (every integer field archspec writes is int64 or an enum)."""
    if not INT64_MIN <= n <= INT64_MAX:
        raise EncodeError(f"{n} is outside the int64 range [-2^63, 2^63-1]")
    return key(field, VARINT) + varint(n)


def float_field(field: int, x: float) -> bytes:
    """A float (float32) field; inf and nan are kept, a finite value beyond float32 is refused."""
    if math.isfinite(x) and abs(x) > FLOAT32_MAX:
        raise EncodeError(f"{x} is outside the float32 range (|x| <= {FLOAT32_MAX:.4g})")
    return key(field, FIXED32) + struct.pack("<f", x)


def bytes_field(field: int, data: bytes) -> bytes:
    return key(field) + varint(len(data)) + data


def str_field(field: int, s: str) -> bytes:
    try:
        return bytes_field(field, s.encode())
    except UnicodeEncodeError as e:
        raise EncodeError(f"{s!r} is not valid UTF-8 text ({e.reason})") from None


def ir_version(opset: int) -> int:
    if opset in IR_VERSION:
        return IR_VERSION[opset]
    from onnx import helper  # an opset newer than this table

    return helper.find_min_ir_version_for([helper.make_opsetid("", opset)])


def attribute(name: str, value: object) -> bytes:
    """AttributeProto as onnx.helper.make_attribute makes it: name 1, then f 2, i 3, s 4, t 5,
    floats 7, ints 8, strings 9 or tensors 10, then type 20. Ints (bool, numpy integers) are INT,
    floats FLOAT, str or bytes STRING, a numpy array TENSOR; a list or tuple of ints is INTS (also
    when empty), with a float among them FLOATS, of strings STRINGS, of arrays TENSORS."""
    try:
        body, kind = _attribute_value(value)
    except EncodeError as e:
        raise EncodeError(f"attribute '{name}': {e}") from None
    return str_field(1, name) + body + int_field(20, kind)


def _attribute_value(v: object) -> tuple[bytes, int]:
    if isinstance(v, numbers.Integral):
        return int_field(3, int(v)), ATTR_INT
    if isinstance(v, numbers.Real):
        return float_field(2, float(v)), ATTR_FLOAT
    if isinstance(v, str | bytes):
        return bytes_field(4, _text(v)), ATTR_STRING
    if isinstance(v, np.ndarray):
        return bytes_field(5, tensor("", v)), ATTR_TENSOR
    if isinstance(v, list | tuple):
        if all(isinstance(x, numbers.Integral) for x in v):
            return b"".join(int_field(8, int(x)) for x in v), ATTR_INTS
        if all(isinstance(x, numbers.Real) for x in v):
            return b"".join(float_field(7, float(x)) for x in v), ATTR_FLOATS
        if all(isinstance(x, str | bytes) for x in v):
            return b"".join(bytes_field(9, _text(x)) for x in v), ATTR_STRINGS
        if all(isinstance(x, np.ndarray) for x in v):
            return b"".join(bytes_field(10, tensor("", x)) for x in v), ATTR_TENSORS
        raise EncodeError(_refusal({type(x).__name__ for x in v}, "S"))
    raise EncodeError(_refusal({type(v).__name__}, ""))


def _refusal(types: set[str], plural: str) -> str:
    kinds = [REFUSED[t] + plural for t in sorted(types) if t in REFUSED]
    what = f"{kinds[0]} attributes" if kinds else f"a{' list of' if plural else ''} {', '.join(sorted(types))}"
    return f"archspec does not write {what}: it writes INT, FLOAT, STRING, TENSOR and lists of one of them"


def _text(v: str | bytes) -> bytes:
    if isinstance(v, bytes):
        return v
    try:
        return v.encode()
    except UnicodeEncodeError as e:
        raise EncodeError(f"{v!r} is not valid UTF-8 text ({e.reason})") from None


def node(op_type: str, inputs: Sequence[str], outputs: Sequence[str], name: str, attrs: dict[str, object],
         doc: str = "", domain: str = "") -> bytes:
    """NodeProto: input 1, output 2, name 3 (when given), op_type 4, attribute 5 (sorted by name),
    doc_string 6 and domain 7 (when given)."""
    return node_fields(op_type, inputs, outputs, name, attributes(attrs), doc, domain)


def attributes(attrs: dict[str, object]) -> bytes:
    """A node's attribute fields (5), sorted by name."""
    return b"".join(bytes_field(5, attribute(k, v)) for k, v in sorted(attrs.items()))


def node_fields(op_type: str, inputs: Sequence[str], outputs: Sequence[str], name: str, attrs: bytes,
                doc: str = "", domain: str = "") -> bytes:
    """NodeProto with its attribute fields encoded already (`attributes`)."""
    return (b"".join(str_field(1, i) for i in inputs) + b"".join(str_field(2, o) for o in outputs)
            + (str_field(3, name) if name else b"") + str_field(4, op_type) + attrs
            + (str_field(6, doc) if doc else b"") + (str_field(7, domain) if domain else b""))


def value_info(name: str, elem_type: int, dims: Iterable[int | str | None]) -> bytes:
    """ValueInfoProto{name, type: TypeProto{tensor_type: {elem_type, shape: {dim: [...]}}}}, as
    onnx.helper.make_tensor_value_info makes it."""
    def dim(d: int | str | None) -> bytes:
        return b"" if d is None else str_field(2, d) if isinstance(d, str) else int_field(1, d)

    try:
        shape = b"".join(bytes_field(1, dim(d)) for d in dims)
    except EncodeError as e:
        raise EncodeError(f"value '{name}': dimension {e}") from None
    tensor_type = int_field(1, elem_type) + bytes_field(2, shape)
    return str_field(1, name) + bytes_field(2, bytes_field(1, tensor_type))


def tensor_head(name: str, a: Array) -> bytes:
    """TensorProto fields before raw_data (9): dims 1, data_type 2, name 8 (when given)."""
    if a.dtype not in DTYPES:
        raise EncodeError((f"tensor '{name}': " if name else "") + f"ONNX has no data type for numpy {a.dtype}")
    return (b"".join(int_field(1, d) for d in a.shape) + int_field(2, DTYPES[a.dtype])
            + (str_field(8, name) if name else b""))


def tensor(name: str, a: np.ndarray) -> bytes:
    """A whole TensorProto, as onnx.numpy_helper.from_array makes it (raw data, little-endian)."""
    a = np.require(a, a.dtype.newbyteorder("<"), "C")
    return tensor_head(name, a) + bytes_field(9, a.tobytes())


def external(location: str, offset: int, length: int) -> bytes:
    """TensorProto fields after raw_data: external_data 13 (location, offset, length), data_location 14."""
    entries = (("location", location), ("offset", str(offset)), ("length", str(length)))
    return b"".join(bytes_field(13, str_field(1, k) + str_field(2, v)) for k, v in entries) + int_field(14, EXTERNAL)
