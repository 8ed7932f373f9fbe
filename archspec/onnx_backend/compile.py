"""The compile pipeline: a Program (the front end's product) and options -> weights, deploy passes,
emission. `to_onnx` never imports torch (unless asked to read a torch checkpoint)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from archspec.ir import Graph
from archspec.onnx_backend import proto
from archspec.onnx_backend.emit import Compiled, CompileError, Dims, emit
from archspec.onnx_backend.metadata import metadata
from archspec.onnx_backend.save import EXTERNAL_DATA_THRESHOLD, save_model
from archspec.parallel import Array, cancel
from archspec.passes import Pipeline, deploy
from archspec.passes.drop_train_only import eval_outputs, live_nodes
from archspec.program import Program
from archspec.weights import check_weights, init_weights, load_weights

if TYPE_CHECKING:
    import onnx

MIN_OPSET = 13
DEFAULT_OPSET = 17  # run by onnxruntime >= 1.12 (2022) and every runtime since
MODES = ("deploy", "train")
Weights = dict[str, np.ndarray] | str | Path | None  # given arrays, a file, or drawn from the seed


@dataclass(frozen=True)
class Options:
    opset: int = DEFAULT_OPSET
    batch: int | None = None  # None: the symbolic batch "N"
    dynamic_hw: bool = False  # symbolic "H" and "W" (specs whose weights do not depend on the size)
    fp16: bool = False  # weights, input and outputs in float16
    mode: str = "deploy"  # deploy: eval outputs, no dropout, BN folded; train: every output, BN and Dropout
    fold_bn: bool = True
    functions: bool = False  # each block (scope) an ONNX model-local function

    def check(self) -> None:
        newest = max(proto.IR_VERSION)  # the newest opset archspec knows; a newer one asks onnx
        if self.opset > newest:
            from onnx import defs

            newest = defs.onnx_opset_version()
        if not MIN_OPSET <= self.opset <= newest:
            raise CompileError(f"opset {self.opset} is not supported: use {MIN_OPSET} to {newest}")
        if self.batch is not None and self.batch < 1:
            raise CompileError(f"batch must be at least 1, got {self.batch}")
        if self.mode not in MODES:
            raise CompileError(f"mode must be one of {', '.join(MODES)}, got '{self.mode}'")


def to_onnx(program: Program, *, weights: Weights = None, seed: int = 0, **options: object) -> onnx.ModelProto:
    """The ONNX model of `program`. `weights`: a state_dict of arrays, a weights file, or None for
    PyTorch-default initial values drawn from `seed`. `options`: the fields of `Options`."""
    return compile_model(program, weights=weights, seed=seed, **options).proto()


def save_onnx(program: Program, path: str | Path, *, external_threshold: int = EXTERNAL_DATA_THRESHOLD,
              weights: Weights = None, seed: int = 0, **options: object) -> Path:
    """Compile and write atomically; when the tensors exceed `external_threshold` bytes they go to
    `<path>.data`. The file's bytes are those of `to_onnx(...).SerializeToString()`."""
    return save_model(compile_model(program, weights=weights, seed=seed, **options), path, external_threshold)


def compile_model(program: Program, *, weights: Weights = None, seed: int = 0, **options: object) -> Compiled:
    """The encoded model with its tensors as arrays, some maybe still being drawn (see emit.Compiled),
    and the report of its passes; no onnx import."""
    opts = Options(**options)  # type: ignore[arg-type]
    opts.check()
    graph = program.graph
    # only the nodes of the mode's graph get (and need) weights: in deploy, the eval outputs' nodes
    live = live_nodes(graph, eval_outputs(graph) if opts.mode == "deploy" else graph.outputs)
    arrays: Mapping[str, Array]
    if weights is None:  # large arrays are drawn on the pool while the model is laid out and written
        arrays, desc = init_weights(graph, seed, live, defer=True), f"seed {seed}"
    elif isinstance(weights, dict):
        arrays, desc = weights, "given"
    else:
        arrays, desc = load_weights(weights), Path(weights).name
    try:
        return _passes_and_emit(program, check_weights(graph, arrays, live), opts, desc)
    except BaseException:
        cancel(arrays.values())  # a failed compile does not wait for weights it will not write
        raise


def _passes_and_emit(program: Program, arrays: dict[str, Array], opts: Options, desc: str) -> Compiled:
    ran = (deploy(opts.fold_bn) if opts.mode == "deploy" else Pipeline(())).run(program.graph, arrays)
    graph = ran.graph
    dims = _free_hw_dims(program, graph) if opts.dynamic_hw else {}
    compiled = emit(graph, ran.weights, opset=opts.opset, batch=opts.batch or "N", fp16=opts.fp16, dims=dims,
                    metadata=metadata(program, graph, opts.mode, desc), doc=program.description,
                    sources=program.sources, functions=opts.functions)
    return replace(compiled, report=tuple(str(s) for s in ran.steps))


def _free_hw_dims(program: Program, graph: Graph) -> dict[str, Dims]:
    """Input [C, "H", "W"]; a dim of any other value that changes with the input size is left
    unknown (the front end finds which by expanding the spec again at another size)."""
    shape, name = program.input_shape, program.name
    if len(shape) != 3:
        raise CompileError(f"--dynamic-hw needs an image input [C,H,W]; {name} takes {list(shape)}")
    c, h, w = shape
    dep = program.size_dependence()
    if dep.error:
        raise CompileError(f"--dynamic-hw: {name} does not accept a {dep.size[1]}x{dep.size[2]} input: "
                           f"{dep.error}")
    for n in graph.nodes.values():
        if n.name in dep.sized_weights:
            raise CompileError(f"--dynamic-hw: {name} takes only {h}x{w} inputs: the weights of "
                               f"'{n.name}' ({n.op}) depend on the input size")
    # its lowering (kernel or matrices) is computed for one size; the program's graph is asked, as
    # deploy drops a node that is the identity at this size only (adaptive_avgpool 6x6 of a 6x6 map)
    kept = {o.name for o in graph.outputs}
    for n in live_nodes(program.graph, [o for o in program.graph.outputs if o.name in kept]):
        if n.name != graph.input and n.impl.tied_to_input_size(n):
            raise CompileError(f"--dynamic-hw: '{n.name}' ({n.op} to {'x'.join(map(str, n.shape[1:]))}) is "
                               f"lowered for the {h}x{w} input only")
    dims: dict[str, Dims] = {n.name: tuple(None if v else d for d, v in zip(n.shape, dep.varying[n.name]))
                             for n in graph.nodes.values() if n.name in dep.varying}
    dims[graph.input] = (c, "H", "W")
    return dims
