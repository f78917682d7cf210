"""``conftest_example.py`` works as documented: it enables the guard, sets modes per directory, and its
session fixture is a correct AsyncSession mock (strict mode finds nothing in tests that use it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from _guardrun import INI

EXAMPLE = (Path(__file__).parent.parent / "conftest_example.py").read_text()

REPOSITORY = """
async def asset_ids(session):
    result = await session.execute("SELECT id FROM assets")
    return result.scalars().all()


async def find_user(session, user_id):
    result = await session.execute(user_id)
    return result.scalar_one_or_none()


async def create(session, asset):
    async with session.begin():
        session.add(asset)
        await session.flush()
    await session.commit()
    return asset


async def archive(session, asset):
    session.add(asset)
    await session.commit()
    return asset
"""

USES_FIXTURE = """
import repository
from conftest import make_db_session


async def test_ids_empty(mock_db_session):
    assert await repository.asset_ids(mock_db_session) == []


async def test_ids(mock_db_session):
    session = make_db_session(rows=[1, 2])
    assert await repository.asset_ids(session) == [1, 2]


async def test_find_user(mock_db_session):
    session = make_db_session(one="ada")
    assert await repository.find_user(session, 1) == "ada"
    assert await repository.find_user(mock_db_session, 2) is None


async def test_create(mock_db_session):
    assert await repository.create(mock_db_session, "asset") == "asset"
    mock_db_session.add.assert_called_once_with("asset")
    mock_db_session.flush.assert_awaited_once()
    mock_db_session.commit.assert_awaited_once()
"""

MISUSE = """
from unittest.mock import AsyncMock
import repository


async def test_misuse():
    session = AsyncMock()  # so session.add is an AsyncMock too: add() returns a coroutine nobody awaits
    assert await repository.archive(session, "asset") == "asset"
    session.add.assert_called_once_with("asset")
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    pytester.makeconftest(EXAMPLE)
    pytester.makepyfile(repository=REPOSITORY)
    pytester.syspathinsert()
    return pytester


def test_fixture_is_a_correct_session_mock(project: pytest.Pytester) -> None:
    project.makepyfile(test_repository=USES_FIXTURE)
    result = project.runpytest_subprocess("-p", "no:cacheprovider")  # the conftest enables the guard
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["asyncmock-guard: mode strict", "*= asyncmock-guard =*", "no findings"])


def test_legacy_directory_only_warns(project: pytest.Pytester) -> None:
    legacy = project.mkdir("tests").joinpath("legacy")
    legacy.mkdir()
    legacy.joinpath("test_old.py").write_text(MISUSE)
    project.path.joinpath("tests", "test_new.py").write_text(MISUSE)
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "tests/legacy/test_old.py .*",
            "tests/test_new.py F*",
            "asyncmock-guard (strict): 1 AsyncMock/coroutine misuse in this test",
            "*= warnings summary =*",
            "tests/legacy/test_old.py::test_misuse",
            "*repository.py:20: AsyncMockGuardWarning: [[]never-awaited[]] session.add",
        ]
    )
