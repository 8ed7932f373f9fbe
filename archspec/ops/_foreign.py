"""Op names of other frameworks (PyTorch's nn modules and functions, Keras layers): what archspec
calls each, or that it has none. An unknown op key is looked up here before any spelling hint, so
`hardtanh` is never answered with `tanh`, nor `selu` with `elu`: their maths differ."""

from __future__ import annotations

# normalised name (lower case, no '_') -> archspec's op or combinator, or None with what to do instead
FOREIGN: dict[str, tuple[str | None, str]] = {
    "conv2d": ("conv", ""), "conv": ("conv", ""), "depthwiseconv2d": ("conv", "with groups: <in channels>"),
    "separableconv2d": (None, "a conv with groups: <in channels> followed by a 1x1 conv"),
    "batchnorm2d": ("bn", ""), "batchnorm1d": ("bn", ""), "batchnormalization": ("bn", ""),
    "relu": ("relu", ""), "relu6": ("relu6", ""), "leakyrelu": ("leaky_relu", ""), "elu": ("elu", ""),
    "gelu": ("gelu", ""), "silu": ("silu", ""), "swish": ("silu", ""), "sigmoid": ("sigmoid", ""),
    "tanh": ("tanh", ""), "softmax": ("softmax", ""), "softplus": ("softplus", ""),
    "hardswish": ("hardswish", ""), "hardsigmoid": ("hardsigmoid", ""),
    "hardtanh": (None, "relu6 is Hardtanh(0, 6); other bounds are missing"),
    "selu": (None, "elu is not SELU (no scale)"), "celu": (None, ""), "prelu": (None, "leaky_relu has a fixed slope"),
    "mish": (None, ""), "logsoftmax": (None, "softmax is not its log"), "softsign": (None, ""),
    "maxpool2d": ("maxpool", ""), "maxpooling2d": ("maxpool", ""), "avgpool2d": ("avgpool", ""),
    "averagepooling2d": ("avgpool", ""), "adaptiveavgpool2d": ("adaptive_avgpool", ""),
    "globalaveragepooling2d": ("global_avgpool", ""), "globalavgpool": ("global_avgpool", ""),
    "adaptivemaxpool2d": (None, ""), "globalmaxpooling2d": (None, ""),
    "linear": ("linear", ""), "dense": ("linear", "Keras' Dense is nn.Linear; archspec's 'dense' is DenseNet's block"),
    "fc": ("linear", ""), "flatten": ("flatten", ""), "dropout": ("dropout", ""), "identity": ("identity", ""),
    "layernorm": ("layer_norm", ""), "layernormalization": ("layer_norm", ""), "layernorm2d": ("layer_norm", ""),
    "groupnorm": (None, ""), "instancenorm2d": (None, ""), "localresponsenorm": ("lrn", ""),
    "reshape": ("reshape", ""), "view": ("reshape", ""), "permute": ("permute", ""), "transpose": ("permute", ""),
    "cat": ("concat", ""), "concatenate": ("concat", ""), "add": ("add", ""), "multiply": ("mul", ""),
    "mul": ("mul", ""), "chunk": ("split", ""), "channelshuffle": ("channel_shuffle", ""),
    "sequential": ("seq", ""), "stochasticdepth": ("stochastic_depth", ""), "droppath": ("stochastic_depth", ""),
    "convtranspose2d": (None, ""), "conv2dtranspose": (None, ""), "upsample": (None, ""),
    "upsampling2d": (None, ""), "zeropadding2d": (None, "give the next conv or pool 'pad'"),
    "embedding": (None, ""), "multiheadattention": (None, ""), "lstm": (None, ""), "gru": (None, ""),
}


def foreign_hint(key: str, known: set[str]) -> str | None:
    """The hint for `key` if it is another framework's op name, else None."""
    norm = key.lower().replace("_", "")
    if norm not in FOREIGN:
        return None
    ours, note = FOREIGN[norm]
    if ours is not None and ours in known:
        return f"archspec calls it '{ours}'" + (f" ({note})" if note else "")
    return f"archspec has no '{key}' op" + (f": {note}" if note else "")
