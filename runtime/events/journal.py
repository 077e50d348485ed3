"""The event journal in the database: channel sequences and stored payloads."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from runtime.events.tables import event_channels, event_payloads
from runtime.store.clock import database_now

__all__ = [
    "current_seq",
    "forget_payloads",
    "load_payload",
    "next_seq",
    "notify",
    "save_payload",
]


def next_seq(conn: Connection, channel: str) -> int:
    """The channel's next seq (0 for its first event); one upsert, so processes agree.

    The row stays locked until the transaction ends, so events of one channel commit
    in the order of their numbers.
    """
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    upsert = dialect_insert(event_channels).values(channel=channel, seq=0)
    numbered = upsert.on_conflict_do_update(
        index_elements=["channel"], set_={"seq": event_channels.c.seq + 1}
    ).returning(event_channels.c.seq)
    return int(conn.execute(numbered).scalar_one())


def current_seq(conn: Connection, channel: str) -> int | None:
    """The last seq given on ``channel`` (``None`` before its first event)."""
    value = conn.scalar(select(event_channels.c.seq).where(event_channels.c.channel == channel))
    return None if value is None else int(value)


def save_payload(conn: Connection, channel: str, body: str, *, now: datetime) -> uuid.UUID:
    """Keep an envelope too big to notify; its id."""
    payload_id = uuid.uuid4()
    conn.execute(
        insert(event_payloads).values(id=payload_id, channel=channel, body=body, created_at=now)
    )
    return payload_id


def load_payload(conn: Connection, payload_id: uuid.UUID) -> str | None:
    """A stored envelope by its id."""
    value = conn.scalar(select(event_payloads.c.body).where(event_payloads.c.id == payload_id))
    return None if value is None else str(value)


def notify(conn: Connection, channel: str, payload: str) -> None:
    """PostgreSQL NOTIFY, sent when (and only if) the transaction commits."""
    conn.execute(select(func.pg_notify(channel, payload)))


def forget_payloads(conn: Connection, *, keep_s: float = 3600) -> None:
    """Housekeeping: stored payloads are read within moments; an hour is plenty."""
    cut = database_now(conn) - timedelta(seconds=keep_s)
    conn.execute(delete(event_payloads).where(event_payloads.c.created_at < cut))
