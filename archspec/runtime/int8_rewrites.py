"""Graph rewrites before INT8 quantisation: each replaces a pattern onnxruntime's integer kernels run
badly by the exact equivalent they run well. FP32 files are left as compiled (their initializers keep
the state_dict's names); only the model handed to the quantiser is rewritten.

- `norms_as_depthwise`: a BatchNormalization no conv absorbed (DenseNet's pre-activation norms,
  after a concat) becomes the depthwise 1x1 Conv it equals, which onnxruntime quantises into a
  QLinearConv (with the Relu after it). Left as it is, it runs in float between a
  DequantizeLinear and a QuantizeLinear, with two layout Transposes: on densenet121 its 62 norms
  took 40% of the INT8 latency (23 ms against 14 ms rewritten, one thread here).
- `pools_as_depthwise`: an AveragePool becomes the depthwise conv it equals (weights 1/(kh kw),
  exact in int8 per channel). onnxruntime's QLinearAveragePool is slow: densenet121's three
  transition pools took 0.75 ms of its INT8 run (a 2x2 pool on 56x56x128 alone 0.43 ms), all of it
  0.8 ms faster as QLinearConv.
- `stem_as_space_to_depth`: a strided conv on a few channels (the 7x7/2 stem on RGB) becomes
  SpaceToDepth(stride) and a stride-1 conv on stride^2 as many channels with a ceil(k/stride)
  kernel (the weights rearranged, zero where the kernel ends). The integer conv gathers 3 bytes per
  tap for the former and 12 for the latter: resnet50's stem took 1.43 ms in INT8 (more than its
  1.24 ms in FP32) and 0.82 ms rewritten, Pad and SpaceToDepth included.

Nothing here imports torch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

FEW_CHANNELS = 4  # below this many input channels a strided conv is rewritten (RGB, grey)


def rewrite(proto: Any) -> Any:
    """The rewrites, on a copy of the onnx ModelProto `proto` (its shapes inferred)."""
    import onnx

    out = onnx.ModelProto()
    out.CopyFrom(proto)
    shapes = _shapes(out)
    norms_as_depthwise(out, shapes)
    pools_as_depthwise(out, shapes)
    stem_as_space_to_depth(out, shapes)
    _drop_unused_initializers(out)
    return out


def norms_as_depthwise(proto: Any, shapes: dict[str, list[int]]) -> int:
    """Rewrite in place each inference BatchNormalization of a map as a depthwise Conv; how many."""
    from onnx import helper, numpy_helper

    g = proto.graph
    inits = {i.name: i for i in g.initializer}
    done = 0
    for k, n in enumerate(g.node):
        folded = _as_depthwise(n, inits, len(shapes.get(n.input[0], [])))
        if folded is None:
            continue
        weight, bias = folded
        names = [f"{n.name}.depthwise.weight", f"{n.name}.depthwise.bias"]
        g.initializer.extend([numpy_helper.from_array(weight, names[0]), numpy_helper.from_array(bias, names[1])])
        conv = helper.make_node("Conv", [n.input[0], *names], list(n.output), name=n.name, doc_string=n.doc_string,
                                group=len(bias), kernel_shape=[1] * (weight.ndim - 2))
        g.node[k].CopyFrom(conv)
        done += 1
    return done


def _as_depthwise(node: Any, inits: dict[str, Any], rank: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The weight [C, 1, 1...] and bias [C] of the Conv an inference BatchNormalization equals, or
    None for any other node (and for a norm whose input is not a map: Conv needs a spatial axis)."""
    from onnx import numpy_helper

    if node.op_type != "BatchNormalization" or len(node.output) != 1 or rank < 3:
        return None
    if not all(i in inits for i in node.input[1:5]):
        return None
    attrs = {a.name: a for a in node.attribute}
    eps = attrs["epsilon"].f if "epsilon" in attrs else 1e-5
    scale, shift, mean, var = (numpy_helper.to_array(inits[i]).astype(np.float64) for i in node.input[1:5])
    a = scale / np.sqrt(var + eps)
    return (a.reshape((-1,) + (1,) * (rank - 1)).astype(np.float32),
            (shift - a * mean).astype(np.float32))


def pools_as_depthwise(proto: Any, shapes: dict[str, list[int]]) -> int:
    """Rewrite in place each 2-D AveragePool the same as a conv (no padding, or padding counted in
    the average; floor mode) as a depthwise Conv; how many."""
    from onnx import helper, numpy_helper

    g = proto.graph
    done = 0
    for k, n in enumerate(g.node):
        x = shapes.get(n.input[0], [])
        if n.op_type != "AveragePool" or len(x) != 4 or not x[1]:
            continue
        a = {t.name: helper.get_attribute_value(t) for t in n.attribute}
        pads, kernel = a.get("pads", [0, 0, 0, 0]), a["kernel_shape"]
        if (a.get("ceil_mode", 0) or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET")
                or (any(pads) and not a.get("count_include_pad", 0)) or set(a.get("dilations", [1, 1])) != {1}):
            continue
        name = f"{n.name}.depthwise.weight"
        weight = np.full((x[1], 1, *kernel), 1 / math.prod(kernel), np.float32)
        g.initializer.append(numpy_helper.from_array(weight, name))
        g.node[k].CopyFrom(helper.make_node("Conv", [n.input[0], name], list(n.output), name=n.name,
                                            doc_string=n.doc_string, group=x[1], kernel_shape=kernel,
                                            strides=a.get("strides", [1, 1]), pads=pads))
        done += 1
    return done


