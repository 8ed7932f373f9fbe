"""The model metadata a compiled file carries: what spec it is, how to feed it, where each node came from."""

from __future__ import annotations

import json
import os
from functools import cache
from typing import TYPE_CHECKING, Any

from archspec.ir import Graph
from archspec.loader import BUILTIN_DIR
from archspec.source import Pos

if TYPE_CHECKING:
    from archspec.model import Model


# The metadata_props keys; every value is JSON but those of META_VERSION, META_SPEC, META_HASH,
# META_MODE and META_WEIGHTS (plain strings).
META_VERSION, META_SPEC, META_HASH, META_MODE, META_WEIGHTS = "archspec_version", "spec", "spec_hash", "mode", "weights"
META_INPUT, META_PREPROCESS, META_LABELS, META_SOURCES = "input", "preprocess", "labels", "sources"


def _json(v: Any) -> str:
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def source_label(pos: Pos, spec_dir: str) -> str:
    """`file:line`, the file relative to the spec's folder (built-in files as `builtin:...`), so the
    label does not depend on where the spec sits on this machine."""
    return f"{_file_label(pos.file, spec_dir)}:{pos.line}"


@cache  # a spec has a few files and hundreds of nodes
def _file_label(file: str, spec_dir: str) -> str:
    builtin = str(BUILTIN_DIR.resolve())
    file = os.path.abspath(file)
    if file.startswith(builtin + os.sep):
        return f"builtin:{os.path.relpath(file, builtin)}"
    return os.path.relpath(file, spec_dir)


def metadata(model: Model, graph: Graph, mode: str, weights: str) -> dict[str, str]:
    from archspec import __version__

    spec, spec_dir = model.spec, str(model.source.path.parent)
    return {
        META_VERSION: __version__,
        META_SPEC: model.name,
        META_HASH: model.spec_hash,
        META_MODE: mode,
        META_WEIGHTS: weights,
        META_INPUT: _json({"name": graph.input, "shape": list(model.input_shape)}),
        META_PREPROCESS: _json(spec.preprocess.model_dump(mode="json") if spec.preprocess else None),
        META_LABELS: _json(spec.labels),
        META_SOURCES: _json({n.name: source_label(n.pos, spec_dir) for n in graph.nodes.values() if n.pos}),
    }
