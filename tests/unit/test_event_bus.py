"""The in-memory event bus: envelopes, order, validation, slow subscribers."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from generated.events import EventValidationError, parse_event
from runtime.events import MemoryEventBus


def _created(session_id: uuid.UUID) -> dict[str, object]:
    return {
        "session_id": str(session_id),
        "mode": "party",
        "media_profile": "broadcast_hls",
        "parent_session_id": None,
        "handover": None,
        "intent_label": "party",
        "config_hash": "sha256:" + "b" * 64,
    }


async def test_subscribers_get_valid_envelopes_in_order() -> None:
    bus = MemoryEventBus()
    stream = bus.subscribe("sessions:u1")
    receiving = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    first = await bus.publish("sessions:u1", "session.created", _created(uuid.uuid4()))
    assert await receiving == first
    second = await bus.publish("sessions:u1", "session.created", _created(uuid.uuid4()))
    assert await anext(stream) == second
    assert (first["seq"], second["seq"]) == (0, 1)
    assert parse_event(second).type == "session.created"
    other = await bus.publish("sessions:u2", "session.created", _created(uuid.uuid4()))
    assert other["seq"] == 0  # one sequence per channel
    await stream.aclose()


async def test_an_event_off_its_schema_is_refused_and_not_numbered() -> None:
    bus = MemoryEventBus()
    with pytest.raises(EventValidationError):
        await bus.publish("c", "session.created", {"session_id": "nope"})
    ok = await bus.publish("c", "session.created", _created(uuid.uuid4()))
    assert ok["seq"] == 0 and len(bus.published) == 1


async def test_a_full_subscriber_drops_its_oldest_and_never_blocks() -> None:
    bus = MemoryEventBus(queue_size=2)
    stream = bus.subscribe("c")
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    for _ in range(4):
        await bus.publish("c", "session.created", _created(uuid.uuid4()))
    seqs = [(await pending)["seq"], (await asyncio.wait_for(anext(stream), 1))["seq"]]
    # The two oldest were dropped for the slow subscriber: a gap it sees by its seq.
    assert seqs == [2, 3]
    await stream.aclose()


async def test_the_history_is_bounded() -> None:
    bus = MemoryEventBus(history=3)
    for _ in range(10):
        await bus.publish("c", "session.created", _created(uuid.uuid4()))
    assert len(bus.published) == 3 and bus.published[-1][1]["seq"] == 9
