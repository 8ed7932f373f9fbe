"""The IR as Graphviz DOT text, written by archspec itself (no library needed).

A drawn item is one IR node, or, below `depth`, one whole scope collapsed into a
node (labelled with its block, params and output shape). Scopes above the cut are
nested clusters; train-only output heads sit in their own dashed grey cluster.
Each shape is drawn once: on the edges (one label per tensor, on the first of its edges when it fans
out) or, by option, in the nodes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape

from archspec.draw.onnx_graph import FAMILY as ONNX_FAMILY
from archspec.ir import Graph, Node, Output, collapse_keys
from archspec.ops.base import REGISTRY, fmt

RANKDIRS = ("TB", "LR")
SHAPES = ("edges", "nodes")  # where each tensor's shape is written
FONT = "Helvetica,Arial,sans-serif"

# Op.family -> fill colour, so a picture reads at a glance
FILL = {"conv": "#dbe8f7", "linear": "#e8def5", "norm": "#fff3c4", "activation": "#dff0d8", "pool": "#fde2cc",
        "merge": "#ececec"}
PLAIN_FILL, BLOCK_FILL, IO_FILL = "#f7f7f7", "#cfdcef", "#d5e8d4"
TRAIN_FILL, TRAIN_INK = "#f4f4f4", "#8c8c8c"
CLUSTER_FILLS = ("#f6f8fb", "#edf1f7", "#e4eaf3", "#dbe3ef")  # darker as clusters nest


@dataclass
class Item:
    """One drawn node: an IR node, or a collapsed scope."""

    id: str
    label: str
    attrs: dict[str, str]


@dataclass
class Cluster:
    path: str
    label: str
    train_only: bool = False
    items: list[Item] = field(default_factory=list)
    children: dict[str, Cluster] = field(default_factory=dict)


def to_dot(graph: Graph, depth: int | None = None, rankdir: str = "TB", shapes: str = "edges") -> str:
    """DOT text of `graph`; scopes deeper than `depth` levels are collapsed into one node each, and
    shapes written on the edges or in the nodes. `newrank` helps keep a concat's branches left to
    right in spec order while they sit in clusters."""
    if depth is not None and depth < 1:
        raise ValueError("depth must be at least 1")
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    if shapes not in SHAPES:
        raise ValueError(f"shapes must be one of {', '.join(SHAPES)}, got {shapes!r}")
    in_nodes = shapes == "nodes"
    heads = {o.name: o.train_only for o in graph.outputs[1:]  # extra outputs with layers open scopes
             if o.train_only or o.node.startswith(o.name + ".")}
    groups = _groups(graph, depth)
    root = Cluster("", "")
    for key, nodes in groups.items():
        item = _item(graph, key, nodes, heads, in_nodes)
        # inputs stand outside every block (a subgraph's come from inside others); a collapsed
        # head stays in its own cluster, beside its output
        where = "" if _is_input(nodes[0]) else key if key in heads else key.rpartition(".")[0]
        _place(root, item, where, heads, graph.scopes)
    for o in graph.outputs:
        label = _html(f"<B>{escape(o.name)}</B>", _small(("train-only " if o.train_only else "") + "output"))
        style = _node_style(o.train_only, IO_FILL) | {"shape": "box", "style": _style(o.train_only, "filled")}
        _place(root, Item(f"output:{o.name}", label, style), o.name if o.name in heads else "", heads, graph.scopes)
    lines = [
        f"digraph {_q(graph.name)} {{",
        f'  graph [rankdir={rankdir} newrank=true nodesep=0.3 ranksep=0.2 fontname="{FONT}"',
        f'         fontsize=11 labelloc=t label={_title(graph)}];',
        f'  node [shape=box style="rounded,filled" fontname="{FONT}" fontsize=10 margin="0.12,0.05"'
        ' height=0.3 penwidth=0.8];',
        f'  edge [fontname="{FONT}" fontsize=8 fontcolor="#707070" color="#606060" arrowsize=0.6 penwidth=0.8];',
    ]
    lines += _emit(root, 1)
    lines += _edges(graph, groups, not in_nodes)
    lines.append("}")
    return "\n".join(lines) + "\n"


def subgraph(graph: Graph, scope: str) -> Graph:
    """The nodes under `scope` as a graph of their own; the tensors they take from outside
    become its inputs, and the ones used outside (or the last) its outputs."""
    inner = [n for n in graph.nodes.values() if n.name.startswith(scope + ".")]
    if not inner:
        raise KeyError(scope)
    names = {n.name for n in inner}
    ext = dict.fromkeys(i for n in inner for i in n.inputs if i not in names)
    sub = Graph(f"{graph.name} · {scope}", next(iter(ext), inner[0].name))
    for e in ext:
        sub.add(Node(e, "input", REGISTRY["input"].Params(shape=graph.nodes[e].shape), [], graph.nodes[e].shape))
    for n in inner:
        sub.add(n)
    used = {i for n in graph.nodes.values() if n.name not in names for i in n.inputs}
    used |= {o.node for o in graph.outputs}
    outs = [n.name for n in inner if n.name in used] or [inner[-1].name]
    sub.outputs = [Output(o, o) for o in outs]
    sub.scopes = {k: v for k, v in graph.scopes.items() if k == scope or k.startswith(scope + ".")}
    return sub


def scope_paths(graph: Graph) -> set[str]:
    """Every scope of the graph: each proper dotted prefix of a node name."""
    return {name.rsplit(".", k)[0] for name in graph.nodes for k in range(1, name.count(".") + 1)}


def _groups(graph: Graph, depth: int | None) -> dict[str, list[Node]]:
    groups: dict[str, list[Node]] = {}
    keys = collapse_keys(graph, depth)
    for n in graph.nodes.values():
        groups.setdefault(keys[n.name], []).append(n)
    return groups


def _item(graph: Graph, key: str, nodes: list[Node], heads: dict[str, bool], shape: bool) -> Item:
    last, train = nodes[-1], all(n.train_only for n in nodes)
    if len(nodes) == 1 and nodes[0].name == key:
        return _op_item(nodes[0], shape)
    params = sum(n.params_count for n in nodes)
    kind = "head" if key in heads else _kind(key, graph.scopes, heads)  # its cluster says train-only
    name = key.rpartition(".")[2]  # its cluster names the rest of the path
    out = _small(escape(fmt(last.shape))) if shape else ""
    label = _html(_named(name, kind), _small(f"{len(nodes)} ops · {_count(params)} params"), out)
    attrs = _node_style(train, BLOCK_FILL) | {"penwidth": "1.2"}
    return Item(f"{key}.*", label, attrs)


def _op_item(n: Node, shape: bool) -> Item:
    local = n.name.rsplit(".", 1)[-1]
    if _is_input(n):
        label = _html(f"<B>{escape(n.name)}</B>", _small(escape(fmt(n.shape))) if shape else "")
        return Item(n.name, label, {"fillcolor": IO_FILL, "penwidth": "1.2"})
    op, detail, family, merge = _op_traits(n)
    head = f"<B>{escape(op)}</B>" + (f" {escape(detail)}" if detail else "")
    named = "" if local.isdigit() or local == op else f"{escape(local)}  "  # positional names say nothing
    attrs = _node_style(n.train_only, FILL.get(family, PLAIN_FILL))
    if merge:
        attrs |= {"shape": "box", "style": _style(n.train_only, "filled")}
    return Item(n.name, _html(head, _small((named + escape(fmt(n.shape)) if shape else named).strip())), attrs)


def _is_input(n: Node) -> bool:
    """The graph's input, of a spec or of an ONNX file (whose ops are not archspec's)."""
    impl = REGISTRY.get(n.op)
    return impl is not None and impl.graph_input


def _op_traits(n: Node) -> tuple[str, str, str, bool]:
    """Op name, key params, family and whether it merges tensors: an archspec op's own, or for a node
    read from an ONNX file (op `onnx:Conv`, params its detail) those of archspec.draw.onnx_graph."""
    impl = REGISTRY.get(n.op)
    if impl is not None:
        return n.op, impl.summary_at(n.params, n.shape), impl.family, impl.merge
    op = n.op.removeprefix("onnx:")
    family = ONNX_FAMILY.get(op, "other")
    return op, getattr(n.params, "text", ""), family, family == "merge"


def _kind(key: str, scopes: dict[str, str], heads: dict[str, bool]) -> str:
    if key in scopes:
        return scopes[key]
    if key in heads:
        return "train-only output" if heads[key] else "output"
    return ""


def _place(root: Cluster, item: Item, scope: str, heads: dict[str, bool], scopes: dict[str, str]) -> None:
    """File `item` into the cluster of `scope`, creating it and the clusters enclosing it."""
    here, parts = root, scope.split(".") if scope else []
    for i in range(1, len(parts) + 1):
        path = ".".join(parts[:i])
        if path not in here.children:
            kind = _kind(path, scopes, heads)
            name = path if here is root else parts[i - 1]  # nested clusters: the name within the parent
            label = _named(name, kind)
            here.children[path] = Cluster(path, label, here.train_only or (i == 1 and heads.get(path, False)))
        here = here.children[path]
    here.items.append(item)


def _emit(c: Cluster, level: int) -> list[str]:
    pad = "  " * level
    out = []
    for item in c.items:
        attrs = " ".join(f"{k}={_attr(v)}" for k, v in item.attrs.items())
        out.append(f"{pad}{_q(item.id)} [label={item.label} {attrs}];")
    for child in c.children.values():
        if child.train_only:
            style = 'style="rounded,dashed" color="#9a9a9a" fontcolor="#7a7a7a" bgcolor="#fbfbfb"'
        else:
            fill = CLUSTER_FILLS[min(level - 1, len(CLUSTER_FILLS) - 1)]
            style = f'style="rounded,filled" color="#a8b3c4" fillcolor="{fill}"'
        out.append(f"{pad}subgraph {_q('cluster_' + child.path)} {{")
        out.append(f'{pad}  label=<{child.label}> labeljust=l fontsize=10 {style};')
        out += _emit(child, level + 1)
        out.append(f"{pad}}}")
    return out


def _edges(graph: Graph, groups: dict[str, list[Node]], labels: bool) -> list[str]:
    ids = {n.name: (key if len(ns) == 1 and ns[0].name == key else f"{key}.*")
           for key, ns in groups.items() for n in ns}
    seen, labelled, out = set(), set(), []
    ends = [(i, n.name, n.train_only) for n in graph.nodes.values() for i in n.inputs]
    ends += [(o.node, f"output:{o.name}", o.train_only) for o in graph.outputs]
    for src, dst, train in ends:
        a, b = ids[src], ids.get(dst, dst)
        if a == b or (a, b) in seen:
            continue
        seen.add((a, b))
        label = labels and src not in labelled  # a fan-out: one label, on its first edge
        labelled.add(src)
        attrs = [f"label={_attr(' ' + fmt(graph.nodes[src].shape) + ' ')}"] if label else []
        if train:
            attrs.append(f'style=dashed color="{TRAIN_INK}"')
        out.append(f"  {_q(a)} -> {_q(b)}" + (f" [{' '.join(attrs)}]" if attrs else "") + ";")
    return out


def _title(graph: Graph) -> str:
    t, tt = graph.totals(), graph.totals(train=True)
    extra = f" (train graph {_count(tt['params'])})" if tt["params"] != t["params"] else ""
    return _html(f"<B>{escape(graph.name)}</B>",
                 f"{_count(t['params'])} params{extra} · {_count(t['macs'])} MACs")


# ---- small formatting helpers ----------------------------------------------------------------


def _node_style(train: bool, fill: str) -> dict[str, str]:
    if train:
        return {"fillcolor": TRAIN_FILL, "style": _style(True), "color": TRAIN_INK, "fontcolor": TRAIN_INK}
    return {"fillcolor": fill}


def _style(train: bool, base: str = "rounded,filled") -> str:
    return base + (",dashed" if train else "")


def _named(name: str, kind: str) -> str:
    """A scope's name in bold, then its block in small grey: short enough that an edge entering
    the cluster's middle rarely crosses the label."""
    return f"<B>{escape(name)}</B>" + (f" {_small(escape(kind))}" if kind else "")


def _small(text: str) -> str:
    return f'<FONT POINT-SIZE="9" COLOR="#505050">{text}</FONT>' if text else ""


def _html(*lines: str) -> str:
    return "<" + "<BR/>".join(x for x in lines if x) + ">"


def _count(n: int) -> str:
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if n >= scale:
            return f"{n / scale:.{1 if unit == 'K' else 2}f}{unit}"
    return str(n)


def _attr(v: str) -> str:
    return v if v.startswith("<") else _q(v)


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def node_ids(dot: str) -> Iterable[str]:
    """The ids of the nodes declared in DOT text written by `to_dot` (one declaration a line)."""
    for line in dot.splitlines():
        s = line.strip()
        if s.startswith('"') and " [label=" in s and "->" not in s.split(" [label=")[0]:
            yield s[1:s.index('" [label=')]
