"""What every remedy returns."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from asyncmock_guard._edits import Edit
    from asyncmock_guard._findings import Location

SAFE = "safe"
UNSAFE = "unsafe"  # it changes the code under test, or what the test asserts


class Remedy(NamedTuple):
    """The message (what happened, why), the fix text, its edits, and where the user edits."""

    message: str
    fix: str
    edits: tuple[Edit, ...] = ()
    applicability: str = SAFE
    change_at: Location | None = None  # None: the diagnosis's
    bug_in: str | None = None  # None: the diagnosis's ("test" or "code")
