"""One suite for every event-bus backend: memory, PostgreSQL LISTEN/NOTIFY, Redis pub/sub.

Two buses over one database stand for two processes; the memory backend is one process
by design and is left out of the cross-process cases.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from generated.events import EventValidationError, validate_event
from runtime.events import ChannelsEventBus, Envelope, build_event_bus
from runtime.events.tables import event_payloads
from runtime.events.wire import encode
from runtime.store import Database, open_database, upgrade
from tests.support.redis_server import redis_server

BACKENDS = ["memory", pytest.param("postgres", marks=pytest.mark.postgres), "redis"]


def _created() -> dict[str, Any]:
    return {
        "session_id": str(uuid.uuid4()),
        "mode": "party",
        "media_profile": "broadcast_hls",
        "parent_session_id": None,
        "handover": None,
        "intent_label": "party",
        "config_hash": "sha256:" + "b" * 64,
    }


def _presence(capabilities: list[str]) -> dict[str, Any]:
    return {
        "presence_id": str(uuid.uuid4()),
        "user_id": str(uuid.uuid4()),
        "state": "online",
        "presence_mode": "party",
        "is_camera_on": True,
        "last_seen_at": "2026-12-04T12:00:00Z",
        "visibility": "visible",
        "capabilities": capabilities,
    }


class Recorder:
    """A listener that remembers what it got."""

    def __init__(self) -> None:
        self.events: list[Envelope] = []
        self.misses: list[str] = []
        self.changed = asyncio.Event()

    def deliver(self, channel: str, envelope: Envelope) -> None:
        self.events.append(envelope)
        self.changed.set()

    def missed(self, channel: str) -> None:
        self.misses.append(channel)
        self.changed.set()

    async def wait_for(self, count: int, within: float = 5) -> list[Envelope]:
        async with asyncio.timeout(within):
            while len(self.events) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.events

    async def wait_missed(self, within: float = 10) -> None:
        async with asyncio.timeout(within):
            while not self.misses:
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


class Pair:
    """Two buses (two processes) over one database."""

    def __init__(self, kind: str, url: str, bus_url: str) -> None:
        self.kind, self.url, self.bus_url = kind, url, bus_url
        self.databases: list[Database] = []
        self.buses: list[ChannelsEventBus] = []

    async def bus(self) -> ChannelsEventBus:
        database = open_database(self.url)
        bus = build_event_bus(self.bus_url, database, self.url)
        await bus.start()
        self.databases.append(database)
        self.buses.append(bus)
        return bus

    async def close(self) -> None:
        for bus in self.buses:
            await bus.stop()
        for database in self.databases:
            await database.close()


@pytest.fixture(params=BACKENDS)
async def pair(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str, redis_url: str
) -> AsyncIterator[Pair]:
    kind = request.param
    if kind == "postgres":
        name = f"vvtv_test_{uuid.uuid4().hex[:12]}"
        server = make_url(postgres_url)
        admin = await asyncpg.connect(
            server.set(drivername="postgresql", database="postgres").render_as_string(
                hide_password=False
            )
        )
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = server.set(database=name).render_as_string(hide_password=False)
        await upgrade(url)
        made = Pair(kind, url, url)
        try:
            yield made
        finally:
            await made.close()
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
        return
    url = f"sqlite:///{tmp_path / 'bus.db'}"
    await upgrade(url)
    made = Pair(kind, url, "memory://" if kind == "memory" else redis_url)
    try:
        yield made
    finally:
        await made.close()


async def test_listeners_get_valid_envelopes_in_order_one_seq_per_channel(pair: Pair) -> None:
    bus = await pair.bus()
    seen = Recorder()
    assert await bus.listen("sessions:u1", seen) is None  # nothing numbered yet
    published = [await bus.publish("sessions:u1", "session.created", _created()) for _ in range(3)]
    other = await bus.publish("sessions:u2", "session.created", _created())
    got = await seen.wait_for(3)
    assert got == published and [e["seq"] for e in got] == [0, 1, 2]
    assert other["seq"] == 0
    for envelope in got:
        validate_event(envelope)
    assert await bus.listen("sessions:u1", Recorder()) == 2  # the last seq given so far


async def test_an_event_off_its_schema_is_refused_and_not_numbered(pair: Pair) -> None:
    bus = await pair.bus()
    with pytest.raises(EventValidationError):
        await bus.publish("c", "session.created", {"session_id": "nope"})
    ok = await bus.publish("c", "session.created", _created())
    assert ok["seq"] == 0


async def test_events_leave_only_when_their_transaction_commits(pair: Pair) -> None:
    bus = await pair.bus()
    seen = Recorder()
    await bus.listen("c", seen)

    def failing(conn: Any, emit: Any) -> None:
        emit("c", "session.created", _created())
        raise RuntimeError("the state change failed after the event was emitted")

    with pytest.raises(RuntimeError):
        await bus.write(failing)
    done = await bus.write(lambda conn, emit: emit("c", "session.created", _created()))
    assert done["seq"] == 0  # the rolled-back event spent no number
    assert [e["seq"] for e in await seen.wait_for(1)] == [0]
    await asyncio.sleep(0.3)
    assert len(seen.events) == 1 and not seen.misses


@pytest.mark.parametrize("pair", [p for p in BACKENDS if p != "memory"], indirect=True)
async def test_an_event_published_in_one_process_reaches_another(pair: Pair) -> None:
    publisher, receiver = await pair.bus(), await pair.bus()
    seen_there, seen_here = Recorder(), Recorder()
    await receiver.listen("presence", seen_there)
    await publisher.listen("presence", seen_here)
    sent = [await publisher.publish("presence", "presence.update", _presence([])) for _ in range(5)]
    assert await seen_there.wait_for(5) == sent
    assert await seen_here.wait_for(5) == sent


@pytest.mark.parametrize("pair", [p for p in BACKENDS if p != "memory"], indirect=True)
async def test_two_processes_publishing_on_one_channel_agree_on_the_numbers(pair: Pair) -> None:
    first, second, receiver = await pair.bus(), await pair.bus(), await pair.bus()
    seen = Recorder()
    await receiver.listen("presence", seen)
    await asyncio.gather(
        *(
            bus.publish("presence", "presence.update", _presence([]))
            for _ in range(20)
            for bus in (first, second)
        )
    )
    got = await seen.wait_for(40)
    assert [e["seq"] for e in got] == list(range(40))
    assert not seen.misses


async def test_an_envelope_over_the_notify_limit_arrives_whole(pair: Pair) -> None:
    publisher, receiver = await pair.bus(), await pair.bus()
    seen = Recorder()
    await receiver.listen("presence", seen)
    if pair.kind == "memory":
        seen = Recorder()
        await publisher.listen("presence", seen)
    capabilities = [f"capability_{i:03d}_" + "x" * 40 for i in range(200)]
    sent = await publisher.publish("presence", "presence.update", _presence(capabilities))
    assert len(encode(sent).encode()) > 8000
    assert await seen.wait_for(1) == [sent]
    stored = await publisher.database.read(
        lambda conn: conn.scalar(select(func.count()).select_from(event_payloads))
    )
    # Only PostgreSQL's NOTIFY has the limit; its big payloads go by id through the table.
    assert stored == (1 if pair.kind == "postgres" else 0)


@pytest.mark.parametrize("pair", ["memory"], indirect=True)
async def test_events_out_of_order_are_put_back_in_order(pair: Pair) -> None:
    bus = await pair.bus()
    seen = Recorder()
    await bus.listen("c", seen)
    envelopes = [
        {
            "id": str(uuid.uuid4()),
            "type": "session.created",
            "ts": "2026-12-04T12:00:00Z",
            "seq": seq,
            "data": _created(),
        }
        for seq in range(3)
    ]
    for envelope in (envelopes[2], envelopes[0], envelopes[0], envelopes[1]):
        await bus.backend.publish(encode(envelope).encode(), ["c"])
    got = await seen.wait_for(3)
    assert [e["seq"] for e in got] == [0, 1, 2] and not seen.misses


@pytest.mark.parametrize("pair", ["memory"], indirect=True)
async def test_a_hole_that_never_fills_is_reported_then_skipped(pair: Pair) -> None:
    bus = await pair.bus()
    seen = Recorder()
    await bus.listen("c", seen)
    for seq in (0, 2, 3):  # seq 1 never comes
        envelope = {
            "id": str(uuid.uuid4()),
            "type": "session.created",
            "ts": "2026-12-04T12:00:00Z",
            "seq": seq,
            "data": _created(),
        }
        await bus.backend.publish(encode(envelope).encode(), ["c"])
    got = await seen.wait_for(3)
    assert [e["seq"] for e in got] == [0, 2, 3] and seen.misses == ["c"]


@pytest.mark.parametrize("pair", [p for p in BACKENDS if p != "memory"], indirect=True)
async def test_a_lost_transport_connection_is_reported_and_comes_back(pair: Pair) -> None:
    publisher, receiver = await pair.bus(), await pair.bus()
    seen = Recorder()
    await receiver.listen("presence", seen)
    await publisher.publish("presence", "presence.update", _presence([]))
    await seen.wait_for(1)
    await _cut_listeners(pair)
    await seen.wait_missed()
    # Back: events published after the reconnect arrive again.
    async with asyncio.timeout(20):
        while True:
            await publisher.publish("presence", "presence.update", _presence([]))
            try:
                await seen.wait_for(2, within=0.5)
                break
            except TimeoutError:
                continue
    assert seen.misses[0] == "presence"


async def _cut_listeners(pair: Pair) -> None:
    """Kill the listening connections from the server's side, as a network failure would."""
    if pair.kind == "postgres":
        database = make_url(pair.url).database
        admin = await asyncpg.connect(
            make_url(pair.url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'",
                database,
            )
        finally:
            await admin.close()
        return
    client = Redis.from_url(pair.bus_url)
    try:
        await client.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    finally:
        await client.aclose()
