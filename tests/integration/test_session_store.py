"""The session store on SQLite and PostgreSQL: compare-and-set transitions under concurrency."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from runtime.sessions.store import NewSession, begin_end, get_session, insert_session, transition
from runtime.store import create_engine, upgrade, write_transaction
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
    engine = create_engine(store_url)
    user = uuid.uuid4()
    try:
        async with write_transaction(engine) as conn:
            first = await insert_session(conn, _new(user), now=T0)
        async with write_transaction(engine) as conn:
            result = await transition(
                conn, first["id"], user, _new(user, "random"), now=T0 + timedelta(minutes=30)
            )
        assert result is not None
        ended, created = result
        assert ended["state"] == "ending" and ended["end_reason"] == "transition"
        assert ended["version"] == first["version"] + 1
        assert ended["duration_s"] == 1800
        # GB/h = 0.439 x Mbps x viewers, for half an hour.
        assert abs(ended["estimated_egress_gb"] - 0.439 * 5.128 / 2) < 1e-6
        assert created["parent_session_id"] == first["id"] and created["mode"] == "random"
        async with engine.connect() as conn:
            revokes = await conn.scalar(select(func.count()).select_from(session_outbox))
            assert revokes == 1
            # Another user's id reads as absent.
            assert await get_session(conn, first["id"], uuid.uuid4()) is None
        # An ended session cannot end again.
        async with write_transaction(engine) as conn:
            assert await begin_end(conn, first["id"], user, reason="user_ended", now=T0) is None
    finally:
        await engine.dispose()


async def test_concurrent_transitions_have_exactly_one_winner(store_url: str) -> None:
    await upgrade(store_url)
    engine = create_engine(store_url)
    user = uuid.uuid4()
    try:
        async with write_transaction(engine) as conn:
            first = await insert_session(conn, _new(user), now=T0)

        async def attempt() -> bool:
            async with write_transaction(engine) as conn:
                won = await transition(conn, first["id"], user, _new(user, "random"), now=T0)
                return won is not None

        outcomes = await asyncio.gather(*(attempt() for _ in range(200)))
        assert outcomes.count(True) == 1
        # Judged from the database: one successor, the old session ending, one revoke.
        async with engine.connect() as conn:
            children = await conn.scalar(
                select(func.count())
                .select_from(sessions)
                .where(sessions.c.parent_session_id == first["id"])
            )
            state = await conn.scalar(select(sessions.c.state).where(sessions.c.id == first["id"]))
            revokes = await conn.scalar(select(func.count()).select_from(session_outbox))
        assert (children, state, revokes) == (1, "ending", 1)
    finally:
        await engine.dispose()
