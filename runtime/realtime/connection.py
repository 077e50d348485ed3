"""One WebSocket: a bounded send queue, frame numbering, inbound limits, a deadline.

Frames are queued without waiting (``offer``); a writer task sends them in order. A
client that does not read fast enough fills its queue and is closed with 4408 rather
than buffered without end; one that stops reading altogether (its sends never return)
is closed under the stuck writer, so it cannot hold a socket open. What the client sends
counts against a token bucket (4429 beyond it) and a size cap in bytes (1009). The
socket closes with 4401 when the token it was opened with expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from litestar import WebSocket
from litestar.exceptions import WebSocketDisconnect

from runtime.auth import Caller
from runtime.realtime.frames import Frame

__all__ = ["CloseCode", "Connection", "ConnectionLimits"]

_log = structlog.get_logger(__name__)


class CloseCode:
    """The close codes of ``contracts/asyncapi.yaml``."""

    BAD_REQUEST = 4400
    UNAUTHENTICATED = 4401
    FORBIDDEN = 4403
    TOO_SLOW = 4408
    RESYNC = 4409
    TOO_MANY_MESSAGES = 4429
    NOT_SERVED = 4501
    GOING_AWAY = 1001
    TOO_BIG = 1009


@dataclass(frozen=True)
class ConnectionLimits:
    """Per-socket bounds (the AsyncAPI document states them to clients)."""

    send_queue: int = 256  # chosen: frames a socket may have waiting
    inbound_per_s: float = 10.0  # AsyncAPI: keep-alives, 10 a second
    inbound_burst: int = 20  # AsyncAPI: bursts of 20
    inbound_max_bytes: int = 4096  # chosen: keep-alives are small
    send_stall_s: float = 10.0  # chosen: a client that takes no frame this long is too slow


# chosen: how long a closing socket's writer may take to send what is queued and the
# close, and how long the close itself may take, before the socket is given up on.
_DRAIN_S = 2.0
_CLOSE_S = 2.0


@dataclass
class _Bucket:
    rate: float
    burst: int
    tokens: float = field(init=False)
    at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class Connection:
    """One authenticated socket of one channel."""

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        caller: Caller,
        *,
        channel: str,
        first_seq: int,
        limits: ConnectionLimits,
        context: Any = None,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.socket, self.caller, self.channel, self.context = socket, caller, channel, context
        self.limits = limits
        self._next_seq = first_seq
        # Unbounded underneath so the closing sentinel always fits; the bound is ``offer``'s.
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._room = asyncio.Event()
        self._closed = asyncio.Event()  # set by ``close``: ``run`` stops waiting on the writer
        self._sending = asyncio.Lock()  # one send at a time, in queue order
        self._writer: asyncio.Task[None] | None = None
        self._socket_closed = False
        self._bucket = _Bucket(limits.inbound_per_s, limits.inbound_burst)
        self._closing: tuple[int, str] | None = None
        self._held: list[Frame] | None = None

    @property
    def closing(self) -> bool:
        """Whether the socket is on its way out."""
        return self._closing is not None

    @property
    def queued(self) -> int:
        """Frames waiting to be sent."""
        return self._queue.qsize()

    def hold(self) -> None:
        """Keep events aside while the snapshot is read and sent (they follow it)."""
        self._held = []

    def release(self) -> None:
        """Send the events kept aside, after the snapshot.

        They go in even when the snapshot left the queue full: they were accepted while it
        went out at the client's pace, and holding bounds them to one queue's worth, so a
        client reading its snapshot is not judged too slow for them.
        """
        held, self._held = self._held or [], None
        if self._closing is not None:
            return
        for frame in held:
            self._enqueue(frame)

    def _enqueue(self, frame: Frame) -> None:
        self._queue.put_nowait(frame.render(self._next_seq))
        self._next_seq += 1

    def offer(self, frame: Frame) -> bool:
        """Queue ``frame`` under this socket's next seq; a full queue closes it (4408)."""
        if self._closing is not None:
            return False
        if self._held is not None:
            if len(self._held) >= self.limits.send_queue:
                self.close(CloseCode.TOO_SLOW, "too slow: the send queue is full")
                return False
            self._held.append(frame)
            return True
        if self._queue.qsize() >= self.limits.send_queue:
            self.close(CloseCode.TOO_SLOW, "too slow: the send queue is full")
            return False
        self._enqueue(frame)
        return True

    async def offer_waiting(self, frame: Frame) -> bool:
        """Queue ``frame``, waiting for room (a snapshot goes at the client's pace).

        Before ``run`` no writer exists (the hub sends the snapshot first), so the oldest
        frame is sent from here to make room; otherwise the snapshot could never pass one
        queue's worth.
        """
        while self._closing is None and self._queue.qsize() >= self.limits.send_queue:
            if self._writer is None:
                text = self._queue.get_nowait()  # not the sentinel: that comes with closing
                if text is not None:
                    await self._send(text)
                continue
            self._room.clear()
            await self._room.wait()
        if self._closing is not None:
            return False
        self._enqueue(frame)
        return True

    def close(self, code: int, reason: str) -> None:
        """Close once the frames already queued are sent (a too-slow client: at once)."""
        if self._closing is not None:
            return
        self._closing = (code, reason)
        if code == CloseCode.TOO_SLOW:
            while not self._queue.empty():
                self._queue.get_nowait()
        self._queue.put_nowait(None)
        self._room.set()
        self._closed.set()

    async def run(
        self, expires_at: float | None, on_frame: Callable[[], None] | None = None
    ) -> None:
        """Send what is queued and read what the client sends, until the socket closes."""
        self._writer = writer = asyncio.create_task(self._write())
        reader = asyncio.create_task(self._read(on_frame))
        closed = asyncio.create_task(self._closed.wait())
        deadline = None
        if expires_at is not None:
            delay = max(0.0, expires_at - time.time())
            deadline = asyncio.get_running_loop().call_later(
                delay, self.close, CloseCode.UNAUTHENTICATED, "the token expired"
            )
        try:
            await asyncio.wait({writer, reader, closed}, return_when=asyncio.FIRST_COMPLETED)
            if not writer.done():
                # The client left, broke a limit, or is being closed: the writer sends
                # what is queued, then the close. A client too slow for its queue gets the
                # close at once; one whose sends never return is not waited on past the
                # grace (its writer is stuck, it would otherwise hold the socket forever).
                self.close(1000, "")  # a no-op when a close is already under way
                code = self._closing[0] if self._closing else 1000
                grace = 0.0 if code == CloseCode.TOO_SLOW else _DRAIN_S
                await asyncio.wait({writer}, timeout=grace)
                if not writer.done():
                    writer.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await writer
                    await self._close_socket()
        finally:
            self._closing = self._closing or (1000, "")
            self._room.set()
            self._closed.set()
            if deadline is not None:
                deadline.cancel()
            for task in (writer, reader, closed):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _send(self, text: str) -> bool:
        """Send one frame; a send that fails or stalls past ``send_stall_s`` closes the socket."""
        try:
            # asyncio.timeout, not wait_for: no task per frame on the hottest path.
            async with self._sending, asyncio.timeout(self.limits.send_stall_s):
                await self.socket.send_text(text)
        except TimeoutError:
            self.close(CloseCode.TOO_SLOW, "too slow: a frame was not taken in time")
            return False
        except Exception:  # the client went away under us
            self.close(1000, "")
            self._socket_closed = True  # nothing is left to close
            return False
        return True

    async def _close_socket(self) -> None:
        """Send the close (once), bounded: a client that does not read may never take it.

        Marked done only once tried: a writer cancelled mid-close leaves it to ``run``.
        """
        if self._socket_closed:
            return
        code, reason = self._closing or (1000, "")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.socket.close(code=code, reason=reason), _CLOSE_S)
        self._socket_closed = True

    async def _write(self) -> None:
        while True:
            text = await self._queue.get()
            if text is None:
                break
            if self._queue.qsize() < self.limits.send_queue:
                self._room.set()
            if not await self._send(text):
                if self._closing is not None and self._closing[0] == CloseCode.TOO_SLOW:
                    break  # a stalled send: the close follows
                return
        await self._close_socket()

    async def _read(self, on_frame: Callable[[], None] | None) -> None:
        while True:
            try:
                message = await self.socket.receive_data(mode="text")
            except WebSocketDisconnect:
                return
            except Exception:  # binary frames, broken peers: nothing we read
                return
            # The cap is in bytes, as its name says; most keep-alives are ASCII.
            size = len(message) if message.isascii() else len(message.encode())
            if size > self.limits.inbound_max_bytes:
                self.close(CloseCode.TOO_BIG, "message too big")
                return
            if not self._bucket.take(time.monotonic()):
                self.close(CloseCode.TOO_MANY_MESSAGES, "too many messages")
                return
            if on_frame is not None:
                on_frame()
