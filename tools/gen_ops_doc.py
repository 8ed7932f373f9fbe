"""Write docs/ops.md from the op registry: python tools/gen_ops_doc.py"""

from pathlib import Path

from archspec.docs import ops_page

if __name__ == "__main__":
    path = Path(__file__).resolve().parent.parent / "docs" / "ops.md"
    path.write_text(ops_page())
    print(f"wrote {path}")
