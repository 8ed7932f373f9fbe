"""A float64 numpy interpreter of the IR, written from PyTorch's definitions of each op: the
reference the ONNX lowerings are checked against, node by node."""

from __future__ import annotations

import math

import numpy as np

from archspec.ir import Graph, Node
from archspec.ops.base import pads, pair


def evaluate(graph: Graph, weights: dict[str, np.ndarray], x: np.ndarray) -> dict[str, np.ndarray]:
    """Every node's value (BN in inference form, dropout the identity)."""
    vals = {graph.input: x.astype(np.float64)}
    for n in graph.nodes.values():
        if n.op != "input":
            w = {k: np.asarray(weights[f"{n.name}.{k}"], np.float64) for k in (*n.weights, *n.buffers)}
            vals[n.name] = OPS[n.op](n, [vals[i] for i in n.inputs], w)
    return vals


def conv(n: Node, ins: list[np.ndarray], w: dict) -> np.ndarray:
    p, x = n.params, ins[0]
    (sh, sw), (dh, dw), (t, left, b, r) = pair(p.stride), pair(p.dilation), pads(p.pad)
    x = np.pad(x, ((0, 0), (0, 0), (t, b), (left, r)))
    k = w["weight"]
    o, cg, kh, kw = k.shape
    oh, ow = (x.shape[2] - dh * (kh - 1) - 1) // sh + 1, (x.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((x.shape[0], o, oh, ow))
    og = o // p.groups
    for g in range(p.groups):
        xs = x[:, g * cg:(g + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh, j * dw: j * dw + sw * (ow - 1) + 1: sw]
                out[:, g * og:(g + 1) * og] += np.einsum("nchw,oc->nohw", patch, k[g * og:(g + 1) * og, :, i, j])
    return out + w["bias"].reshape(1, -1, 1, 1) if "bias" in w else out


def pool(n: Node, ins: list[np.ndarray], w: dict) -> np.ndarray:
    """PyTorch's windows: start i*s - pad; max over the input part; the average divides by the
    window clipped to input + pads (count_include_pad) or by its input part."""
    p, x = n.params, ins[0]
    (kh, kw), (sh, sw), (t, left, b, r) = pair(p.kernel), p.strides(), pads(p.pad)
    _, oh, ow = n.shape
    h, wd = x.shape[2:]
    out = np.zeros((*x.shape[:2], oh, ow))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * sh - t, j * sw - left
            r1, c1 = min(r0 + kh, h + b), min(c0 + kw, wd + r)
            win = x[:, :, max(r0, 0):min(r1, h), max(c0, 0):min(c1, wd)]
            if n.op == "maxpool":
                out[:, :, i, j] = win.max(axis=(2, 3))
            else:
                div = (r1 - r0) * (c1 - c0) if p.count_include_pad else win.shape[2] * win.shape[3]
                out[:, :, i, j] = win.sum(axis=(2, 3)) / div
    return out


def adaptive_avgpool(n: Node, ins: list[np.ndarray], w: dict) -> np.ndarray:
    """torch's AdaptiveAvgPool2d: cell i of m over n averages [floor(i*n/m), ceil((i+1)*n/m))."""
    x, (_, oh, ow) = ins[0], n.shape
    h, wd = x.shape[2:]
    out = np.zeros((*x.shape[:2], oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = x[:, :, i * h // oh: -(-(i + 1) * h // oh), j * wd // ow: -(-(j + 1) * wd // ow)]
            out[:, :, i, j] = win.mean(axis=(2, 3))
    return out


def bn(n: Node, ins: list[np.ndarray], w: dict) -> np.ndarray:
    shape = (1, -1) + (1,) * (ins[0].ndim - 2)
    y = (ins[0] - w["running_mean"].reshape(shape)) / np.sqrt(w["running_var"].reshape(shape) + n.params.eps)
    return y * w["weight"].reshape(shape) + w["bias"].reshape(shape) if n.params.affine else y


def lrn(n: Node, ins: list[np.ndarray], w: dict) -> np.ndarray:
    p, x = n.params, ins[0]
    c = x.shape[1]
    sq = np.zeros_like(x)
    for o in range(c):
        sq[:, o] = (x[:, max(0, o - p.size // 2): o + (p.size - 1) // 2 + 1] ** 2).sum(axis=1)
    return x / (p.k + p.alpha / p.size * sq) ** p.beta


def softplus(n: Node, ins: list[np.ndarray], w: dict) -> np.ndarray:
    p, x = n.params, ins[0]
    return np.where(p.beta * x > p.threshold, x, np.log1p(np.exp(p.beta * x)) / p.beta)


def elu(n: Node, ins: list[np.ndarray], w: dict) -> np.ndarray:
    a = w["a"][0] if n.params.trainable else n.params.a
    return np.where(ins[0] > 0, ins[0], a * (np.exp(np.minimum(ins[0], 0)) - 1))


def channel_pad(n: Node, ins: list[np.ndarray], w: dict) -> np.ndarray:
    x = ins[0][:, :, ::n.params.stride, ::n.params.stride]
    before = (n.params.out - x.shape[1]) // 2
    return np.pad(x, ((0, 0), (before, n.params.out - x.shape[1] - before), (0, 0), (0, 0)))


def softmax(n: Node, ins: list[np.ndarray], w: dict) -> np.ndarray:
    e = np.exp(ins[0] - ins[0].max(axis=n.params.axis, keepdims=True))
    return e / e.sum(axis=n.params.axis, keepdims=True)


def linear(n: Node, ins: list[np.ndarray], w: dict) -> np.ndarray:
    y = ins[0] @ w["weight"].T
    return y + w["bias"] if "bias" in w else y


OPS = {
    "conv": conv,
    "maxpool": pool,
    "avgpool": pool,
    "adaptive_avgpool": adaptive_avgpool,
    "global_avgpool": lambda n, ins, w: ins[0].mean(axis=(2, 3), keepdims=True),
    "linear": linear,
    "flatten": lambda n, ins, w: ins[0].reshape(ins[0].shape[0], math.prod(ins[0].shape[1:])),
    "bn": bn,
    "lrn": lrn,
    "relu": lambda n, ins, w: np.maximum(ins[0], 0),
    "leaky_relu": lambda n, ins, w: np.where(ins[0] > 0, ins[0], n.params.slope * ins[0]),
    "shifted_relu": lambda n, ins, w: np.maximum(ins[0], 0) - n.params.alpha,
    "elu": elu,
    "softplus": softplus,
    "sigmoid": lambda n, ins, w: 1 / (1 + np.exp(-ins[0])),
    "tanh": lambda n, ins, w: np.tanh(ins[0]),
    "softmax": softmax,
    "dropout": lambda n, ins, w: ins[0],
    "add": lambda n, ins, w: sum(ins[1:], ins[0]),
    "concat": lambda n, ins, w: np.concatenate(ins, axis=n.params.axis),
    "scale": lambda n, ins, w: ins[0] * n.params.value,
    "channel_pad": channel_pad,
    "identity": lambda n, ins, w: ins[0],
}
