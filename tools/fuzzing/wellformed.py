"""Random well-formed specs from the grammar: ops, blocks with args and expressions, repeat, if,
residual, concat, dense and the graph form, with shapes tracked so that every spec is valid."""

from __future__ import annotations

import random
from typing import Any

import yaml

from fuzzing import Case

ACTS = [
    "relu",
    "sigmoid",
    "tanh",
    "identity",
    {"leaky_relu": 0.1},
    {"shifted_relu": 0.5},
    {"elu": {"a": 0.7}},
    {"softplus": {"beta": 2.0}},
    {"dropout": 0.3},
    {"scale": 0.5},
]
Item = Any  # a YAML item: an op name, or a one-key mapping


class Spec:
    """Builds the `layers` of one spec, tracking the (C, H, W) each item gives."""

    def __init__(self, r: random.Random, budget: int):
        self.r, self.budget, self.blocks = r, budget, {}  # budget: items left to emit
        self.count = 0

    def fresh(self, stem: str) -> str:
        """A unique name: unnamed combinators open no scope, so their items' names could clash."""
        self.count += 1
        return f"{stem}{self.count}"

    def same(self, c: int, depth: int) -> tuple[list[Item], int]:
        """Items that keep H and W; the channels they give."""
        r, items = self.r, []
        for _ in range(r.randint(1, 3)):
            if self.budget <= 0:
                break
            self.budget -= 1
            kind = r.choice(
                ["conv", "conv", "act", "bn", "pool", "lrn", "residual", "concat", "block", "repeat", "if", "dense"]
                if depth < 3
                else ["conv", "act", "bn"]
            )
            item, c = getattr(self, kind)(c, depth)
            items.append(item)
        return items, c

    def conv(self, c: int, depth: int) -> tuple[Item, int]:
        r = self.r
        out = r.choice([c, r.randint(1, 12)])
        groups = r.choice([g for g in (1, 2, 3, 4) if c % g == 0 and out % g == 0])
        k, dil = r.choice([(1, 1), (3, 1), (3, 2), (5, 1)])
        p = {"out": out, "kernel": k, "pad": dil * (k - 1) // 2, "bias": r.random() < 0.7}
        if dil > 1:
            p["dilation"] = dil
        if groups > 1:
            p["groups"] = groups
        if r.random() < 0.2:
            p["out"] = "${in_channels * 2}" if c <= 8 else "${in_channels // 2}"
            out = c * 2 if c <= 8 else c // 2
            p.pop("groups", None)
        return {"conv": p}, out

    def act(self, c: int, depth: int) -> tuple[Item, int]:
        return self.r.choice(ACTS), c

    def bn(self, c: int, depth: int) -> tuple[Item, int]:
        return self.r.choice(["bn", {"bn": {"eps": 0.001, "momentum": 0.2}}, {"bn": {"affine": False}}]), c

    def pool(self, c: int, depth: int) -> tuple[Item, int]:
        kind = self.r.choice(["maxpool", "avgpool"])
        return {kind: {"kernel": 3, "stride": 1, "pad": 1}}, c

    def lrn(self, c: int, depth: int) -> tuple[Item, int]:
        return {"lrn": {"size": self.r.choice([3, 4, 5]), "alpha": 0.001, "beta": 0.75, "k": 2.0}}, c

    def residual(self, c: int, depth: int) -> tuple[Item, int]:
        body, out = self.same(c, depth + 1)
        res: dict[str, Any] = {"body": body or ["relu"]}
        if out != c:
            res["shortcut"] = [{"conv": {"out": out, "kernel": 1, "bias": False}}]
        if self.r.random() < 0.3:
            res["scale"] = 0.3
        if self.r.random() < 0.5:
            res["after"] = "relu"
        res["name"] = self.fresh("res")
        return {"residual": res}, out

    def concat(self, c: int, depth: int) -> tuple[Item, int]:
        branches, total = [], 0
        for _ in range(self.r.randint(2, 3)):
            body, out = self.same(c, depth + 1)
            branches.append(body or ["identity"])
            total += out if body else c
        return {"concat": branches, "name": self.fresh("cat")}, total

    def block(self, c: int, depth: int) -> tuple[Item, int]:
        name = f"blk{len(self.blocks)}"
        width = self.r.randint(1, 8)
        self.blocks[name] = {
            "args": {"width": "int", "act": {"type": "bool", "default": True}},
            "seq": [
                {"conv": {"out": "${width * 2}", "kernel": 3, "pad": 1, "name": "conv"}},
                {"if": "$act", "then": ["relu"], "else": ["tanh"]},
            ],
        }
        return {name: {"width": width, "act": self.r.random() < 0.5, "name": self.fresh("b")}}, width * 2

    def repeat(self, c: int, depth: int) -> tuple[Item, int]:
        n = self.r.randint(0, 3)
        return {"repeat": n, "body": {"conv": {"out": c, "kernel": 1, "name": self.fresh("rep") + "_${i}"}}}, c

    def if_(self, c: int, depth: int) -> tuple[Item, int]:
        return {"if": "${1 + 1 == 2}", "then": ["relu"], "else": [{"conv": {"out": 99, "kernel": 1}}]}, c

    def dense(self, c: int, depth: int) -> tuple[Item, int]:
        n, g = self.r.randint(1, 3), self.r.randint(1, 4)
        layer = {"conv": {"out": g, "kernel": 3, "pad": 1}}
        return {"dense": {"repeat": n, "layer": layer}, "name": self.fresh("dense")}, c + n * g

    def __getattr__(self, name: str) -> Any:
        if name == "if":
            return self.if_
        raise AttributeError(name)


def spec_dict(r: random.Random) -> dict[str, Any]:
    """One random well-formed spec as data."""
    c, h, w = r.randint(1, 4), r.randint(4, 12), r.randint(4, 12)
    shape = [c, h, w]
    s, layers = Spec(r, budget=r.randint(2, 12)), []
    while s.budget > 0:
        items, c = s.same(c, 0)
        layers += items
        if r.random() < 0.3 and min(h, w) >= 4:  # downsample
            down = r.choice(
                [
                    {"maxpool": {"kernel": 2}},
                    {"avgpool": {"kernel": 2}},
                    {"conv": {"out": c, "kernel": 3, "stride": 2, "pad": 1}},
                ]
            )
            layers.append(down)
            h, w = ((h + 1) // 2, (w + 1) // 2) if "conv" in down else (h // 2, w // 2)
    head = r.choice([["global_avgpool", "flatten"], ["flatten"], [{"adaptive_avgpool": [2, 2]}, "flatten"]])
    layers += [*head, {"linear": {"out": r.randint(1, 10)}}]
    if r.random() < 0.3:
        layers.append(r.choice(["bn", "softmax", "relu", {"dropout": 0.2}]))
    spec: dict[str, Any] = {
        "archspec": 1,
        "name": f"rand{r.randint(0, 10**6)}",
        "input": {"name": "image", "shape": shape},
    }
    if s.blocks:
        spec["blocks"] = s.blocks
    spec["layers"] = layers
    return spec


def spec_text(r: random.Random) -> str:
    return yaml.safe_dump(spec_dict(r), sort_keys=False, default_flow_style=None, width=100)


def case(r: random.Random) -> Case:
    """A random well-formed spec: one in four checked numerically, the others compiled with the
    full ONNX checker."""
    text = spec_text(r).encode()
    if r.random() < 0.25:
        return Case("numerics", ["verify", "net.yaml"], {"net.yaml": text}, numerics=True)
    argv = r.choice(
        [["compile", "net.yaml", "--check", "-o", "net.onnx"], ["summary", "net.yaml", "--json"], ["check", "net.yaml"]]
    )
    return Case(argv[0], argv, {"net.yaml": text})
