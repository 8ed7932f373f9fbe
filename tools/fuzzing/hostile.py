"""Crafted hostile specs: YAML bombs, deep nesting, expression bombs, huge counts and sizes,
include diamonds and cycles, NUL bytes in names and paths."""

from __future__ import annotations

import random

from fuzzing import Case

HEAD = "archspec: 1\nname: {name}\ninput: {{shape: [3, 8, 8]}}\n"
EXPRS = [
    "9**9**9",
    "2**100000",
    "'a' * 10**9",
    "[0] * 10**9",
    "[[0] * 1000] * 1000",
    "'ab'[::-1] * 10**8",
    "[1, 2, 3][10**9]",
    "[1, 2][::0]",
    "1 / 0",
    "1 // 0",
    "10**9 % 0",
    "sqrt(-1)",
    "float('inf')",
    "1e308 * 10",
    "int(1e308)",
    "max()",
    "len(5)",
    "sum([[0]] * 10**6)",
    "(" * 200 + "1" + ")" * 200,
    " + ".join(["1"] * 1500),
    "-" * 3000 + "1",
    "__import__('os')",
    "().__class__",
    "x.y",
    "round(1e308)",
    "abs",
    "min([])",
    "depths[1:10**9:-1]",
    "'%s' % 1",
    "not " * 500 + "1",
    "2 ** -1074 ** 2",
]


def _alias_bomb(r: random.Random) -> str:
    width, depth = r.randint(2, 12), r.randint(5, 12)
    lines = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, depth)]
    return HEAD.format(name="lol") + "\n".join(lines) + f"\nlayers: [relu, *a{depth - 1}]\n"


def _nesting(r: random.Random) -> str:
    n = r.choice([99, 100, 101, 1000, 100000])
    o, c = r.choice([("[", "]"), ("{a: ", "}"), ("- ", "")])
    if c == "":
        return HEAD.format(name="deep") + "layers:\n" + "".join("  " * i + "- \n" for i in range(min(n, 3000)))
    return HEAD.format(name="deep") + "layers: " + o * n + "relu" + c * n + "\n"


def _expression(r: random.Random) -> str:
    e = r.choice(EXPRS)
    where = r.choice(
        [
            '  - conv: {{out: "${{{e}}}", kernel: 1}}',
            '  - repeat: "${{{e}}}"\n    body: [relu]',
            '  - dropout: "${{{e}}}"',
            '  - {{relu: {{}}, name: "n${{{e}}}"}}',
        ]
    )
    return HEAD.format(name="expr") + "args: {depths: [1, 2]}\nlayers:\n" + where.format(e=e) + "\n"


def _counts(r: random.Random) -> str:
    n = r.choice(["1000000000", "100001", "-1", "1e9", "10000000000000000000000", "0"])
    body = r.choice(
        [
            f"  - repeat: {n}\n    body: [relu]",
            f"  - dense:\n      repeat: {n}\n      layer: {{conv: {{out: 1, kernel: 1}}}}",
            f"  - conv: {{out: {n}, kernel: 1}}",
            f"  - linear: {{out: {n}}}",
            f"  - conv: {{out: 8, kernel: {n}}}",
            f"  - maxpool: {{kernel: 2, stride: {n}}}",
            f"  - conv: {{out: 4, kernel: 1, pad: {n}}}",
            "  - repeat: 1000\n    body:\n      - repeat: 1000\n        body: [{relu: {}, name: 'r${i}'}]",
        ]
    )
    return HEAD.format(name="big") + "layers:\n" + body + "\n"


def _input(r: random.Random) -> str:
    shape = r.choice(
        [
            "[3, 1000000, 1000000]",
            "[1000000000]",
            "[0, 8, 8]",
            "[-3, 8, 8]",
            "[3, 8, 8, 8, 8]",
            "[]",
            "[3.5, 8, 8]",
            "[3, 65536, 65536]",
            "'3x8x8'",
            "[3, 100000, 100000]",
        ]
    )
    layers = r.choice(["[relu]", "[conv: {out: 64, kernel: 3}]", "[flatten, linear: {out: 1000}]"])
    return f"archspec: 1\nname: inp\ninput: {{shape: {shape}}}\nlayers: {layers}\n"


def case(r: random.Random) -> Case:
    kind = r.choice(["alias", "nesting", "expression", "counts", "input", "include", "nul", "literal"])
    files: dict[str, bytes] = {}
    if kind == "include":
        shape = r.choice(["diamond", "cycle", "self", "missing", "absolute", "nul", "dir", "deep"])
        inc = {
            "diamond": "[b.yaml, c.yaml]",
            "cycle": "[b.yaml]",
            "self": "[spec.yaml]",
            "missing": "[nope.yaml]",
            "absolute": "[/etc/passwd]",
            "nul": '["b\\0.yaml"]',
            "dir": "[.]",
            "deep": "[d0.yaml]",
        }[shape]
        text = HEAD.format(name="inc") + f"include: {inc}\nlayers: [blk]\n"
        blk = "blocks:\n  blk{n}:\n    seq: [relu]\n"
        files["b.yaml"] = (
            ("include: [d.yaml]\n" if shape == "diamond" else "include: [spec.yaml]\n" if shape == "cycle" else "")
            + blk.format(n="_b")
        ).encode()
        files["c.yaml"] = ("include: [d.yaml]\n" + blk.format(n="_c")).encode()
        files["d.yaml"] = blk.format(n="").encode()
        for i in range(60):  # a chain d0 -> d1 -> ... -> d59
            files[f"d{i}.yaml"] = (f"include: [d{i + 1}.yaml]\n" + blk.format(n=f"_{i}")).encode()
    elif kind == "nul":
        text = HEAD.format(name=r.choice(["a\x00b", "\x00", "a\x1b[2Jb"])) + r.choice(
            [
                'layers: [{relu: {}, name: "x\\0y"}]\n',
                'extends: "lib\\0.yaml"\nlayers: [relu]\n',
                "layers: [relu\x00]\n",
                'include: ["\\0"]\nlayers: [relu]\n',
            ]
        )
    elif kind == "literal":
        text = HEAD.format(name="lit") + r.choice(
            [
                f"args: {{x: {'9' * 100000}}}\nlayers: [relu]\n",
                f"layers: [dropout: 0.{'1' * 100000}]\n",
                f"description: '{'x' * 3000000}'\nlayers: [relu]\n",
                f"labels: [{', '.join(['a'] * 150000)}]\nlayers: [relu]\n",
            ]
        )
    else:
        text = {
            "alias": _alias_bomb,
            "nesting": _nesting,
            "expression": _expression,
            "counts": _counts,
            "input": _input,
        }[kind](r)
    files["spec.yaml"] = text.encode("utf-8", "surrogatepass")
    command = r.choice(["check", "summary", "compile"])
    argv = [command, "spec.yaml"] + (["-o", "out.onnx"] if command == "compile" else [])
    return Case(kind, argv, files)
