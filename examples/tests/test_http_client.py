"""An httpx-style client: only ``get`` is awaited; the response is a plain object."""

from __future__ import annotations

from unittest.mock import AsyncMock, MagicMock

from app import http


# Wrong: `http_client.get.return_value` is an AsyncMock (a child of an AsyncMock), so
# response.json() returns a coroutine, and the comparison below is silently False.
async def test_wrong_response_is_async_mock() -> None:
    http_client = AsyncMock()
    http_client.get.return_value.json.return_value = {"name": "Ada"}
    assert await http.fetch_profile(http_client, 1) == {"name": "Ada"}


async def test_right_response_is_magic_mock() -> None:
    http_client = AsyncMock()
    http_client.get.return_value = MagicMock()  # an httpx.Response: json() is synchronous
    http_client.get.return_value.json.return_value = {"name": "Ada"}
    assert await http.fetch_profile(http_client, 1) == {"name": "Ada"}
