"""Write docs/ops.md from the op registry: python tools/gen_ops_doc.py"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this tree's archspec, not an installed one

from archspec.docs import ops_page  # noqa: E402

if __name__ == "__main__":
    path = ROOT / "docs" / "ops.md"
    path.write_text(ops_page())
    print(f"wrote {path}")
