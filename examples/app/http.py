"""An httpx-style client: ``get`` is awaited, the response's ``json`` and ``raise_for_status`` are not."""

from __future__ import annotations

from typing import Any


async def fetch_profile(client: Any, user_id: int) -> dict[str, Any]:
    response = await client.get(f"/users/{user_id}")
    response.raise_for_status()
    return response.json()
