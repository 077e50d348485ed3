"""Sessions in the database: every state change is one conditional statement.

A compare-and-set on ``state`` (and ``version`` for leases) decides the single winner
of a race; the unique ``parent_session_id`` backs it, so no interleaving can give a
session two successors. Each function is plain code over a ``Connection``, inside the
caller's transaction (``Database.write``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from runtime.sessions.rules import cost_estimate
from runtime.store.tables import session_outbox, sessions

__all__ = [
    "NewSession",
    "SessionRow",
    "activate",
    "begin_end",
    "end_active",
    "fail_creating",
    "get_session",
    "insert_session",
    "renew_lease",
    "sessions_in_progress",
    "transition",
]


@dataclass(frozen=True)
class NewSession:
    """What creating a session records (the policy snapshot is its config hash)."""

    user_id: uuid.UUID
    mode: str
    audience_type: str
    stream_transport: str
    intent_label: str | None
    media_profile: str
    config_hash: str
    cost_tier: str
    received_mbps: float
    lease_expires_at: datetime
    concurrent_viewers: int = 1
    parent_session_id: uuid.UUID | None = None
    handover: str | None = None


SessionRow = Mapping[Any, Any]  # a RowMapping read back, or the row as inserted

_INSERT = insert(sessions)
# What the database fills in itself, so that an insert need not read its row back.
_SERVER_FILLED: dict[str, Any] = {column.name: None for column in sessions.c} | {"version": 1}


def insert_session(
    conn: Connection, new: NewSession, *, now: datetime, state: str = "active"
) -> SessionRow:
    """Insert a session; a second successor of one parent fails on the unique constraint."""
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "state": state,
        "created_at": now,
        **new.__dict__,
    }
    conn.execute(_INSERT, values)
    return _SERVER_FILLED | values


def get_session(conn: Connection, session_id: uuid.UUID, user_id: uuid.UUID) -> SessionRow | None:
    """The session if it exists and belongs to ``user_id`` (a foreign id reads as absent)."""
    query = select(sessions).where(sessions.c.id == session_id, sessions.c.user_id == user_id)
    return (conn.execute(query)).mappings().one_or_none()


def sessions_in_progress(
    conn: Connection, user_id: uuid.UUID, *, limit: int = 100
) -> list[SessionRow]:
    """The user's sessions still creating or active, oldest first."""
    query = (
        select(sessions)
        .where(sessions.c.user_id == user_id, sessions.c.state.in_(("creating", "active")))
        .order_by(sessions.c.created_at)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def end_active(
    conn: Connection,
    current: SessionRow,
    *,
    reason: str,
    now: datetime,
    fenced: bool = False,
) -> SessionRow | None:
    """``active -> ending`` by compare-and-set, with its cost and a revoke in the outbox.

    ``current`` is the session as read; ``fenced`` also requires its version to be
    unchanged (the sweeper: a heartbeat landing in between wins). ``None`` when another
    change came first.
    """
    estimate = cost_estimate(
        current["media_profile"],
        current["received_mbps"],
        current["concurrent_viewers"],
        current["created_at"],
        now,
    )
    changes = {
        "state": "ending",
        "end_reason": reason,
        "duration_s": estimate.duration_s,
        "estimated_egress_gb": estimate.estimated_egress_gb,
    }
    return _stop(conn, current, "active", changes, now=now, fenced=fenced)


def _stop(
    conn: Connection,
    current: SessionRow,
    expected: str,
    changes: dict[str, Any],
    *,
    now: datetime,
    fenced: bool,
) -> SessionRow | None:
    """Leave ``expected`` by compare-and-set and queue the revoke, in one transaction."""
    conditions = [sessions.c.id == current["id"], sessions.c.state == expected]
    if fenced:
        conditions.append(sessions.c.version == current["version"])
    row = (
        conn.execute(
            update(sessions)
            .where(*conditions)
            .values(**changes, ended_at=now, version=sessions.c.version + 1)
            .returning(*sessions.c)
        )
        .mappings()
        .one_or_none()
    )
    if row is not None:
        _queue_revoke(conn, current["id"], now)
    return row


def _queue_revoke(conn: Connection, session_id: uuid.UUID, now: datetime) -> None:
    conn.execute(
        insert(session_outbox).values(
            id=uuid.uuid4(),
            session_id=session_id,
            kind="revoke_endpoints",
            next_attempt_at=now,
            created_at=now,
        )
    )


def begin_end(
    conn: Connection,
    session_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    reason: str,
    now: datetime,
) -> SessionRow | None:
    """End the user's active session; ``None`` when it is not active (or not theirs)."""
    current = get_session(conn, session_id, user_id)
    if current is None or current["state"] != "active":
        return None
    return end_active(conn, current, reason=reason, now=now)


def transition(
    conn: Connection,
    session_id: uuid.UUID,
    user_id: uuid.UUID,
    successor: NewSession,
    *,
    now: datetime,
    state: str = "active",
) -> tuple[SessionRow, SessionRow] | None:
    """End ``session_id`` and create its successor in the caller's transaction.

    ``None`` when the session was not active: exactly one of concurrent transitions wins.
    """
    ended = begin_end(conn, session_id, user_id, reason="transition", now=now)
    if ended is None:
        return None
    child = NewSession(**{**successor.__dict__, "parent_session_id": session_id})
    created = insert_session(conn, child, now=now, state=state)
    return ended, created


def renew_lease(
    conn: Connection,
    session_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    now: datetime,
    ttl_s: float,
) -> SessionRow | None:
    """Extend an active, unexpired lease, bumping the version (the sweeper's fence).

    A heartbeat that arrives after the lease ran out, or after the session left
    ``creating``/``active``, changes nothing: it cannot bring a session back.
    """
    result = conn.execute(
        update(sessions)
        .where(
            sessions.c.id == session_id,
            sessions.c.user_id == user_id,
            sessions.c.state.in_(("creating", "active")),
            sessions.c.lease_expires_at >= now,
        )
        .values(
            lease_expires_at=now + timedelta(seconds=ttl_s),
            version=sessions.c.version + 1,
        )
        .returning(*sessions.c)
    )
    return result.mappings().one_or_none()


def activate(conn: Connection, session_id: uuid.UUID, media: dict[str, Any]) -> SessionRow | None:
    """``creating -> active`` with its endpoints; ``None`` if the session moved meanwhile."""
    result = conn.execute(
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.state == "creating")
        .values(state="active", media=media, version=sessions.c.version + 1)
        .returning(*sessions.c)
    )
    return result.mappings().one_or_none()


def fail_creating(
    conn: Connection, current: SessionRow, *, now: datetime, fenced: bool = False
) -> SessionRow | None:
    """``creating -> failed`` (the endpoints could not be made), with a revoke in the outbox.

    The revoke releases whatever the provider may have half made. ``fenced`` also
    requires the version read (the sweeper). ``None`` when another change came first.
    """
    changes = {
        "state": "failed",
        "end_reason": "provider_failed",
        "duration_s": 0.0,
        "estimated_egress_gb": 0.0,
    }
    return _stop(conn, current, "creating", changes, now=now, fenced=fenced)
