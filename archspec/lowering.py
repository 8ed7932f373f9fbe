"""Backend-neutral pieces that op lowerings return. Ops build these; backends interpret them, so
`archspec/ops/` never imports a backend package (backends import ops, never the reverse)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    """A stateless torch lowering: `fn(*inputs, *args, **kwargs)`.

    packed: the inputs go in as one list (torch.cat); fold: a binary `fn` is applied left to
    right over two or more inputs (add).
    """

    fn: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    args: tuple[Any, ...] = ()
    packed: bool = False
    fold: bool = False
