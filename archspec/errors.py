"""Diagnostics for people: position, node path, what was got and expected, a hint.

Every user error in a spec becomes a :class:`Diagnostic`. Stages collect them
and raise one :class:`SpecError` holding all that are independent, so a user
fixes a spec in one round instead of one error per run.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from archspec.source import Pos


@dataclass
class Diagnostic:
    message: str
    pos: Pos | None = None
    path: str = ""
    hint: str = ""
    notes: list[tuple[Pos, str]] = field(default_factory=list)

    def format(self, sources: dict[str, str] | None = None) -> str:
        where = f"{self.pos}: " if self.pos else ""
        what = f"{self.path}: " if self.path else ""
        lines = [f"{where}error: {what}{self.message}"]
        if self.pos:
            lines += _excerpt(self.pos, sources)
        for pos, note in self.notes:
            lines.append(f"  note: {pos}: {note}")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


class UserError(Exception):
    """A problem with what the user gave (a file, a value, an option's target): the CLI prints
    the message alone and exits 1, on every command. Subclassed by each stage's error."""


class LimitError(UserError):
    """Input past one of archspec.limits.LIMITS; the message names the limit and how to raise it."""

    def __init__(self, what: str, limit: str, show_value: bool = True):
        from archspec.limits import LIMITS

        value = f"={getattr(LIMITS, limit):,}" if show_value else ""
        super().__init__(f"{what} (limit {limit}{value}; raise it with --limit {limit}=N)")
        self.limit = limit


class SpecError(UserError):
    """One or more problems in a spec. `str()` gives the formatted report."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic):
        self.diagnostics = diagnostics if isinstance(diagnostics, list) else [diagnostics]
        super().__init__(self.report())

    def report(self) -> str:
        return "\n".join(d.format() for d in self.diagnostics)


class Collector:
    """Gathers diagnostics during a stage; `raise_if_any` ends the stage."""

    def __init__(self, limit: int = 50):
        self.items: list[Diagnostic] = []
        self.limit = limit
        self._seen: set[tuple[object, ...]] = set()

    def add(self, message: str, pos: Pos | None = None, path: str = "", hint: str = "",
            notes: list[tuple[Pos, str]] | None = None) -> None:
        # the same problem at the same place, reached again (each pass of a repeat), is one error
        key = (message, pos, hint, tuple(notes or ()))
        if pos is None or key not in self._seen:
            self._seen.add(key)
            self.items.append(Diagnostic(message, pos, path, hint, list(notes or [])))
        if len(self.items) >= self.limit:  # ends the stage: a spec this broken is fixed in rounds
            raise SpecError([*self.items, Diagnostic(f"{self.limit} errors: stopping here")])

    def raise_if_any(self) -> None:
        if self.items:
            raise SpecError(list(self.items))


def did_you_mean(word: str, choices: Iterable[object]) -> str:
    """A hint naming every close one of `choices` (as close as the closest, within a margin), closest
    first, or listing them all if none is close."""
    names = sorted({str(c) for c in choices})
    scored = sorted((-difflib.SequenceMatcher(None, str(word), n).ratio(), n) for n in names)
    close = [n for r, n in scored if -r >= max(0.6, -scored[0][0] - 0.15)] if names else []
    if close:
        quoted = [f"'{c}'" for c in close]
        return f"did you mean {quoted[0] if len(quoted) == 1 else ', '.join(quoted[:-1]) + ' or ' + quoted[-1]}?"
    return f"expected one of: {', '.join(names)}" if names else ""


@lru_cache(maxsize=64)
def _lines(file: str) -> tuple[str, ...]:
    try:
        return tuple(Path(file).read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        return ()


def _excerpt(pos: Pos, sources: dict[str, str] | None) -> list[str]:
    lines = sources[pos.file].splitlines() if sources and pos.file in sources else _lines(pos.file)
    if not 0 < pos.line <= len(lines):
        return []
    gutter = str(pos.line)
    pad = " " * len(gutter)
    return [f" {gutter} | {lines[pos.line - 1]}", f" {pad} | {' ' * (pos.col - 1)}^"]