def stem_as_space_to_depth(proto: Any, shapes: dict[str, list[int]]) -> int:
    """Rewrite in place each 2-D conv of stride s >= 2 (both axes) on fewer than FEW_CHANNELS
    channels, ungrouped and undilated, whose input size is known, as Pad, SpaceToDepth(s) and a
    stride-1 conv; how many. Skipped where the rearranged conv would not give the same size."""
    from onnx import helper, numpy_helper

    g = proto.graph
    inits = {i.name: i for i in g.initializer}
    nodes, done = [], 0
    for n in g.node:
        plan = _space_to_depth_plan(n, inits, shapes.get(n.input[0], []))
        if plan is None:
            nodes.append(n)
            continue
        s, pads, weight = plan
        names = {k: f"{n.name}.space_to_depth.{k}" for k in ("pads", "padded", "blocks", "weight")}
        g.initializer.extend([numpy_helper.from_array(np.array(pads, np.int64), names["pads"]),
                              numpy_helper.from_array(weight, names["weight"])])
        nodes += [helper.make_node("Pad", [n.input[0], names["pads"]], [names["padded"]], name=names["padded"],
                                   doc_string=n.doc_string),
                  helper.make_node("SpaceToDepth", [names["padded"]], [names["blocks"]], name=names["blocks"],
                                   doc_string=n.doc_string, blocksize=s),
                  helper.make_node("Conv", [names["blocks"], names["weight"], *n.input[2:]], list(n.output),
                                   name=n.name, doc_string=n.doc_string, kernel_shape=list(weight.shape[2:]))]
        done += 1
    del g.node[:]
    g.node.extend(nodes)
    return done


def _space_to_depth_plan(node: Any, inits: dict[str, Any],
                         x: list[int]) -> tuple[int, list[int], np.ndarray] | None:
    """(stride, Pad's pads, the rearranged weight) for a conv `stem_as_space_to_depth` rewrites."""
    from onnx import helper, numpy_helper

    if node.op_type != "Conv" or len(x) != 4 or node.input[1] not in inits:
        return None
    a = {t.name: helper.get_attribute_value(t) for t in node.attribute}
    w = numpy_helper.to_array(inits[node.input[1]])
    strides, pads = a.get("strides", [1, 1]), a.get("pads", [0, 0, 0, 0])
    if (w.ndim != 4 or w.shape[1] >= FEW_CHANNELS or a.get("group", 1) != 1 or set(a.get("dilations", [1, 1])) != {1}
            or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET") or len(set(strides)) != 1 or strides[0] < 2):
        return None
    s, (h, wd), k = strides[0], x[2:], w.shape[2:]
    ends = []
    for size, before, after, kernel in ((h, pads[0], pads[2], k[0]), (wd, pads[1], pads[3], k[1])):
        padded = size + before + after
        if padded < kernel:
            return None
        wanted = (padded - kernel) // s + 1
        total = math.ceil(padded / s) * s  # SpaceToDepth needs multiples of s
        if total // s - math.ceil(kernel / s) + 1 != wanted:
            return None
        ends.append(after + total - padded)
    o, c = w.shape[:2]
    kh, kw = math.ceil(k[0] / s), math.ceil(k[1] / s)
    # SpaceToDepth puts input (c, s*i + dy, s*j + dx) at channel (dy*s + dx)*c + c, position (i, j)
    full = np.zeros((o, c, kh * s, kw * s), np.float32)
    full[:, :, :k[0], :k[1]] = w
    rearranged = full.reshape(o, c, kh, s, kw, s).transpose(0, 3, 5, 1, 2, 4).reshape(o, s * s * c, kh, kw)
    return s, [0, 0, pads[0], pads[1], 0, 0, ends[0], ends[1]], np.ascontiguousarray(rearranged)


def _shapes(proto: Any) -> dict[str, list[int]]:
    """The dims (0 where symbolic) of every value onnx's shape inference types."""
    import onnx

    g = onnx.shape_inference.infer_shapes(proto).graph
    return {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in [*g.input, *g.value_info, *g.output]
            if v.type.tensor_type.HasField("shape")}


def _drop_unused_initializers(proto: Any) -> None:
    g = proto.graph
    used = {i for n in g.node for i in n.input}
    kept = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(kept)
