"""The patterns of a widely copied "async mock correct patterns" guide, as the guard sees them.

Tests named ``test_wrong_*`` misuse AsyncMock: in strict mode the guard fails each with a report that
names the mock, the line and the fix. Tests named ``test_right_*`` are the fixes: they pass, silently.
"""

from __future__ import annotations

from unittest.mock import AsyncMock, MagicMock, Mock

import pytest
from app import assets


@pytest.fixture
def mock_db() -> AsyncMock:
    return AsyncMock()  # execute() and commit() are awaited: AsyncMock is right for the session itself


# Pattern 1, "INCORRECT - creates intermediate mocks": scalars() returns a coroutine.
async def test_wrong_pattern_1_intermediate_mocks(mock_db: AsyncMock) -> None:
    asset_ids = [1, 2, 3]
    scalars_mock = AsyncMock()
    scalars_mock.all = AsyncMock(return_value=asset_ids)
    asset_result = AsyncMock()
    asset_result.scalars = AsyncMock(return_value=scalars_mock)
    mock_db.execute.return_value = asset_result
    assert await assets.asset_ids(mock_db) == asset_ids


# Pattern 1, the guide's "CORRECT - direct chain assignment": still wrong, because asset_result is an
# AsyncMock, so its .scalars is an AsyncMock too and scalars() returns a coroutine.
async def test_wrong_pattern_1_so_called_correct(mock_db: AsyncMock) -> None:
    asset_ids = [1, 2, 3]
    asset_result = AsyncMock()
    asset_result.scalars.return_value.all.return_value = asset_ids
    mock_db.execute.return_value = asset_result
    assert await assets.asset_ids(mock_db) == asset_ids


# Pattern 1 done right: what `await db.execute(...)` returns (a Result) is synchronous.
async def test_right_pattern_1(mock_db: AsyncMock) -> None:
    asset_ids = [1, 2, 3]
    asset_result = MagicMock()
    asset_result.scalars.return_value.all.return_value = asset_ids
    mock_db.execute.return_value = asset_result
    assert await assets.asset_ids(mock_db) == asset_ids


# Pattern 2 with a synchronous caller: an AsyncMock returns a coroutine, which sync code cannot await.
def test_wrong_pattern_2_sync_caller() -> None:
    mock_obj = MagicMock()
    mock_data = [{"id": 1}, {"id": 2}]
    mock_obj.fetchall = AsyncMock(return_value=mock_data)
    assert assets.first_row(mock_obj) == {"id": 1}


def test_right_pattern_2_sync_caller() -> None:
    mock_obj = MagicMock()
    mock_data = [{"id": 1}, {"id": 2}]
    mock_obj.fetchall = MagicMock(return_value=mock_data)
    assert assets.first_row(mock_obj) == {"id": 1}


# Pattern 4, "INCORRECT - using AsyncMock for sync methods".
async def test_wrong_pattern_4() -> None:
    session = AsyncMock()
    mock_result = AsyncMock()
    mock_result.scalar_one_or_none = AsyncMock(return_value=None)  # WRONG!
    mock_result.scalars = AsyncMock(return_value=Mock(all=Mock(return_value=[])))  # WRONG!
    session.execute = AsyncMock(return_value=mock_result)
    assert await assets.user_name(session, 1) is None


# Pattern 4, "CORRECT": a regular Mock for the sync result, AsyncMock only for execute().
async def test_right_pattern_4() -> None:
    session = AsyncMock()
    mock_result = Mock()
    mock_result.scalar_one_or_none = Mock(return_value=None)
    mock_result.scalars = Mock(return_value=Mock(all=Mock(return_value=[])))
    session.execute = AsyncMock(return_value=mock_result)
    assert await assets.user_name(session, 1) is None


# A test that passes while testing nothing: session.add() returns a coroutine nobody awaits.
async def test_wrong_sync_method_as_async_mock(mock_db: AsyncMock) -> None:
    await assets.archive(mock_db, "asset-7")
    mock_db.add.assert_called_once_with("asset-7")
    mock_db.commit.assert_awaited_once()


async def test_right_sync_method_as_magic_mock(mock_db: AsyncMock) -> None:
    mock_db.add = MagicMock()  # Session.add is synchronous
    await assets.archive(mock_db, "asset-7")
    mock_db.add.assert_called_once_with("asset-7")
    mock_db.commit.assert_awaited_once()
