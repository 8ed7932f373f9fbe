"""Named class-label sets shipped with archspec (archspec/data/), so a spec says `labels: imagenet`
instead of listing 1000 names; a spec's labels are resolved to the list when it is validated."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

LabelSet = Literal["imagenet"]
FILES = {"imagenet": "imagenet_labels.txt"}  # ImageNet-1k in class order (tools/imagenet_labels.py)
DATA_DIR = Path(__file__).resolve().parent / "data"


def check_name(labels: object) -> object:
    """A set's name must be one archspec ships (checked first, for one clear error)."""
    if isinstance(labels, str) and labels not in FILES:
        raise ValueError(f"no label set named '{labels}' (give a list of names, or one of: {', '.join(FILES)})")
    return labels


def resolve(labels: list[str] | str | None) -> list[str] | None:
    """The labels a spec gives: its own list, or the names of a shipped set."""
    return list(named(labels)) if isinstance(labels, str) else labels


@cache
def named(name: str) -> tuple[str, ...]:
    return tuple((DATA_DIR / FILES[name]).read_text(encoding="utf-8").splitlines())
