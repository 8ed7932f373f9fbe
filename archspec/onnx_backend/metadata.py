"""The model metadata a compiled file carries: what spec it is, how to feed it, where each node came from."""

from __future__ import annotations

import json
from typing import Any

from archspec._version import __version__
from archspec.ir import Graph
from archspec.program import Program

# The metadata_props keys; every value is JSON but those of META_VERSION, META_SPEC, META_HASH,
# META_MODE and META_WEIGHTS (plain strings).
META_VERSION, META_SPEC, META_HASH, META_MODE, META_WEIGHTS = "archspec_version", "spec", "spec_hash", "mode", "weights"
META_INPUT, META_PREPROCESS, META_LABELS, META_SOURCES = "input", "preprocess", "labels", "sources"


def _json(v: Any) -> str:
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def metadata(program: Program, graph: Graph, mode: str, weights: str) -> dict[str, str]:
    """The metadata of `graph` (the compiled mode's graph, made from `program.graph` by passes)."""
    sources = program.sources
    return {
        META_VERSION: __version__,
        META_SPEC: program.name,
        META_HASH: program.spec_hash,
        META_MODE: mode,
        META_WEIGHTS: weights,
        META_INPUT: _json({"name": graph.input, "shape": list(program.input_shape)}),
        META_PREPROCESS: _json(program.preprocess),
        META_LABELS: _json(program.labels),
        META_SOURCES: _json({n: sources[n] for n in graph.nodes if n in sources}),
    }
