"""Every built-in's state_dict keys and shapes, from archspec's torch-free expansion.

`python tools/state_keys.py --write` records them in tests/data/builtin_state_keys.json, one
digest per built-in; tests/test_language_fixes.py checks the built-ins still match, so a change
to naming cannot silently rename a weight that torchvision's state_dict loads strictly into.
`python tools/state_keys.py NAME` prints one built-in's keys.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from archspec.expand import expand
from archspec.loader import builtin_names, find_spec, read
from archspec.weights import expected

RECORD = Path(__file__).resolve().parent.parent / "tests" / "data" / "builtin_state_keys.json"


def state_keys(name: str) -> dict[str, list[int]]:
    """state_dict key -> shape of the built-in's train graph (every weight and buffer)."""
    graph = expand(read(find_spec(name)))
    return {k: list(s) for k, s in expected(graph.nodes.values()).items()}


def digest(keys: dict[str, list[int]]) -> str:
    text = "\n".join(f"{k} {s}" for k, s in sorted(keys.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def record() -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for name in builtin_names():
        keys = state_keys(name)
        out[name] = {"keys": len(keys), "sha256": digest(keys)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="print these built-ins' keys and shapes")
    ap.add_argument("--write", action="store_true", help=f"record every built-in in {RECORD.name}")
    a = ap.parse_args()
    if a.write:
        RECORD.write_text(json.dumps(record(), indent=1, sort_keys=True) + "\n")
        print(f"wrote {RECORD}")
    for name in a.names:
        print(json.dumps(state_keys(name), indent=1))


if __name__ == "__main__":
    main()
