"""The session store on SQLite and PostgreSQL: compare-and-set transitions under concurrency."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from runtime.sessions.store import NewSession, begin_end, get_session, insert_session, transition
from runtime.store import open_database, upgrade
from runtime.store.tables import session_outbox, sessions

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


def _new(user: uuid.UUID, mode: str = "party") -> NewSession:
    return NewSession(
        user_id=user,
        mode=mode,
        audience_type="members",
        stream_transport="hls",
        intent_label=None,
        media_profile="broadcast_hls",
        config_hash="sha256:" + "a" * 64,
        cost_tier="COST_LOW",
        received_mbps=5.128,
        lease_expires_at=T0 + timedelta(seconds=30),
    )


async def test_transition_ends_the_old_session_and_links_the_new_one(store_url: str) -> None:
    await upgrade(store_url)
    database = open_database(store_url)
    user = uuid.uuid4()
    try:
        first = await database.write(lambda conn: insert_session(conn, _new(user), now=T0))
        # The row as inserted is the row as stored, without reading it back.
        stored = await database.read(lambda conn: get_session(conn, first["id"], user))
        assert stored is not None and dict(stored) == dict(first)
        later = T0 + timedelta(minutes=30)
        result = await database.write(
            lambda conn: transition(conn, first["id"], user, _new(user, "random"), now=later)
        )
        assert result is not None
        ended, created = result
        assert ended["state"] == "ending" and ended["end_reason"] == "transition"
        assert ended["version"] == first["version"] + 1
        assert ended["duration_s"] == 1800
        # GB/h = 0.439 x Mbps x viewers, for half an hour.
        assert abs(ended["estimated_egress_gb"] - 0.439 * 5.128 / 2) < 1e-6
        assert created["parent_session_id"] == first["id"] and created["mode"] == "random"
        revokes = await database.read(
            lambda conn: conn.scalar(select(func.count()).select_from(session_outbox))
        )
        assert revokes == 1
        # Another user's id reads as absent.
        assert (
            await database.read(lambda conn: get_session(conn, first["id"], uuid.uuid4())) is None
        )
        # An ended session cannot end again.
        again = await database.write(
            lambda conn: begin_end(conn, first["id"], user, reason="user_ended", now=T0)
        )
        assert again is None
    finally:
        await database.close()


async def test_concurrent_transitions_have_exactly_one_winner(store_url: str) -> None:
    await upgrade(store_url)
    database = open_database(store_url)
    user = uuid.uuid4()
    try:
        first = await database.write(lambda conn: insert_session(conn, _new(user), now=T0))

        async def attempt() -> bool:
            won = await database.write(
                lambda conn: transition(conn, first["id"], user, _new(user, "random"), now=T0)
            )
            return won is not None

        outcomes = await asyncio.gather(*(attempt() for _ in range(200)))
        assert outcomes.count(True) == 1
        # Judged from the database: one successor, the old session ending, one revoke.

        def judge(conn: Connection) -> tuple[Any, ...]:
            children = conn.scalar(
                select(func.count())
                .select_from(sessions)
                .where(sessions.c.parent_session_id == first["id"])
            )
            state = conn.scalar(select(sessions.c.state).where(sessions.c.id == first["id"]))
            revokes = conn.scalar(select(func.count()).select_from(session_outbox))
            return children, state, revokes

        assert await database.read(judge) == (1, "ending", 1)
    finally:
        await database.close()
