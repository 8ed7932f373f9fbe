"""Limits on untrusted input, checked before the work they bound (docs/security.md).

Each default admits every real network with a wide margin; a user raises one with
`archspec COMMAND --limit NAME=VALUE` (or `archspec.limits.LIMITS.NAME = VALUE` in Python).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields


@dataclass
class Limits:
    spec_bytes: int = 4 << 20  # a spec, library or recipe file (the largest built-in is 5 KB)
    yaml_nodes: int = 200_000  # YAML nodes of one file once aliases are expanded (billion laughs)
    yaml_depth: int = 100  # nesting of mappings and lists
    expr_chars: int = 2_000  # one ${expression}
    expr_depth: int = 50  # nesting of an expression's syntax tree
    expr_int_bits: int = 128  # integers an expression computes (no big-number hang)
    expr_length: int = 100_000  # strings and lists an expression builds
    repeat: int = 10_000  # a `repeat` or `dense` count
    nodes: int = 100_000  # IR nodes of one expanded spec (ResNet-152: 500; 100,000 expand in about 2 s)
    memory_mib: int = 0  # weights and activations of a compile/verify/run/bench/train; 0: 80% of RAM
    image_pixels: int = 89_478_485  # an image to decode (Pillow's own bomb limit)
    array_bytes: int = 1 << 32  # one .npy array or weights tensor read from a file
    zip_members: int = 100_000  # members of an .npz

    def memory_bytes(self) -> int:
        return self.memory_mib << 20 if self.memory_mib > 0 else int(physical_memory() * 0.8)

    def set(self, assignment: str) -> None:
        """`NAME=VALUE` from the command line; ValueError naming the known limits otherwise."""
        name, _, value = assignment.partition("=")
        known = {f.name for f in fields(self)}
        if name not in known or not value:
            raise ValueError(f"--limit takes NAME=VALUE with NAME one of {', '.join(sorted(known))}; "
                             f"got '{assignment}'")
        try:
            number = int(float(value)) if "e" in value.lower() else int(value)
        except (ValueError, OverflowError):
            raise ValueError(f"--limit {name}: '{value}' is not an integer") from None
        if number < 0:
            raise ValueError(f"--limit {name}: must be at least 0, got {number}")
        setattr(self, name, number)


def physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a small machine
        return 8 << 30


LIMITS = Limits()
