"""Every YAML example in docs/spec-language.md loads, and its `# expect:` figures hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import archspec
from archspec.ops.base import fmt

DOC = Path(__file__).parent.parent / "docs" / "spec-language.md"
EXAMPLES = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)


def test_the_page_has_examples() -> None:
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("text", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_example(text: str, tmp_path: Path) -> None:
    first = text.splitlines()[0]
    path = tmp_path / "example.yaml"
    path.write_text(text)
    if first.startswith("# error:"):
        with pytest.raises(archspec.SpecError) as e:
            archspec.load(path)
        line_col, message = first.removeprefix("# error: ").split(": ", 1)
        assert f"example.yaml:{line_col}: error: {message}" in e.value.report()
        return
    m = archspec.load(path)
    expect = dict(kv.split("=", 1) for kv in first.removeprefix("# expect:").split())
    assert set(expect) <= {"params", "train_params", "macs", "output", "nodes"}, expect  # a typo checks nothing
    if "params" in expect:
        assert m.params == int(expect["params"])
    if "train_params" in expect:
        assert m.train_params == int(expect["train_params"])
    if "macs" in expect:
        assert m.macs == int(expect["macs"])
    if "output" in expect:
        assert fmt(m.graph.nodes[m.graph.outputs[0].node].shape) == expect["output"]
    for name in expect["nodes"].split(",") if "nodes" in expect else []:
        assert name in m.graph.nodes
