"""The database clock: one time for every process that shares the database."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["database_now"]


async def database_now(conn: AsyncConnection) -> datetime:
    """The database server's current time, as an aware UTC datetime."""
    if conn.dialect.name == "sqlite":
        raw = await conn.scalar(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"))
        return datetime.fromisoformat(str(raw)).replace(tzinfo=UTC)
    value = await conn.scalar(text("SELECT now()"))
    assert isinstance(value, datetime)
    return value.astimezone(UTC)
