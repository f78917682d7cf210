"""Mistakes made where the test builds its mocks: the guard reports them at the line that builds them."""

from __future__ import annotations

from unittest.mock import AsyncMock, MagicMock, create_autospec

from app import store as storage


# The seed's Pattern 2 as written: the positional argument of AsyncMock is its *spec*; with a list of
# dicts unittest.mock even fails while building it.
async def test_wrong_spec_is_data() -> None:
    mock_obj = MagicMock()
    mock_data = [{"id": 1}, {"id": 2}]
    mock_obj.fetchall = AsyncMock(mock_data)
    assert await storage.fetch_rows(mock_obj) == mock_data


async def test_right_return_value() -> None:
    mock_obj = MagicMock()
    mock_data = [{"id": 1}, {"id": 2}]
    mock_obj.fetchall = AsyncMock(return_value=mock_data)
    assert await storage.fetch_rows(mock_obj) == mock_data


async def load_profile(key: str) -> dict[str, str]:
    return {"name": key.title()}


# A coroutine *object* as return_value: awaiting the mock gives the coroutine itself.
async def test_wrong_coroutine_as_return_value() -> None:
    store = MagicMock()
    store.load = AsyncMock(return_value=load_profile("ada"))
    assert await storage.profile(store, "ada") == {"name": "Ada"}


async def test_right_side_effect() -> None:
    store = MagicMock()
    store.load = AsyncMock(side_effect=load_profile)
    assert await storage.profile(store, "ada") == {"name": "Ada"}


# An AsyncMock for a member the spec says is synchronous: keep() never runs the mocked save.
def test_wrong_async_mock_for_sync_member() -> None:
    store = create_autospec(storage.Store, instance=True)
    store.save = AsyncMock()
    assert storage.keep(store, "item")


def test_right_autospec_alone() -> None:
    store = create_autospec(storage.Store, instance=True)
    assert storage.keep(store, "item")
    store.save.assert_called_once_with("item")


# Production code awaits a MagicMock: persist() needs an AsyncMock for save.
async def test_wrong_awaited_sync_mock() -> None:
    store = MagicMock()
    assert await storage.persist(store, "item")


async def test_right_awaited_async_mock() -> None:
    store = MagicMock()
    store.save = AsyncMock(return_value=None)
    assert await storage.persist(store, "item")
