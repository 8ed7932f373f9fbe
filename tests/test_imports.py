"""The import graph of archspec/: every import of every module (TYPE_CHECKING blocks and
function-local imports included), read from the source with ast. It has no cycle, and it keeps
the layers apart: ops import no backend, backends import no front end, passes neither."""

from __future__ import annotations

import ast
from pathlib import Path

import archspec

ROOT = Path(archspec.__file__).parent
BACKENDS = ("archspec.onnx_backend", "archspec.torch_backend")
# the front end's modules (load, validate, expand, and the Model over them), and the package's front
# door, whose TYPE_CHECKING block imports the Model
FRONT_END = ("archspec.model", "archspec.frontend", "archspec.loader", "archspec.spec", "archspec.schema",
             "archspec.expand")


def modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the archspec modules it imports (a name imported from a module is that module)."""
    mods = modules()

    def module_of(name: str) -> str:
        while name not in mods:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, set[str]] = {}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        names = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, up level - 1
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                names += [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
        graph[mod] = {module_of(n) for n in names if n == "archspec" or n.startswith("archspec.")} - {mod}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                found.append(sorted([v, *component]))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def within(mod: str, layers: tuple[str, ...]) -> bool:
    return any(mod == p or mod.startswith(p + ".") for p in layers)


def edges(where: tuple[str, ...], to: tuple[str, ...], exact: tuple[str, ...] = ()) -> list[str]:
    return sorted(f"{m} -> {t}" for m, ts in import_graph().items() if within(m, where)
                  for t in ts if within(t, to) or t in exact)


def test_the_graph_sees_every_kind_of_import():
    graph = import_graph()
    assert len(graph) == len(modules()) > 90
    assert "archspec.program" in graph["archspec.model"]  # under TYPE_CHECKING
    assert "archspec.onnx_backend" in graph["archspec.model"]  # in a function
    assert "archspec.torch_backend.build" in graph["archspec.torch_backend"]  # from the package __init__
    assert {"archspec.passes.drop_train_only", "archspec.passes.fold_bn"} <= graph["archspec.passes"]
    assert "archspec.passes" in graph["archspec.onnx_backend.compile"]


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_ops_import_no_backend():
    assert edges(("archspec.ops",), BACKENDS) == []


def test_backends_import_no_front_end():
    assert edges(BACKENDS, FRONT_END, exact=("archspec",)) == []


def test_passes_and_the_program_import_neither_backends_nor_the_front_end():
    assert edges(("archspec.passes", "archspec.program"), BACKENDS + FRONT_END, exact=("archspec",)) == []
