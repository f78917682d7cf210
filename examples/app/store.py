"""A small storage service: ``save`` is synchronous, ``load`` and ``fetch_rows`` are awaited."""

from __future__ import annotations

from typing import Any


class Store:
    def save(self, item: object) -> None:
        raise NotImplementedError

    async def load(self, key: str) -> dict[str, Any]:
        raise NotImplementedError


def keep(store: Store, item: object) -> bool:
    store.save(item)
    return True


async def persist(store: Any, item: object) -> bool:
    await store.save(item)
    return True


async def fetch_rows(cursor: Any) -> Any:
    return await cursor.fetchall()


async def profile(store: Any, key: str) -> Any:
    return await store.load(key)
