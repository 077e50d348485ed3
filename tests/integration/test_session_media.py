"""Sessions and their media endpoints on SQLite and PostgreSQL: made, failed, abandoned."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from generated.server_support import ProblemError
from runtime.auth import Caller
from runtime.config import load_config
from runtime.events import memory_bus
from runtime.media import FakeMediaProvider
from runtime.sessions.service import Requested, SessionService
from runtime.sessions.store import NewSession, insert_session
from runtime.sessions.sweeper import Sweeper
from runtime.store import Database, open_database, upgrade
from runtime.store.clock import database_now
from runtime.store.tables import audit_events, session_outbox

CONFIG = load_config()
GRID = Requested(mode="sniffers")  # thumb_low: a WebRTC profile


@pytest.fixture
async def world(store_url: str):  # type: ignore[no-untyped-def]
    await upgrade(store_url)
    database = open_database(store_url)
    provider, events = FakeMediaProvider(), memory_bus(database)
    await events.start()
    service = SessionService(database, CONFIG, events, provider, lease_s=30)
    sweeper = Sweeper(database, provider, events, holder="test", backoff_s=0)
    yield service, provider, sweeper
    await events.stop()
    await database.close()


async def _count(database: Database, table, **where: object) -> int:  # type: ignore[no-untyped-def]
    conditions = [table.c[name] == value for name, value in where.items()]
    query = select(func.count()).select_from(table).where(*conditions)
    return int(await database.read(lambda conn: conn.scalar(query)) or 0)


async def test_a_webrtc_session_is_active_with_its_endpoints(world) -> None:  # type: ignore[no-untyped-def]
    service, provider, _ = world
    caller = Caller(uuid.uuid4())
    row = await service.create(caller, GRID)
    assert row["state"] == "active" and row["media_profile"] == "thumb_low"
    assert provider.created == [(row["id"], "thumb_low")]
    assert row["media"] == {"profile": "thumb_low", "provider": "fake"}
    assert row["version"] == 2  # creating, then active
    # Heartbeats renew it; an HLS session (the party) needs no endpoints at all.
    assert (await service.heartbeat(caller, row["id"]))["version"] == 3
    party = await service.create(caller, Requested(mode="party"))
    assert party["state"] == "active" and party["media"] is None
    assert len(provider.created) == 1


async def test_an_unknown_profile_is_refused_before_any_endpoint(world) -> None:  # type: ignore[no-untyped-def]
    service, provider, _ = world
    with pytest.raises(ProblemError) as refused:
        await service.create(Caller(uuid.uuid4()), Requested(mode="sniffers", media_profile="hd"))
    assert (refused.value.status, refused.value.code) == (422, "SCHEMA_INVALID")
    assert provider.created == []


async def test_a_provider_failure_is_502_and_leaves_nothing_behind(world) -> None:  # type: ignore[no-untyped-def]
    service, provider, sweeper = world
    caller = Caller(uuid.uuid4())
    provider.fail_creates = 1
    with pytest.raises(ProblemError) as failed:
        await service.create(caller, GRID)
    assert (failed.value.status, failed.value.code) == (502, "PROVIDER_FAILED")
    # The half-made session is failed, with a revoke queued for whatever the provider made.
    assert await _count(service.database, session_outbox) == 1
    report = await sweeper.run_once()
    assert len(report.revoked) == 1 and provider.revoked == report.revoked
    # Nothing announced: the caller never got a session.
    assert not service.events.published
    # The next try works.
    assert (await service.create(caller, GRID))["state"] == "active"


async def test_a_creation_abandoned_by_a_dead_process_fails_and_is_revoked(world) -> None:  # type: ignore[no-untyped-def]
    service, provider, sweeper = world
    user = uuid.uuid4()

    def crashed(conn):  # type: ignore[no-untyped-def]
        now = database_now(conn)
        new = NewSession(
            user_id=user,
            mode="sniffers",
            audience_type="members",
            stream_transport="webrtc",
            intent_label="sniffers",
            media_profile="thumb_low",
            config_hash=CONFIG.config_hash,
            cost_tier=CONFIG.tier,
            received_mbps=0.18,
            lease_expires_at=now - timedelta(seconds=1),
        )
        return insert_session(conn, new, now=now, state="creating")

    row = await service.database.write(crashed)
    with pytest.raises(ProblemError) as creating:
        await service.end(Caller(user), row["id"])
    assert (creating.value.status, creating.value.code) == (409, "INVALID_TRANSITION")
    report = await sweeper.run_once()
    assert report.expired == [row["id"]] and report.revoked == [row["id"]]
    final = await service.get(Caller(user), row["id"])
    assert (final["state"], final["end_reason"]) == ("failed", "provider_failed")
    assert await _count(service.database, audit_events, kind="session.creation_abandoned") == 1
    assert provider.revoked == [row["id"]]


async def test_a_transition_gives_the_successor_its_own_endpoints(world) -> None:  # type: ignore[no-untyped-def]
    service, provider, sweeper = world
    caller = Caller(uuid.uuid4())
    party = await service.create(caller, Requested(mode="party"))
    moved = await service.transition(caller, party["id"], GRID)
    assert moved.session["state"] == "active" and moved.session["media"]["provider"] == "fake"
    assert moved.session["parent_session_id"] == party["id"]
    assert provider.created == [(moved.session["id"], "thumb_low")]
    # Ending it revokes exactly its endpoints, through the outbox.
    await service.end(caller, moved.session["id"])
    await sweeper.run_once()
    assert sorted(provider.revoked) == sorted([party["id"], moved.session["id"]])
    # Each revoke carries what was recorded when the endpoints were made (none for HLS).
    recorded = dict(zip(provider.revoked, provider.revoked_details, strict=True))
    assert recorded[moved.session["id"]] == {"profile": "thumb_low", "provider": "fake"}
    assert recorded[party["id"]] == {}
