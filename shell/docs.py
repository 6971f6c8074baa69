"""Write the generated documentation (python -m shell.docs): the policy tables, the types
files of every VCS version, the Pacemaker reference and the OCF meta-data, so an
administrator can read them before installing."""

from __future__ import annotations

import sys
from pathlib import Path

from jescore.policy.registry import POLICIES
from jescore.tooling.docgen import policy_page
from jescore.tooling.ocfdoc import pacemaker_page
from jescore.tooling.ocfmeta import metadata
from jescore.tooling.typesfile import all_files

DOCS = Path(__file__).resolve().parent.parent / "docs"


def pages() -> dict[str, str]:
    """Path under docs/ -> its generated text."""
    generated = {"policy.md": policy_page(), "pacemaker-reference.md": pacemaker_page()}
    generated.update({f"types/{name}": text for name, text in all_files().items()})
    generated.update({f"ocf/{t}.xml": metadata(p.declaration) for t, p in POLICIES.items()})
    return generated


def main() -> int:
    for name, text in pages().items():
        target = DOCS / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        print(f"wrote docs/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
