"""The language fixes of issue 14 (part 3): each test here fails on the main before them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import archspec

HEAD = "archspec: 1\nname: t\ninput: {name: image, shape: [3, 8, 8]}\n"  # lines 1-3
TOOLS = Path(__file__).resolve().parent.parent / "tools"


def _nodes(body: str) -> list[str]:
    return [n for n in archspec.loads(HEAD + body).graph.nodes if n != "image"]


# ---- 2. positional names follow nn.Sequential ---------------------------------------------------

def test_an_unnamed_combinator_takes_one_position_and_numbers_its_own_items() -> None:
    # nn.Sequential(conv, Residual(Sequential(conv, bn)), relu): 0, 1.0, 1.1, (1.2 the add), 2
    assert _nodes("layers:\n  - conv: {out: 3, kernel: 1}\n  - residual: {body: [conv: {out: 3, kernel: 1}, bn]}\n"
                  "  - relu\n") == ["0", "1.0", "1.1", "1.2", "2"]
    assert _nodes("layers:\n  - relu\n  - seq: [relu, relu]\n  - relu\n") == ["0", "1.0", "1.1", "2"]
    assert _nodes("layers:\n  - concat: [relu, relu]\n  - relu\n") == ["0.0", "0.1", "0.2", "1"]


def test_named_items_of_an_unnamed_combinator_keep_their_names_in_the_enclosing_scope() -> None:
    # torchvision's Fire: squeeze, squeeze_activation, expand1x1, expand3x3 are its own children
    assert _nodes("layers:\n  - relu\n  - concat: {a: {conv: {out: 2, kernel: 1}}, b: [relu]}\n"
                  "  - residual: {body: [relu, {relu: {name: r}}]}\n  - relu\n") \
        == ["0", "a", "b.0", "1.2", "2.0", "r", "2.2", "3"]


def test_repeat_and_if_still_build_the_list_they_are_in() -> None:
    assert _nodes("layers:\n  - relu\n  - repeat: 2\n    body: [relu, relu]\n  - if: true\n    then: relu\n"
                  "  - relu\n") == ["0", "1", "2", "3", "4", "5", "6"]


def test_a_named_combinator_and_a_block_body_are_unchanged() -> None:
    body = ("blocks:\n  b: {residual: {body: {conv: {out: 3, kernel: 1, name: c}}}}\n"
            "layers:\n  - b\n  - {seq: [relu], name: s}\n")
    assert _nodes(body) == ["0.c", "0.1", "s.0"]


@pytest.mark.slow
def test_every_builtin_keeps_its_state_dict_keys_and_shapes() -> None:
    """tools/state_keys.py recorded them before the naming fix; a built-in added since is not in the record."""
    sys.path.insert(0, str(TOOLS))
    try:
        from state_keys import RECORD, digest, state_keys
    finally:
        sys.path.remove(str(TOOLS))
    record = json.loads(RECORD.read_text())
    assert len(record) >= 80
    changed = [n for n, r in record.items() if digest(state_keys(n)) != r["sha256"]]
    assert changed == []
