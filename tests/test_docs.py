"""The generated documentation is up to date with the code."""

from __future__ import annotations

import pytest

from jescore.policy.registry import POLICIES
from shell.docs import DOCS, pages


@pytest.mark.parametrize("name", sorted(pages()))
def test_generated_page_is_current(name: str) -> None:
    committed = (DOCS / name).read_text()
    assert committed == pages()[name], f"docs/{name} is stale: run `python -m shell.docs`"


def test_no_stale_types_file_is_left_behind() -> None:
    written = {p.name for p in (DOCS / "types").iterdir()}
    assert written == {name.split("/", 1)[1] for name in pages() if name.startswith("types/")}


def test_every_attribute_is_documented() -> None:
    page = (DOCS / "policy.md").read_text()
    for policy in POLICIES.values():
        for attr in policy.declaration.attrs:
            assert f"`{attr.name}`" in page
