"""Typed WebSocket subscriptions of the SDK, over a scripted transport."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from voulezvous_sdk import AsyncRealtime, Realtime
from voulezvous_sdk.events import ChatMessageEvent, EventValidationError, SessionCreatedEvent
from voulezvous_sdk.realtime import EventGapError, UnexpectedEventError

EVENTS = Path(__file__).resolve().parents[2] / "contracts" / "events"


def _example(kind: str) -> dict[str, Any]:
    schema = json.loads((EVENTS / f"{kind}.schema.json").read_text())
    return copy.deepcopy(schema["examples"][0])


def _sequence(kind: str, count: int) -> list[dict[str, Any]]:
    base = _example(kind)
    out = []
    for seq in range(count):
        event = copy.deepcopy(base)
        event["seq"] = seq
        event["id"] = f"00000000-0000-4000-8000-{seq:012d}"
        out.append(event)
    return out


class Script:
    """A connector that records the URL and headers and replays frames."""

    def __init__(self, frames: list[Any]) -> None:
        self.frames = [json.dumps(f) if not isinstance(f, str) else f for f in frames]
        self.url = ""
        self.headers: Mapping[str, str] = {}

    def __call__(self, url: str, headers: Mapping[str, str]) -> list[str]:
        self.url, self.headers = url, headers
        return self.frames


def test_typed_events_in_order_with_auth_and_url() -> None:
    frames = _sequence("session.created", 3)
    script = Script(frames)
    realtime = Realtime("https://api.voulezvous.test", token="t0k", connect=script)
    received = list(realtime.sessions())
    assert [type(e) for e in received] == [SessionCreatedEvent] * 3
    assert [e.seq for e in received] == [0, 1, 2]
    assert script.url == "wss://api.voulezvous.test/ws/sessions"
    assert script.headers == {"Authorization": "Bearer t0k"}


def test_channel_parameters_fill_the_address() -> None:
    script = Script([_example("chat.message")])
    realtime = Realtime("http://127.0.0.1:8000", connect=script)
    (event,) = list(realtime.chat_thread(thread_id="8e3b5d2a-7f1c-4b9e-a6d4-1c8f2e5b7a90"))
    assert isinstance(event, ChatMessageEvent)
    assert script.url == "ws://127.0.0.1:8000/ws/chat/8e3b5d2a-7f1c-4b9e-a6d4-1c8f2e5b7a90"


def test_redeliveries_are_skipped_and_gaps_raise() -> None:
    first, second, third = _sequence("session.created", 3)
    realtime = Realtime(connect=Script([first, first, second]))
    assert [e.seq for e in realtime.sessions()] == [0, 1]
    with pytest.raises(EventGapError) as gap:
        list(Realtime(connect=Script([first, third])).sessions())
    assert (gap.value.expected, gap.value.received) == (1, 2)


def test_wrong_type_for_the_channel_and_invalid_frames_raise() -> None:
    with pytest.raises(UnexpectedEventError):
        list(Realtime(connect=Script([_example("chat.message")])).sessions())
    broken = _example("session.created")
    broken["data"]["unexpected"] = 1
    with pytest.raises(EventValidationError):
        list(Realtime(connect=Script([broken])).sessions())


async def test_async_twin() -> None:
    frames = [json.dumps(f) for f in _sequence("consent.request", 2)]

    async def connect(url: str, headers: Mapping[str, str]) -> AsyncIterator[str]:
        async def stream() -> AsyncIterator[str]:
            for frame in frames:
                yield frame

        return stream()

    realtime = AsyncRealtime("http://127.0.0.1:8000", connect=connect)
    received = [event async for event in realtime.consent()]
    assert [e.type for e in received] == ["consent.request", "consent.request"]


def test_resuming_after_last_seq_asks_for_it_and_expects_the_next() -> None:
    frames = _sequence("session.created", 8)
    script = Script(frames[5:7])
    realtime = Realtime("http://127.0.0.1:8000", token="t0k", connect=script)
    assert [e.seq for e in realtime.sessions(last_seq=4)] == [5, 6]
    assert script.url == "ws://127.0.0.1:8000/ws/sessions?last_seq=4"
    with pytest.raises(EventGapError) as gap:
        list(Realtime(connect=Script(frames[7:])).sessions(last_seq=4))
    assert (gap.value.expected, gap.value.received) == (5, 7)
