"""Expansion: a spec's blocks, args, expressions, repeats and combinators become the flat IR.

Naming follows nn.Sequential: an item without `name:` is named by its position in
its scope. Block calls, named combinators and concat branches open a scope
(`layer1.0.`); unnamed combinators, `repeat` and `if` are transparent for names, but an
unnamed combinator takes one position and numbers its unnamed items under it. Every node's
shape, weights and MACs are inferred as it is created, so errors point at the
item that caused them. An error poisons only the tensor it produced: later items
that consume it are skipped, independent ones are still checked.

Besides args and loop variables, the expressions of op params, block args (and defaults) and `if:` see
`in_channels` (`in_height`, `in_width` of a [C,H,W] input) of the tensor the item receives; an
`outputs:` entry's `from` may name a block call or named combinator, meaning its output.

Combinators are a registry (`archspec.expand.combinators`): a new one is one class that
declares its key, its Pydantic model, its expansion through the typed `Context` (the
expander) and its JSON Schema; block bodies and `archspec schema` follow from the registry.
"""

from __future__ import annotations

from archspec.errors import Collector
from archspec.expand.expander import Expander
from archspec.ir import Graph
from archspec.loader import Source
from archspec.spec import SpecFile, validate


def validate_spec(src: Source) -> SpecFile:
    """The spec file's top level as its Pydantic model; raises SpecError with every problem found."""
    errors = Collector()
    spec: SpecFile | None = validate(SpecFile, src.raw, src.raw.pos, errors)
    errors.raise_if_any()
    assert spec is not None
    return spec


def expand(src: Source, input_shape: tuple[int, ...] | None = None, spec: SpecFile | None = None) -> Graph:
    """Validate (unless `spec` is given) and expand a read spec into its IR; raises SpecError with
    every problem found."""
    spec = spec or validate_spec(src)
    errors = Collector()
    exp = Expander(src, spec, errors)
    graph = exp.run(tuple(input_shape or spec.input.shape))
    errors.raise_if_any()
    problems = graph.lint()
    if problems:  # a bug in archspec, not in the spec
        raise AssertionError("IR lint failed: " + "; ".join(problems))
    return graph


__all__ = ["Expander", "expand", "validate_spec"]
