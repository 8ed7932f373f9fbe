"""Named class-label sets shipped with archspec (archspec/data/), so a spec says `labels: imagenet`
instead of listing 1000 names; a spec's labels are resolved to the list when it is validated."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

FILES = {"imagenet": "imagenet_labels.txt"}  # ImageNet-1k in class order (tools/imagenet_labels.py)
DATA_DIR = Path(__file__).resolve().parent / "data"
JSON_SCHEMA = {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"enum": sorted(FILES)}, {"type": "null"}],
               "description": "class names in output order, or a label set shipped with archspec"}


def resolve(labels: Any) -> Any:
    """A set's name becomes its names; anything else is left for the list validation."""
    if not isinstance(labels, str):
        return labels
    if labels not in FILES:
        raise ValueError(f"no label set named '{labels}' (give a list of names, or one of: {', '.join(FILES)})")
    return list(named(labels))


@cache
def named(name: str) -> tuple[str, ...]:
    return tuple((DATA_DIR / FILES[name]).read_text(encoding="utf-8").splitlines())
