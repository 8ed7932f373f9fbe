"""Draw the pictures of the README and docs/zoo.md from the specs: LeNet-5, an Inception module, a
dense block and a ConvNeXt block, as SVG and PNG in docs/img/. Needs Graphviz's `dot`.

    python tools/draw_pictures.py [--out docs/img]

The Inception module is googlenet's inception3a and the dense block densenet121's denseblock1 when
those specs are built in; until then, the same layouts from tests/specs stand in for them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archspec import load  # noqa: E402
from archspec.draw import GraphvizError, draw, scope_paths, subgraph  # noqa: E402
from archspec.ir import Graph  # noqa: E402

# picture name -> (spec, scope to cut out or None, extra levels drawn below the scope, rankdir)
PICTURES = {
    "lenet5": ("lenet5", None, None, "TB"),
    "inception_module": ("googlenet", "inception3a", None, "TB"),
    "dense_block": ("densenet121", "denseblock1", 1, "TB"),
    "inverted_residual": ("mobilenet_v2", "features.3", None, "TB"),  # 24 -> 144 -> 24, with its shortcut
    "convnext_block": ("convnext_tiny", "features.1.0", None, "TB"),
}


def find_scope(graph: Graph, name: str) -> str:
    """The scope called `name`, wherever it is nested (torchvision puts DenseNet's under `features`)."""
    found = sorted(p for p in scope_paths(graph) if p == name or p.endswith("." + name))
    if not found:
        raise SystemExit(f"{graph.name} has no block named {name}")
    return found[0]


def picture(spec: str, scope: str | None, below: int | None) -> tuple[Graph, int | None]:
    graph = load(spec).graph
    if scope is None:
        return graph, None
    return subgraph(graph, find_scope(graph, scope)), below  # depth counts inside the scope


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs/img", help="folder for the pictures")
    args = ap.parse_args()
    for name, (spec, scope, below, rankdir) in PICTURES.items():
        graph, depth = picture(spec, scope, below)
        paths = [args.out / f"{name}.svg", args.out / f"{name}.png"]
        try:
            draw(graph, paths, depth, rankdir)
        except GraphvizError as e:
            print(e, file=sys.stderr)
            return 3
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 1024:.0f} KiB" for p in paths)
        print(f"{name}: {graph.name}, depth {depth or 'all'}: {sizes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
