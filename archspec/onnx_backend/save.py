"""Writing a compiled model atomically: tensors streamed from their arrays, or moved to an
external data file when they exceed a size.

The model comes as a ModelProto whose initializers carry no bytes, plus the arrays. Inline,
the file is the exact protobuf encoding of the full model (`emit.attach(model).SerializeToString()`,
a test checks the bytes), written piece by piece, so the weights are never copied into a
protobuf message nor serialised through one: for ResNet-50 that is most of a compile's time.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
from google.protobuf.message import Message
from onnx import ModelProto, TensorProto

from archspec.io import atomic_path
from archspec.onnx_backend.emit import Tensors

EXTERNAL_DATA_THRESHOLD = 2_000_000_000  # bytes of tensors; protobuf cannot encode 2 GiB
EXTERNAL_MIN_TENSOR = 1024  # smaller tensors stay inline
ALIGN = 4096  # tensor offsets in the data file, so runtimes can map them page by page
LEN = 2  # protobuf wire type of bytes and embedded messages
GRAPH, INITIALIZER, RAW_DATA = 7, 5, 9  # field numbers: ModelProto.graph, GraphProto.initializer, TensorProto.raw_data


def save_model(model: ModelProto, tensors: Tensors, path: str | Path,
               external_threshold: int = EXTERNAL_DATA_THRESHOLD) -> Path:
    """Write the model to `path` (its large tensors to `<path>.data` when all tensors together exceed
    the threshold). A failure leaves no new file and an existing one untouched."""
    path = Path(path)
    if sum(a.nbytes for a in tensors.values()) <= external_threshold:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            _stream(model, tensors, f)
        return path
    data = path.with_name(path.name + ".data")
    # the data file is renamed first, so the model never points at a missing file
    with atomic_path(path) as tmp_model, atomic_path(data) as tmp_data:
        inline = _externalise(model, tensors, tmp_data, data.name)
        with open(tmp_model, "wb") as f:
            _stream(model, inline, f)
    return path


def _stream(model: ModelProto, tensors: Tensors, f: BinaryIO) -> None:
    """The encoding of `model` with each initializer's raw_data taken from `tensors`. Protobuf
    writes fields in number order, so the graph splits around its initializers (field 5), the
    model around its graph (field 7), and each tensor's bytes (field 9) follow its other fields."""
    m_head, m_tail = _split(model, GRAPH)
    g_head, g_tail = _split(model.graph, INITIALIZER)
    parts = []
    for t in model.graph.initializer:
        meta, a = t.SerializeToString(), tensors.get(t.name)
        raw = b"" if a is None else _key(RAW_DATA) + _varint(a.nbytes)
        size = len(meta) + len(raw) + (0 if a is None else a.nbytes)
        parts.append((_key(INITIALIZER) + _varint(size) + meta + raw, a))
    graph_size = len(g_head) + sum(len(p) + (0 if a is None else a.nbytes) for p, a in parts) + len(g_tail)
    f.write(m_head + _key(GRAPH) + _varint(graph_size) + g_head)
    for prefix, a in parts:
        f.write(prefix)
        if a is not None:
            f.write(a.reshape(-1).view(np.uint8))
    f.write(g_tail + m_tail)


def _split(msg: Message, number: int) -> tuple[bytes, bytes]:
    """The encodings of `msg`'s fields numbered below and above `number` (copies without tensor
    bytes are small)."""
    head, tail = type(msg)(), type(msg)()
    head.CopyFrom(msg)
    tail.CopyFrom(msg)
    for field, _ in msg.ListFields():
        if field.number >= number:
            head.ClearField(field.name)
        if field.number <= number:
            tail.ClearField(field.name)
    return head.SerializeToString(), tail.SerializeToString()


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _key(number: int) -> bytes:
    return _varint(number << 3 | LEN)


def _externalise(model: ModelProto, tensors: Tensors, data_path: Path, location: str) -> Tensors:
    """Write tensors of EXTERNAL_MIN_TENSOR bytes or more to the data file and point their
    initializers at it; returns the tensors that stay inline."""
    inline = {}
    with open(data_path, "wb") as f:
        for t in model.graph.initializer:
            a = tensors[t.name]
            if a.nbytes < EXTERNAL_MIN_TENSOR:
                inline[t.name] = a
                continue
            offset = -(-f.tell() // ALIGN) * ALIGN
            f.seek(offset)
            f.write(a.reshape(-1).view(np.uint8))
            t.data_location = TensorProto.EXTERNAL
            for k, v in (("location", location), ("offset", str(offset)), ("length", str(a.nbytes))):
                t.external_data.add(key=k, value=v)
    return inline
