"""The database clock: one time for every process that shares the database."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection

__all__ = ["database_now"]


def database_now(conn: Connection) -> datetime:
    """The database server's current time, as an aware UTC datetime."""
    if conn.dialect.name == "sqlite":
        raw = conn.scalar(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"))
        return datetime.fromisoformat(str(raw)).replace(tzinfo=UTC)
    value = conn.scalar(text("SELECT now()"))
    assert isinstance(value, datetime)
    return value.astimezone(UTC)
