"""Random mutations of the built-in specs, libraries and recipes: lines deleted, duplicated or
swapped, numbers and names replaced by hostile values, bytes inserted, files truncated."""

from __future__ import annotations

import random
import re
from pathlib import Path

from fuzzing import Case

PKG = Path(__file__).resolve().parents[2] / "archspec"
NUMBERS = [
    "0",
    "-1",
    "1000000000",
    "1e308",
    "-1e308",
    ".nan",
    ".inf",
    "3.5",
    "99999999999999999999999",
    "0x10",
    "[1, 2]",
    "[]",
    "{}",
    "null",
    "true",
    "''",
    "'${9**9**9}'",
    "'${[0] * 10**9}'",
]
JUNK = [
    "\x00",
    "\t",
    ":",
    "[",
    "]",
    "{",
    "&a",
    "*a",
    "!!python/object:os.system",
    "- ",
    "\u2028",
    "\x85",
    "\r",
    "'",
    '"',
    "${",
    "\ufeff",
    "%YAML 1.1\n",
    "---\n",
    "?",
    "<<: *a",
    "\xff",
    "é",
    "\U0001f600",
]
NAMES = [
    "conv",
    "relu",
    "bn",
    "repeat",
    "residual",
    "concat",
    "dense",
    "graph",
    "from",
    "include",
    "extends",
    "blocks",
    "args",
    "layers",
    "in",
    "in_channels",
    "i",
    "output",
    "zzz",
    "lib/resnet.yaml",
]


def _sources() -> list[Path]:
    return sorted([*PKG.glob("specs/*.yaml"), *PKG.glob("recipes/*.yaml")])


def _mutate(r: random.Random, text: str) -> str:
    lines = text.split("\n")
    kind = r.choice(["delete", "duplicate", "swap", "number", "name", "junk", "truncate", "indent"])
    i, j = r.randrange(len(lines)), r.randrange(len(lines))
    if kind == "delete":
        del lines[i]
    elif kind == "duplicate":
        lines.insert(j, lines[i])
    elif kind == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "indent":
        lines[i] = " " * r.choice([1, 2, 3, 8]) + lines[i]
    elif kind in ("number", "name"):
        pattern = r"(?<![\w.])\d+(\.\d+)?" if kind == "number" else r"[A-Za-z_][\w.]*"
        spots = [m.span() for m in re.finditer(pattern, text)]
        if spots:
            a, b = r.choice(spots)
            return text[:a] + r.choice(NUMBERS if kind == "number" else NAMES) + text[b:]
    elif kind == "junk":
        at = r.randrange(len(text) + 1)
        return text[:at] + r.choice(JUNK) + text[at:]
    else:
        return text[: r.randrange(len(text) + 1)]
    return "\n".join(lines)


def case(r: random.Random) -> Case:
    """One to three mutations of one built-in file, run by the command that reads it."""
    src = r.choice(_sources())
    text = src.read_text()
    for _ in range(r.randint(1, 3)):
        text = _mutate(r, text)
    files = {f"lib/{p.name}": p.read_bytes() for p in PKG.glob("specs/lib/*.yaml")}
    if src.parent.name == "recipes":
        from fuzzing.files import tiny_data

        files |= {"recipe.yaml": text.encode("utf-8", "surrogateescape"), "tiny.npz": tiny_data()}
        return Case(
            f"recipe {src.stem}",
            ["train", "lenet5", "--recipe", "recipe.yaml", "--out", "run", "--epochs", "1", "-q", "--data", "tiny.npz"],
            files,
        )
    if r.random() < 0.2 and "lib" in text:  # a mutated library under an intact spec
        lib = r.choice(sorted(files))
        files[lib] = _mutate(r, files[lib].decode()).encode()
        text = src.read_text()
    files["spec.yaml"] = text.encode()
    command = (
        r.choice(["check", "check", "summary", "compile"])
        if "lenet" in src.stem or "cifar" in src.stem
        else r.choice(["check", "summary"])
    )
    argv = [command, "spec.yaml"] + (["-o", "out.onnx"] if command == "compile" else [])
    return Case(f"{command} {src.stem}", argv, files)
