"""Generate docs/zoo.md from the built-in specs themselves.

Each spec's leading comment gives its title, a `Paper:` line and a `Reference:` line
(continued on lines indented `#   `); figures come from expanding the spec. `--check`
exits 1 when the page on disk differs from what the specs give (tests/test_zoo.py does the same).

    python tools/zoo_doc.py            # write docs/zoo.md
    python tools/zoo_doc.py --check    # is it current?
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archspec import load  # noqa: E402
from archspec.loader import BUILTIN_DIR, builtin_names  # noqa: E402
from archspec.summary import CONVENTION  # noqa: E402

OUT = ROOT / "docs" / "zoo.md"


def header(path: Path) -> dict[str, str]:
    """Title, paper and reference from a spec's leading comment."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    out = {"title": lines[0].lstrip("# ").strip() if lines else "", "paper": "", "reference": ""}
    key = None
    for line in lines[1:]:
        text = line[1:].strip()
        if line.startswith("#   ") and key:  # a continuation line
            out[key] += " " + text
            continue
        key = next((k for k in ("paper", "reference") if text.lower().startswith(k + ":")), None)
        if key:
            out[key] = text.split(":", 1)[1].strip()
    return {k: v.rstrip(".") for k, v in out.items()}


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _rel(path: Path) -> str:
    return path.resolve().relative_to(BUILTIN_DIR.resolve()).as_posix()


def _input(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def _gmacs(macs: int) -> str:
    g = macs / 1e9
    return f"{g:.3f}" if g >= 0.1 else f"{g:.4g}"


def zoo_order(names: list[str]) -> list[str]:
    """Natural order, so that resnet18 comes before resnet101."""
    return sorted(names, key=lambda n: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", n)])


def render() -> str:
    rows, libs = [], {}
    for name in zoo_order(builtin_names()):
        m = load(name)
        spec, *shared = m.source.files
        for lib in shared:
            libs.setdefault(_rel(lib), (_lines(lib), []))[1].append(name)
        own, lib_lines = _lines(spec), sum(_lines(p) for p in shared)
        head = header(spec)
        params = f"{m.params:,}"
        if m.train_params != m.params:
            params += f" (train graph {m.train_params:,})"
        lines = f"{own} + {lib_lines} = {own + lib_lines}" if shared else str(own)
        ref = re.sub(r"; blocks in lib/\S+", "", head["reference"])
        rows.append(f"| `{name}` | {head['title']} | {params} | {_gmacs(m.macs)} | {_input(m.input_shape)} "
                    f"| {lines} | {head['paper']} | {ref} |")
    out = [
        "# The built-in zoo",
        "",
        "Generated from the specs in `specs/` by `python tools/zoo_doc.py`; "
        "`tests/test_zoo.py` fails when this page is stale, and checks every figure against "
        "the published ones and every weight name against the reference implementation.",
        "",
        f"Conventions: {CONVENTION}. Lines: the spec file's lines (comments included), plus those "
        "of the shared library it extends.",
        "",
        "| spec | what | params | GMACs | input | lines | paper | reference |",
        "|---|---|---:|---:|---|---|---|---|",
        *rows,
        "",
        "## Shared block libraries",
        "",
        "Not listed by `archspec list`; a family's members extend one and set only its args.",
        "",
        "| library | lines | members |",
        "|---|---:|---|",
        *(f"| `{lib}` | {n} | {', '.join(f'`{m}`' for m in members)} |" for lib, (n, members) in sorted(libs.items())),
        "",
        "## Pictures",
        "",
        "Drawn from the specs by `python tools/draw_pictures.py` (`archspec graph`).",
        "",
        "| LeNet-5 | GoogLeNet inception3a | DenseNet-121 denseblock1 (layers collapsed) |",
        "| --- | --- | --- |",
        "| ![LeNet-5](img/lenet5.svg) | ![inception3a](img/inception_module.svg) "
        "| ![denseblock1](img/dense_block.svg) |",
        "",
        "| MobileNetV2 inverted residual (features.3: expand 6x, depthwise 3x3, linear projection, shortcut) |",
        "| --- |",
        "| ![inverted residual](img/inverted_residual.svg) |",
        "",
        "| ConvNeXt-T block `features.1.0` (layer scale, drop path) |",
        "| --- |",
        "| ![ConvNeXt block](img/convnext_block.svg) |",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if docs/zoo.md is stale")
    args = p.parse_args(argv)
    text = render()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        print("docs/zoo.md is current" if current == text else "docs/zoo.md is stale")
        return 0 if current == text else 1
    from archspec.io import write_atomic

    write_atomic(OUT, text.encode())
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
