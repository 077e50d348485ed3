"""The sweeper on SQLite and PostgreSQL: expiry, fencing, revokes, one alert, one sweeper."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select

from generated.server_support import ProblemError
from runtime.auth import Caller
from runtime.config import load_config
from runtime.events import memory_bus
from runtime.media import FakeMediaProvider
from runtime.sessions.service import Requested, SessionService
from runtime.sessions.sweeper import Sweeper, _expire_one
from runtime.store import open_database, upgrade
from runtime.store.tables import audit_events

CONFIG = load_config()


async def _setup(url: str, lease_s: int) -> tuple[SessionService, FakeMediaProvider, Sweeper]:
    await upgrade(url)
    database = open_database(url)
    provider = FakeMediaProvider()
    events = memory_bus(database)
    await events.start()
    sweeper = Sweeper(database, provider, events, holder="test", backoff_s=0, max_attempts=3)
    service = SessionService(database, CONFIG, events, provider, lease_s=lease_s)
    return service, provider, sweeper


async def _count(service: SessionService, kind: str) -> int:
    async with service.database.engine.connect() as conn:
        found = await conn.scalar(
            select(func.count()).select_from(audit_events).where(audit_events.c.kind == kind)
        )
    return int(found or 0)


async def test_a_silent_session_ends_within_its_lease_and_one_sweep(store_url: str) -> None:
    service, provider, sweeper = await _setup(store_url, lease_s=2)
    caller = Caller(uuid.uuid4())
    try:
        created = await service.create(caller, Requested(mode="party"))
        assert (await sweeper.run_once()).expired == []  # the lease still runs
        await asyncio.sleep(2.2)
        report = await sweeper.run_once()
        assert report.expired == [created["id"]] and report.revoked == [created["id"]]
        assert provider.revoked == [created["id"]]  # exactly once
        row = await service.get(caller, created["id"])
        assert (row["state"], row["end_reason"]) == ("ended", "heartbeat_timeout")
        assert await _count(service, "session.expired") == 1
        with pytest.raises(ProblemError) as late:
            await service.heartbeat(caller, created["id"])
        assert late.value.status == 409
        again = await sweeper.run_once()
        assert (again.expired, again.revoked) == ([], [])
        assert provider.revoked == [created["id"]]
        # Events, each already checked against its schema by the bus.
        published = [event for _, event in service.events.published]
        assert [e["type"] for e in published] == ["session.created", "session.ended"]
        assert published[1]["data"]["final_state"] == "ended"
        assert published[1]["data"]["end_reason"] == "heartbeat_timeout"
        assert [e["seq"] for e in published] == [0, 1]
    finally:
        await service.database.close()


async def test_a_heartbeat_keeps_the_session_and_fences_a_stale_expiry(store_url: str) -> None:
    service, _, sweeper = await _setup(store_url, lease_s=2)
    caller = Caller(uuid.uuid4())
    try:
        created = await service.create(caller, Requested(mode="party"))
        await asyncio.sleep(1.0)
        renewed = await service.heartbeat(caller, created["id"])
        await asyncio.sleep(1.2)  # past the first lease, within the renewed one
        assert (await sweeper.run_once()).expired == []
        # A sweep that read the session before the heartbeat cannot end it.
        stale = {**created, "version": created["version"]}
        at = renewed["lease_expires_at"]
        assert not await service.database.write(lambda conn: _expire_one(conn, stale, at))
        assert (await service.get(caller, created["id"]))["state"] == "active"
    finally:
        await service.database.close()


async def test_a_revoke_that_keeps_failing_marks_failed_with_one_alert(store_url: str) -> None:
    service, provider, sweeper = await _setup(store_url, lease_s=30)
    caller = Caller(uuid.uuid4())
    provider.fail_revokes = 10
    try:
        created = await service.create(caller, Requested(mode="party"))
        await service.end(caller, created["id"])
        for _ in range(5):
            await sweeper.run_once()
        row = await service.get(caller, created["id"])
        assert row["state"] == "failed"
        assert await _count(service, "alert.revoke_failed") == 1
        ended = [e for _, e in service.events.published if e["type"] == "session.ended"]
        assert [e["data"]["final_state"] for e in ended] == ["failed"]
        assert provider.revoked == []
    finally:
        await service.database.close()


async def test_one_sweep_at_a_time(store_url: str) -> None:
    await upgrade(store_url)
    databases = [open_database(store_url) for _ in range(2)]
    sweepers = [
        Sweeper(database, FakeMediaProvider(), memory_bus(database), holder=f"process-{i}")
        for i, database in enumerate(databases)
    ]
    try:
        reports = await asyncio.gather(*(s.run_once() for s in sweepers))
        assert sorted(r.ran for r in reports) == [False, True]
        # The holder keeps its lease; the other keeps being turned away until it expires.
        holder = next(s for s, r in zip(sweepers, reports, strict=True) if r.ran)
        other = next(s for s in sweepers if s is not holder)
        assert (await holder.run_once()).ran and not (await other.run_once()).ran
    finally:
        for database in databases:
            await database.close()


async def test_a_transition_announces_the_successor_and_ends_the_parent(store_url: str) -> None:
    service, provider, sweeper = await _setup(store_url, lease_s=30)
    caller = Caller(uuid.uuid4())
    try:
        first = await service.create(caller, Requested(mode="party"))
        moved = await service.transition(caller, first["id"], Requested(mode="sniffers"))
        await sweeper.run_once()
        assert provider.revoked == [first["id"]]
        published = [e for _, e in service.events.published]
        assert [e["type"] for e in published] == [
            "session.created",
            "session.created",
            "session.ended",
        ]
        successor = published[1]["data"]
        assert successor["parent_session_id"] == str(first["id"])
        assert successor["handover"] == "crossfade"
        ended = published[2]["data"]
        assert ended["session_id"] == str(first["id"])
        assert ended["next_session_id"] == str(moved.session["id"])
        assert ended["end_reason"] == "transition" and ended["final_state"] == "ended"
    finally:
        await service.database.close()


async def test_one_sweep_clears_a_backlog_larger_than_a_batch(store_url: str) -> None:
    service, provider, sweeper = await _setup(store_url, lease_s=3)
    caller = Caller(uuid.uuid4())
    try:
        created = await asyncio.gather(
            *(service.create(caller, Requested(mode="party")) for _ in range(250))
        )
        await asyncio.sleep(3.2)
        report = await sweeper.run_once()  # batches of 100
        ids = sorted(row["id"] for row in created)
        assert sorted(report.expired) == ids and sorted(report.revoked) == ids
        assert sorted(provider.revoked) == ids
    finally:
        await service.database.close()
