"""Writes archspec/data/imagenet_labels.txt, the 1000 ImageNet-1k class names in class order, one a
line, from torchvision (run once; the file ships with the package, so archspec needs no torchvision)."""

from __future__ import annotations

from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "archspec" / "data" / "imagenet_labels.txt"


def main() -> None:
    from torchvision.models._meta import _IMAGENET_CATEGORIES as names

    assert len(names) == 1000 and all(n.strip() == n and "\n" not in n for n in names)
    OUT.write_text("\n".join(names) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(names)} names)")


if __name__ == "__main__":
    main()
