"""A protobuf encoder for the few ONNX messages archspec writes, so `archspec compile` never
imports the onnx package (a tenth of a ResNet-50 compile) and streams tensors straight from
their arrays. Fields are written in number order, repeated scalars unpacked (onnx.proto is
proto2): the canonical encoding, so parsing a file and serialising it again gives the same bytes
(a test checks it against onnx).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from archspec.parallel import Array

VARINT, FIXED32, LEN = 0, 5, 2
FLOAT, FLOAT16, INT64 = 1, 10, 7  # TensorProto.DataType
DTYPES = {np.dtype(np.float32): FLOAT, np.dtype(np.float16): FLOAT16, np.dtype(np.int64): INT64,
          np.dtype(np.float64): 11, np.dtype(np.int32): 6, np.dtype(np.bool_): 9, np.dtype(np.uint8): 2}
ATTR_FLOAT, ATTR_INT, ATTR_STRING, ATTR_FLOATS, ATTR_INTS = 1, 2, 3, 6, 7  # AttributeProto.AttributeType
EXTERNAL = 1  # TensorProto.DataLocation
# the IR version of the onnx release that introduced each opset: the oldest runtime that loads it
IR_VERSION = {13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11, 24: 12,
              25: 13, 26: 13, 27: 13, 28: 14}


def varint(n: int) -> bytes:
    if 0 <= n < 0x80:  # most lengths, field keys and attribute values
        return _BYTE[n]
    n &= (1 << 64) - 1  # negative int64 as two's complement, as protobuf does
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
    return key(field, VARINT) + varint(n)


def bytes_field(field: int, data: bytes) -> bytes:
    return key(field) + varint(len(data)) + data


def str_field(field: int, s: str) -> bytes:
    return bytes_field(field, s.encode())


def ir_version(opset: int) -> int:
    if opset in IR_VERSION:
        return IR_VERSION[opset]
    from onnx import helper  # an opset newer than this table

    return helper.find_min_ir_version_for([helper.make_opsetid("", opset)])


def attribute(name: str, value: object) -> bytes:
    """AttributeProto: name 1, f 2, i 3, s 4, floats 7, ints 8, type 20 (as onnx.helper makes them)."""
    if isinstance(value, bool | int):
        body, kind = int_field(3, int(value)), ATTR_INT
    elif isinstance(value, float):
        body, kind = key(2, FIXED32) + struct.pack("<f", value), ATTR_FLOAT
    elif isinstance(value, str):
        body, kind = str_field(4, value), ATTR_STRING
    elif all(isinstance(v, int) for v in value):  # type: ignore[attr-defined]
        body, kind = b"".join(int_field(8, int(v)) for v in value), ATTR_INTS  # type: ignore[attr-defined]
    else:
        body = b"".join(key(7, FIXED32) + struct.pack("<f", v) for v in value)  # type: ignore[attr-defined]
        kind = ATTR_FLOATS
    return str_field(1, name) + body + int_field(20, kind)


def node(op_type: str, inputs: Sequence[str], outputs: Sequence[str], name: str, attrs: dict[str, object]) -> bytes:
    """NodeProto: input 1, output 2, name 3, op_type 4, attribute 5 (sorted by name)."""
    return (b"".join(str_field(1, i) for i in inputs) + b"".join(str_field(2, o) for o in outputs)
            + str_field(3, name) + str_field(4, op_type)
            + b"".join(bytes_field(5, attribute(k, v)) for k, v in sorted(attrs.items())))


def value_info(name: str, elem_type: int, dims: Iterable[int | str | None]) -> bytes:
    """ValueInfoProto{name, type: TypeProto{tensor_type: {elem_type, shape: {dim: [...]}}}}."""
    def dim(d: int | str | None) -> bytes:
        return b"" if d is None else str_field(2, d) if isinstance(d, str) else int_field(1, d)

    shape = b"".join(bytes_field(1, dim(d)) for d in dims)
    tensor = int_field(1, elem_type) + bytes_field(2, shape)
    return str_field(1, name) + bytes_field(2, bytes_field(1, tensor))


def tensor_head(name: str, a: Array) -> bytes:
    """TensorProto fields before raw_data (9): dims 1, data_type 2, name 8."""
    return b"".join(int_field(1, d) for d in a.shape) + int_field(2, DTYPES[a.dtype]) + str_field(8, name)


def external(location: str, offset: int, length: int) -> bytes:
    """TensorProto fields after raw_data: external_data 13 (location, offset, length), data_location 14."""
    entries = (("location", location), ("offset", str(offset)), ("length", str(length)))
    return b"".join(bytes_field(13, str_field(1, k) + str_field(2, v)) for k, v in entries) + int_field(14, EXTERNAL)
