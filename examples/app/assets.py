"""An SQLAlchemy-style repository: ``execute`` and ``commit`` are awaited, the rest is synchronous."""

from __future__ import annotations

from typing import Any


async def asset_ids(db: Any) -> list[int]:
    result = await db.execute("SELECT id FROM assets")
    return result.scalars().all()


async def user_name(session: Any, user_id: int) -> str | None:
    result = await session.execute(f"SELECT * FROM users WHERE id = {user_id}")
    user = result.scalar_one_or_none()
    if user is None:
        return None
    return user.name


async def archive(session: Any, asset: object) -> None:
    session.add(asset)
    await session.commit()


def first_row(cursor: Any) -> Any:
    """A synchronous caller: it cannot await whatever ``fetchall`` returns."""
    rows = cursor.fetchall()
    return rows[0]
