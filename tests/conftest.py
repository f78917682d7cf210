"""What every test of this suite sees, wherever the suite runs.

The pytest runs these tests make print what their environment asks for: pytest prints a CI run's short
summary lines whole (``CI`` or ``BUILD_NUMBER`` set) and sizes its separators by ``COLUMNS``, and the guard
prints GitHub annotations under ``GITHUB_ACTIONS=true``. Each run starts from a plain terminal's environment;
the tests of those behaviours set what they need.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _a_plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CI", "BUILD_NUMBER", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "80")
