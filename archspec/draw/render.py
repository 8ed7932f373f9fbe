"""Rendering DOT text to SVG, PNG or PDF with Graphviz's `dot` program (a plain subprocess).

Writing .dot needs nothing; every other format needs `dot` on PATH, and its absence
is reported with how to install it. Every file is written atomically.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from archspec.errors import UserError
from archspec.io import atomic_path, write_atomic

FORMATS = ("svg", "png", "pdf", "dot")
PNG_DPI = 144
INSTALL = """Graphviz's `dot` program draws {what} files, and it is not on PATH. Install Graphviz:
  Debian/Ubuntu:  sudo apt-get install graphviz
  Fedora/RHEL:    sudo dnf install graphviz
  macOS:          brew install graphviz
  conda:          conda install -c conda-forge graphviz
  Windows:        winget install graphviz   (or https://graphviz.org/download/)
The DOT text needs no Graphviz: write it with -o NAME.dot and render it anywhere later."""


TOO_LARGE_HINT = ("the picture is scaled down to fit Graphviz's bitmap limit, so its text may be unreadable: "
                  "draw fewer nodes (--depth N, or --scope PATH for one block), or write SVG or PDF, "
                  "which have no such limit")


class GraphvizError(UserError, RuntimeError):
    """`dot` is missing or failed; the message says what to do."""


def format_of(path: str | Path) -> str:
    """The output format named by a file's suffix; ValueError for one we cannot write."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"cannot tell the format of '{path}': name it .{', .'.join(FORMATS)}")
    return fmt


def render(dot: str, path: str | Path, timeout: float = 300, warn: Callable[[str], None] | None = None) -> Path:
    """Write `dot` to `path` in the format its suffix names; returns the path. What Graphviz warns
    of on success goes to `warn` (with a hint where we have one), or is dropped without it."""
    path, fmt = Path(path), format_of(path)
    if fmt == "dot":
        write_atomic(path, dot.encode())
        return path
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizError(INSTALL.format(what=fmt.upper()))
    with atomic_path(path) as tmp:
        try:
            dpi = [f"-Gdpi={PNG_DPI}"] if fmt == "png" else []  # 96 dpi makes 9 pt shapes hard to read
            r = subprocess.run([exe, f"-T{fmt}", *dpi, "-o", str(tmp)], input=dot.encode(), capture_output=True,
                               timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise GraphvizError(f"Graphviz's dot took over {timeout:.0f} s to lay out {path.name}; "
                                "try a smaller --depth") from None
        err = r.stderr.decode(errors="replace").strip()
        if r.returncode != 0:
            raise GraphvizError(f"Graphviz's dot failed (exit {r.returncode}) writing {path}:\n{err}")
    if err and warn is not None:
        hint = f"\n  hint: {TOO_LARGE_HINT}" if "too large" in err else ""
        warn(f"Graphviz, writing {path.name}: {err}{hint}")
    return path
