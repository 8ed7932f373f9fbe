"""Scopes: where expansion is in the name tree, which names expressions see, and the counter
that names unnamed items by position (the nn.Sequential convention)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archspec.source import Pos

ITEM_KEYS = ("name", "from", "freeze")  # keys allowed beside an item's op/block/combinator key

Value = str | None  # the node producing the current tensor; None once an error poisoned it

INPUT_NAMES = ("in_channels", "in_height", "in_width")  # what expressions see of an item's input


def reads_input(v: Any) -> bool:
    """Whether an expression may read the input's names, unknown after an earlier error."""
    return any(n in str(v) for n in INPUT_NAMES)


def input_names(shape: tuple[int, ...]) -> dict[str, int]:
    """`in_channels` of a tensor's shape (batch excluded), and `in_height`, `in_width` of a [C,H,W] one."""
    return dict(zip(INPUT_NAMES, shape if len(shape) == 3 else shape[:1], strict=False))


@dataclass
class _Counter:
    n: int = 0


@dataclass
class Scope:
    prefix: str
    env: dict[str, Any]
    calls: tuple[tuple[Pos | None, str], ...] = ()
    counter: _Counter = field(default_factory=_Counter)
    train_only: bool = False
    numbers: str = ""  # before positional names: an unnamed combinator's position ("1.")

    @property
    def path(self) -> str:
        """The scope's own path, where its errors are reported."""
        return self.prefix[:-1]

    def child(self, name: str, env: dict[str, Any] | None = None,
              call: tuple[Pos | None, str] | None = None) -> Scope:
        calls = (*self.calls, call) if call else self.calls
        return Scope(f"{self.prefix}{name}.", self.env if env is None else env, calls,
                     train_only=self.train_only)

    def with_env(self, extra: dict[str, Any]) -> Scope:
        return Scope(self.prefix, self.env | extra, self.calls, self.counter, self.train_only, self.numbers)

    def numbered(self) -> Scope:
        """The scope of an unnamed combinator: it takes the next position, like an unnamed child of
        nn.Sequential, and numbers its own unnamed items in it (`1.0`, `1.1`); its named items keep
        their names here, as the children of a torchvision block that combines them in `forward`."""
        return Scope(self.prefix, self.env, self.calls, _Counter(), self.train_only, f"{self.take(None)}.")

    def take(self, given: str | None) -> str:
        """The local name of the next item: its own, or its position."""
        n = self.counter.n
        self.counter.n += 1
        return given if given else f"{self.numbers}{n}"
