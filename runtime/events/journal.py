"""The event journal in the database: channel sequences and stored payloads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from runtime.events.tables import event_channels, event_payloads
from runtime.store.clock import database_now

__all__ = [
    "current_seq",
    "forget_payloads",
    "load_payload",
    "notify",
    "notify_all",
    "save_payload",
    "take_seqs",
]


def take_seqs(conn: Connection, channel: str, count: int = 1) -> int:
    """Reserve the channel's next ``count`` numbers (from 0); the first. One upsert.

    The row stays locked until the transaction ends, so events of one channel commit
    in the order of their numbers, whichever process numbered them.
    """
    values = {"channel": channel, "seq": count - 1, "count": count}
    last = conn.execute(_take(conn.dialect.name), values).scalar_one()
    return int(last) - count + 1


@cache
def _take(dialect: str) -> Any:
    """The numbering upsert, built once (it runs for every published event)."""
    upsert = (pg_insert if dialect == "postgresql" else sqlite_insert)(event_channels).values(
        channel=bindparam("channel"), seq=bindparam("seq")
    )
    return upsert.on_conflict_do_update(
        index_elements=["channel"], set_={"seq": event_channels.c.seq + bindparam("count")}
    ).returning(event_channels.c.seq)


_NOTIFY = select(func.pg_notify(bindparam("channel"), bindparam("payload")))
# unnest WITH ORDINALITY keeps the given order (the order NOTIFY delivers them in).
_NOTIFY_ALL = text(
    "SELECT pg_notify(n.channel, n.payload)"
    " FROM unnest(CAST(:channels AS text[]), CAST(:payloads AS text[]))"
    " WITH ORDINALITY AS n(channel, payload, position) ORDER BY n.position"
)


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
    conn.execute(_NOTIFY, {"channel": channel, "payload": payload})


def notify_all(conn: Connection, notices: Sequence[tuple[str, str]]) -> None:
    """Several NOTIFYs in one statement, delivered in the order given, at commit."""
    if len(notices) == 1:
        notify(conn, *notices[0])
        return
    conn.execute(
        _NOTIFY_ALL,
        {"channels": [c for c, _ in notices], "payloads": [p for _, p in notices]},
    )


def forget_payloads(conn: Connection, *, keep_s: float = 3600) -> None:
    """Housekeeping: stored payloads are read within moments; an hour is plenty."""
    cut = database_now(conn) - timedelta(seconds=keep_s)
    conn.execute(delete(event_payloads).where(event_payloads.c.created_at < cut))
