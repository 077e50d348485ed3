"""One socket's connection over a fake socket: bounded queue, numbering, limits, deadline.

The fake implements what ``Connection`` uses of a Litestar ``WebSocket``: ``send_text``,
``close`` and ``receive_data``. A ``stalled`` one never returns from ``send_text``, as a
client that stops reading (its TCP window full) makes the server's send wait.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect

from runtime.auth import Caller
from runtime.realtime.connection import CloseCode, Connection, ConnectionLimits
from runtime.realtime.frames import Frame

CALLER = Caller(uuid.UUID(int=7), ("user",))
BOUND_S = 3.0  # no step of a test waits longer than this


class FakeSocket:
    """What ``Connection`` needs of a socket, recorded."""

    def __init__(self, *, stalled: bool = False) -> None:
        self.stalled = stalled
        self.sent: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.close_calls = 0
        self.inbound: asyncio.Queue[str | None] = asyncio.Queue()
        self.changed = asyncio.Event()

    async def send_text(self, text: str) -> None:
        if self.stalled:
            await asyncio.Event().wait()  # never returns: the client does not read
        self.sent.append(text)
        self.changed.set()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.close_calls += 1
        self.closed = (code, reason)
        self.inbound.put_nowait(None)  # what the client sends next is the disconnect
        self.changed.set()

    async def receive_data(self, mode: str) -> str:
        assert mode == "text"
        message = await self.inbound.get()
        if message is None:
            raise WebSocketDisconnect(detail="disconnect event")
        return message

    def frames(self) -> list[dict[str, Any]]:
        return [json.loads(text) for text in self.sent]

    async def wait_for(self, check: Any) -> None:
        async def loop() -> None:
            while not check():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), BOUND_S)


def _connection(socket: FakeSocket, *, first_seq: int = 0, **limits: Any) -> Connection:
    return Connection(
        socket,  # type: ignore[arg-type]
        CALLER,
        channel="presence",
        first_seq=first_seq,
        limits=ConnectionLimits(**limits),
    )


def _frame(n: int, kind: str = "test.event") -> Frame:
    return Frame(f"id-{n}", kind, "2026-01-15T21:00:00Z", {"n": n})


async def _run(connection: Connection, expires_at: float | None = None) -> asyncio.Task[None]:
    task = asyncio.create_task(connection.run(expires_at))
    await asyncio.sleep(0)
    return task


async def _finished(task: asyncio.Task[None]) -> None:
    await asyncio.wait_for(task, BOUND_S)


# ---------------------------------------------------------------------- frames


def test_a_frame_is_json_with_the_seq_spliced_in() -> None:
    frame = Frame("e-1", "presence.update", "2026-01-15T21:00:00Z", {"user": "ü", "n": [1, 2]})
    for seq in (0, 1, 41, 10**15):
        parsed = json.loads(frame.render(seq))
        assert parsed == {
            "id": "e-1",
            "type": "presence.update",
            "ts": "2026-01-15T21:00:00Z",
            "seq": seq,
            "data": {"user": "ü", "n": [1, 2]},
        }
    assert frame.event_id == "e-1" and frame.event_type == "presence.update"


def test_frames_of_the_same_event_are_the_same_bytes() -> None:
    envelope = {
        "id": uuid.UUID(int=3),
        "type": "presence.update",
        "ts": "2026-01-15T21:00:00Z",
        "data": {"b": 1, "a": 'quote " and \\ backslash'},
    }
    one, two = Frame.of(envelope), Frame.of(dict(envelope))
    assert one.render(9).encode() == two.render(9).encode()
    assert one.render(9) != one.render(10)
    assert json.loads(one.render(9))["data"] == envelope["data"]
    replaced = Frame.of(envelope, {"other": True})
    assert json.loads(replaced.render(1))["data"] == {"other": True}


def test_a_new_frame_has_a_fresh_id_and_a_utc_time() -> None:
    one, two = Frame.new("snapshot", {}), Frame.new("snapshot", {})
    assert one.event_id != two.event_id
    assert json.loads(one.render(0))["ts"].endswith("Z")


# ---------------------------------------------------------------------- numbering


async def test_frames_are_numbered_from_first_seq_in_order() -> None:
    socket = FakeSocket()
    connection = _connection(socket, first_seq=42)
    task = await _run(connection)
    for n in range(5):
        assert connection.offer(_frame(n))
    await socket.wait_for(lambda: len(socket.sent) == 5)
    for n in range(5, 8):
        assert await connection.offer_waiting(_frame(n))
    await socket.wait_for(lambda: len(socket.sent) == 8)
    assert [f["seq"] for f in socket.frames()] == list(range(42, 50))
    assert [f["data"]["n"] for f in socket.frames()] == list(range(8))
    assert socket.sent[0] == _frame(0).render(42)
    connection.close(1000, "done")
    await _finished(task)
    assert socket.closed == (1000, "done")


# ---------------------------------------------------------------------- the send queue


async def test_a_full_queue_closes_with_4408_and_never_grows_past_its_bound() -> None:
    socket = FakeSocket()
    connection = _connection(socket, send_queue=4)
    for n in range(4):  # no writer yet: the frames wait
        assert connection.offer(_frame(n))
        assert connection.queued <= 4
    assert not connection.offer(_frame(4))
    assert connection.closing and connection.queued <= 4
    assert not connection.offer(_frame(5))  # closing: nothing more is taken
    task = await _run(connection)
    await _finished(task)
    # A client too slow for its queue loses what was waiting: the close comes at once.
    assert socket.closed is not None and socket.closed[0] == CloseCode.TOO_SLOW
    assert socket.sent == []


async def test_a_client_that_does_not_read_is_closed_with_4408() -> None:
    socket = FakeSocket(stalled=True)
    connection = _connection(socket, send_queue=4)
    task = await _run(connection)
    offered = 0
    while connection.offer(_frame(offered)):
        offered += 1
        assert connection.queued <= 4
        await asyncio.sleep(0)  # let the writer take what it can
        assert offered < 100, "the queue kept growing"
    assert connection.closing and connection.queued <= 4
    # The writer is stuck in send_text; the socket is closed under it, and run ends.
    await _finished(task)
    assert socket.closed is not None and socket.closed[0] == CloseCode.TOO_SLOW


async def test_held_events_go_after_the_snapshot() -> None:
    socket = FakeSocket()
    connection = _connection(socket, first_seq=1)
    connection.hold()
    for n in (100, 101):  # events published while the snapshot is read
        assert connection.offer(_frame(n, "event"))
    assert connection.queued == 0
    for n in range(3):
        assert await connection.offer_waiting(_frame(n, "snapshot"))
    assert connection.queued == 3
    connection.release()
    assert connection.offer(_frame(102, "event"))
    task = await _run(connection)
    await socket.wait_for(lambda: len(socket.sent) == 6)
    frames = socket.frames()
    assert [f["type"] for f in frames] == ["snapshot"] * 3 + ["event"] * 3
    assert [f["data"]["n"] for f in frames] == [0, 1, 2, 100, 101, 102]
    assert [f["seq"] for f in frames] == [1, 2, 3, 4, 5, 6]
    connection.close(1000, "")
    await _finished(task)


async def test_a_snapshot_larger_than_the_queue_goes_at_the_clients_pace() -> None:
    # As the hub serves a socket: hold, snapshot (before run), release, then run.
    socket = FakeSocket()
    connection = _connection(socket, send_queue=4)
    connection.hold()
    assert connection.offer(_frame(100, "event"))
    assert connection.offer(_frame(101, "event"))

    async def snapshot() -> None:
        for n in range(10):
            assert await connection.offer_waiting(_frame(n, "snapshot"))
            assert connection.queued <= 4

    await asyncio.wait_for(snapshot(), BOUND_S)
    connection.release()  # the events held meanwhile follow, though the queue is full
    assert not connection.closing
    task = await _run(connection)
    await socket.wait_for(lambda: len(socket.sent) == 12)
    frames = socket.frames()
    assert [f["data"]["n"] for f in frames] == [*range(10), 100, 101]
    assert [f["seq"] for f in frames] == list(range(12))
    connection.close(1000, "")
    await _finished(task)


async def test_holding_more_than_the_queue_closes_with_4408() -> None:
    socket = FakeSocket()
    connection = _connection(socket, send_queue=3)
    connection.hold()
    for n in range(3):
        assert connection.offer(_frame(n))
    assert not connection.offer(_frame(3))
    assert connection.closing
    connection.release()
    task = await _run(connection)
    await _finished(task)
    assert socket.closed is not None and socket.closed[0] == CloseCode.TOO_SLOW
    assert socket.sent == []


# ---------------------------------------------------------------------- inbound limits


async def test_more_than_the_burst_closes_with_4429() -> None:
    socket = FakeSocket()
    connection = _connection(socket, inbound_per_s=1.0, inbound_burst=5)
    seen: list[int] = []
    task = asyncio.create_task(connection.run(None, on_frame=lambda: seen.append(1)))
    for _ in range(6):
        socket.inbound.put_nowait('{"type":"ping"}')
    await _finished(task)
    assert socket.closed is not None and socket.closed[0] == CloseCode.TOO_MANY_MESSAGES
    assert len(seen) == 5


async def test_the_burst_refills_at_the_rate() -> None:
    socket = FakeSocket()
    connection = _connection(socket, inbound_per_s=20.0, inbound_burst=2)
    seen: list[int] = []
    task = asyncio.create_task(connection.run(None, on_frame=lambda: seen.append(1)))
    for _ in range(6):  # 2 at once, then one every 0.1 s: within 20 a second
        socket.inbound.put_nowait("ping")
        await asyncio.sleep(0.1)
    assert len(seen) == 6 and not connection.closing
    connection.close(1000, "")
    await _finished(task)
    assert socket.closed == (1000, "")


@pytest.mark.parametrize(
    "message",
    [
        "x" * 4097,
        "é" * 2049,  # 2,049 characters, 4,098 bytes: the cap is in bytes
    ],
)
async def test_an_oversized_message_closes_with_1009(message: str) -> None:
    socket = FakeSocket()
    connection = _connection(socket, inbound_max_bytes=4096)
    seen: list[int] = []
    task = asyncio.create_task(connection.run(None, on_frame=lambda: seen.append(1)))
    socket.inbound.put_nowait("x" * 4096)  # at the cap: fine
    socket.inbound.put_nowait(message)
    await _finished(task)
    assert socket.closed is not None and socket.closed[0] == CloseCode.TOO_BIG
    assert len(seen) == 1


async def test_a_client_that_leaves_ends_the_run() -> None:
    socket = FakeSocket()
    connection = _connection(socket)
    task = await _run(connection)
    socket.inbound.put_nowait(None)  # the disconnect
    await _finished(task)
    assert connection.closing


# ---------------------------------------------------------------------- the token's deadline


async def test_the_socket_closes_with_4401_when_its_token_expires() -> None:
    socket = FakeSocket()
    connection = _connection(socket)
    started = time.monotonic()
    task = asyncio.create_task(connection.run(time.time() + 0.3))
    assert connection.offer(_frame(0))
    await _finished(task)
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 1.0
    assert socket.closed is not None and socket.closed[0] == CloseCode.UNAUTHENTICATED
    assert len(socket.sent) == 1  # what was queued before the deadline went out first


async def test_an_expired_token_closes_at_once() -> None:
    socket = FakeSocket()
    connection = _connection(socket)
    started = time.monotonic()
    await _finished(asyncio.create_task(connection.run(time.time() - 5)))
    assert time.monotonic() - started < 0.5
    assert socket.closed is not None and socket.closed[0] == CloseCode.UNAUTHENTICATED


async def test_the_deadline_closes_a_client_that_does_not_read() -> None:
    socket = FakeSocket(stalled=True)
    connection = _connection(socket)
    task = asyncio.create_task(connection.run(time.time() + 0.2))
    assert connection.offer(_frame(0))  # the writer is stuck sending this one
    await _finished(task)
    assert socket.closed is not None and socket.closed[0] == CloseCode.UNAUTHENTICATED
