"""Expressions: arithmetic works, everything else is refused without running it."""

from __future__ import annotations

import pytest

from archspec.expr import ExprError, evaluate, substitute


@pytest.mark.parametrize(("text", "env", "value"), [
    ("$width", {"width": 64}, 64),
    ("${width * 4}", {"width": 64}, 256),
    ("${(a + b) // 2 - -1}", {"a": 3, "b": 6}, 5),
    ("${depths[2]}", {"depths": [3, 4, 6, 3]}, 6),
    ("${sum(depths[:2])}", {"depths": [3, 4, 6, 3]}, 7),
    ("${max(1, int(c * 0.5))}", {"c": 7}, 3),
    ("${stride != 1 or cin != cout}", {"stride": 1, "cin": 4, "cout": 4}, False),
    ("${'a' if k == 'bottleneck' else 'b'}", {"k": "bottleneck"}, "a"),
    ("${2 ** 10}", {}, 1024),
    ("denselayer${i + 1}", {"i": 0}, "denselayer1"),
    ("b${i}_${j}", {"i": 1, "j": 2}, "b1_2"),
])
def test_values(text: str, env: dict, value: object) -> None:
    assert evaluate(text, env) == value


@pytest.mark.parametrize(("text", "message"), [
    ("${__import__('os').system('true')}", "only the functions"),
    ("${().__class__}", "'Attribute' is not allowed"),
    ("${[x for x in y]}", "'ListComp' is not allowed"),
    ("${lambda: 1}", "'Lambda' is not allowed"),
    ("${open('/etc/passwd')}", "only the functions"),
    ("${width +}", "invalid expression"),
    ("${nope}", "undefined name 'nope'"),
    ("${1 / 0}", "cannot evaluate"),
    ("${2 ** 10 ** 10}", "exponent"),
    ("$", "use $name or ${expression}"),
])
def test_refused(text: str, message: str) -> None:
    with pytest.raises(ExprError) as e:
        evaluate(text, {"y": [1]})
    assert message in str(e.value)


def test_substitute_walks_lists_only() -> None:
    assert substitute(["$a", 2, "${a + 1}"], {"a": 1}) == [1, 2, 2]
    assert substitute("plain", {}) == "plain"
