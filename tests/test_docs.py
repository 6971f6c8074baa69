"""The generated documentation pages are up to date with the code."""

from __future__ import annotations

import pytest

from shell.docs import DOCS, PAGES


@pytest.mark.parametrize("name", sorted(PAGES))
def test_generated_page_is_current(name: str) -> None:
    committed = (DOCS / name).read_text()
    assert committed == PAGES[name](), f"docs/{name} is stale: run `python -m shell.docs`"


def test_every_attribute_is_documented() -> None:
    from jescore.registry import POLICIES

    page = (DOCS / "policy.md").read_text()
    for policy in POLICIES.values():
        for attr in policy.declaration.attrs:
            assert f"`{attr.name}`" in page
