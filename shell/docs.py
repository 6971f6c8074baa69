"""Write the generated documentation pages (python -m shell.docs)."""

from __future__ import annotations

import sys
from pathlib import Path

from jescore.docgen import policy_page

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = {"policy.md": policy_page}


def main() -> int:
    for name, render in PAGES.items():
        (DOCS / name).write_text(render())
        print(f"wrote docs/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
