"""The database clock: one time for every process that shares the database."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection

__all__ = ["database_now"]


_NOW = "vvtv_now"


def database_now(conn: Connection) -> datetime:
    """The database clock at the start of the current transaction, as an aware UTC datetime.

    Read once per transaction, as PostgreSQL's ``now()`` is: units of work committed
    together share one time, and each saves a round trip.
    """
    transaction = conn.get_transaction()
    cached = conn.info.get(_NOW)
    if transaction is not None and cached is not None and cached[0] is transaction:
        return cached[1]  # type: ignore[no-any-return]
    now = _read_now(conn)
    if transaction is not None:
        conn.info[_NOW] = (transaction, now)
    return now


def _read_now(conn: Connection) -> datetime:
    if conn.dialect.name == "sqlite":
        raw = conn.scalar(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"))
        return datetime.fromisoformat(str(raw)).replace(tzinfo=UTC)
    value = conn.scalar(text("SELECT now()"))
    assert isinstance(value, datetime)
    return value.astimezone(UTC)
