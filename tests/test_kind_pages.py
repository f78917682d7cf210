"""The reference pages of the finding kinds (``docs/kinds/KIND.md``) cannot rot: every kind of the vocabulary
has a page, every page names its kind, and each page's examples are run: the ``wrong`` example (with the
page's ``app`` module) gives exactly one finding, of that kind, and the ``fixed`` one gives none and passes
(the way pytest-asyncio runs its documentation's examples)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from _guardrun import run_guard, write_project
from asyncmock_guard import FindingKind

PAGES = Path(__file__).parent.parent / "docs" / "kinds"
_BLOCK = re.compile(r"^```python (app|wrong|fixed)\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def _blocks(page: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for role, body in _BLOCK.findall(page.read_text(encoding="utf-8")):
        assert role not in found, f"{page.name} has two {role} examples"
        found[role] = body
    return found


def test_every_kind_has_a_page_and_every_page_a_kind() -> None:
    kinds = {kind.value for kind in FindingKind}
    pages = {page.stem for page in PAGES.glob("*.md")}
    assert pages == kinds, f"without a page: {sorted(kinds - pages)}; naming no kind: {sorted(pages - kinds)}"
    for page in PAGES.glob("*.md"):
        assert page.read_text(encoding="utf-8").startswith(f"# `{page.stem}`\n"), page.name


@pytest.mark.parametrize("kind", sorted(kind.value for kind in FindingKind))
def test_a_pages_sections_are_there(kind: str) -> None:
    text = (PAGES / f"{kind}.md").read_text(encoding="utf-8")
    for heading in ("**What happened.**", "**Why it is wrong.**", "## Example", "## How the guard decides"):
        assert heading in text, (kind, heading)
    for heading in ("## Fields", "## Known limits"):
        assert heading in text, (kind, heading)
    assert {"wrong", "fixed"} <= set(_blocks(PAGES / f"{kind}.md"))


@pytest.mark.parametrize("kind", sorted(kind.value for kind in FindingKind))
def test_a_pages_wrong_example_gives_its_finding_and_the_fixed_one_none(pytester: pytest.Pytester, kind: str) -> None:
    blocks = _blocks(PAGES / f"{kind}.md")
    write_project(pytester, app=blocks.get("app", ""), test_example=blocks["wrong"])
    wrong = run_guard(pytester, "strict")
    assert [finding["kind"] for finding in wrong.findings] == [kind], wrong.output
    assert wrong.only()["nodeid"].startswith("test_example.py::")
    assert f"  more: asyncmock-guard explain {kind}" in wrong.output  # the finding's section says where to read

    write_project(pytester, app=blocks.get("app", ""), test_example=blocks["fixed"])
    fixed = run_guard(pytester, "strict")
    assert fixed.findings == [], fixed.output
    assert fixed.result.ret == 0, fixed.output
