"""``asyncmock-guard explain [KIND]``: a finding kind's reference page in the terminal, or the kinds with one
line each. The pages are ``docs/kinds/KIND.md``, shipped in the wheel as ``asyncmock_guard/kinds`` (an
editable install reads them from the source tree)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from asyncmock_guard._findings import FindingKind


def pages() -> Path | None:
    """Where the pages are: in the installed package, else beside the source tree it was installed from."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "kinds", here.parent.parent / "docs" / "kinds"):
        if candidate.is_dir():
            return candidate
    return None


def summary(text: str) -> str:
    """A page's one line: the first sentence of its "What happened." paragraph."""
    paragraph = text.partition("**What happened.**")[2].split("\n\n", 1)[0]
    sentence = " ".join(paragraph.split()).split(": ", 1)[0].split(". ", 1)[0]
    return sentence.rstrip(".")


def main(argv: Sequence[str]) -> int:
    kinds = [kind.value for kind in FindingKind]
    directory = pages()
    if directory is None:
        print("asyncmock-guard explain: the kinds' pages are not installed with this copy", file=sys.stderr)
        return 2
    if not argv:
        width = max(map(len, kinds))
        for kind in kinds:
            print(f"{kind:<{width}}  {summary((directory / f'{kind}.md').read_text(encoding='utf-8'))}")
        print("\nasyncmock-guard explain KIND shows a kind's page.")
        return 0
    if len(argv) > 1 or argv[0] not in kinds:
        print(
            f"asyncmock-guard explain: unknown kind {' '.join(argv)!r}; the kinds are: {', '.join(kinds)}",
            file=sys.stderr,
        )
        return 2
    sys.stdout.write((directory / f"{argv[0]}.md").read_text(encoding="utf-8"))
    return 0
