"""The numerical checks of a well-formed spec, shared by the fuzzer and tests/test_fuzz.py."""

from __future__ import annotations

from pathlib import Path

TOLERANCE = 1e-4  # of the output's largest |value|, as `archspec verify` by default


def check_spec(path: Path | str, seed: int = 0) -> str:
    """'' when the spec's summary totals equal the sum over its nodes, its ONNX model passes the
    full checker, and onnxruntime equals torch in deploy and train mode; what failed otherwise."""
    import onnx
    import torch

    import archspec
    from archspec.cli.verify import compare
    from archspec.torch_backend import state_arrays

    model = archspec.load(path)
    nodes = [n for n in model.graph.nodes.values() if not n.train_only]
    if model.params != sum(n.params_count for n in nodes):
        return f"params {model.params} != the nodes' sum {sum(n.params_count for n in nodes)}"
    if model.macs != sum(n.macs for n in nodes):
        return f"MACs {model.macs} != the nodes' sum {sum(n.macs for n in nodes)}"
    net = model.to_torch(seed=seed)
    onnx.checker.check_model(model.to_onnx(weights=state_arrays(net)), full_check=True)
    x = torch.randn(2, *model.input_shape, generator=torch.Generator().manual_seed(seed))
    for row in compare(model, net, x, ["deploy", "train"]):
        rel = row["abs"] / row["scale"] if row["scale"] > 0 else row["abs"]
        if not rel <= TOLERANCE:
            return f"{row['mode']} {row['output']}: onnxruntime and torch differ by {rel:.3g} of the scale"
    return ""
