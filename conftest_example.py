"""An example root ``conftest.py`` for a project that adopts pytest-asyncmock-guard.

Copy it to the root of your test tree (``pytest_plugins`` is only honoured in the root conftest).
It is exercised by ``tests/test_conftest_example.py``, so it cannot rot.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import pytest

# 1. Enable the guard for every run of this suite (the same as `pytest -p asyncmock_guard`).
pytest_plugins = ["asyncmock_guard"]

# 2. Pick a mode per directory: legacy tests only warn while they are being fixed; everything else is
#    strict. A marker on a module, class or test still wins over this (the closest marker counts).
WARN_ONLY_DIRECTORIES = ("tests/legacy",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(config.rootpath)
    for item in items:
        relative = Path(item.path).resolve().relative_to(root.resolve()).as_posix()
        if relative.startswith(WARN_ONLY_DIRECTORIES) and item.get_closest_marker("asyncmock_guard") is None:
            item.add_marker(pytest.mark.asyncmock_guard("warn"))


# 3. A correct mock of an SQLAlchemy AsyncSession (the seed guide's helper, done right).
def make_db_session(rows: Iterable[Any] = (), one: Any = None) -> AsyncMock:
    """An ``AsyncSession`` stand-in whose awaited methods are AsyncMocks and the rest plain mocks.

    - ``execute``, ``scalar``, ``scalars``, ``get``, ``commit``, ``rollback``, ``flush``, ``refresh``,
      ``close`` are coroutine methods: AsyncMock (the session itself is one, so they are by default).
    - ``add``, ``add_all``, ``expunge``, ``expunge_all`` are synchronous: MagicMock.
    - ``await session.execute(...)`` returns a ``Result``, which is synchronous: a MagicMock, with
      ``.scalars().all()``, ``.scalar_one_or_none()``, ``.all()`` and ``.first()`` configured.
    - ``async with session.begin():`` works: ``begin()`` is synchronous and returns an async
      context manager.
    """
    rows = list(rows)
    session = AsyncMock()
    for name in ("add", "add_all", "expunge", "expunge_all"):
        setattr(session, name, MagicMock())

    result = MagicMock()
    result.scalars.return_value.all.return_value = rows
    result.scalars.return_value.first.return_value = rows[0] if rows else None
    result.scalar_one_or_none.return_value = one
    result.all.return_value = rows
    result.first.return_value = rows[0] if rows else None
    session.execute.return_value = result

    session.begin = MagicMock()
    session.begin.return_value.__aenter__.return_value = session
    session.begin.return_value.__aexit__.return_value = None
    return session


@pytest.fixture
def mock_db_session() -> AsyncMock:
    """An empty session; call ``make_db_session(rows=..., one=...)`` for one with data."""
    return make_db_session()
