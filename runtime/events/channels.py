"""The event bus over a Litestar channels backend: memory, PostgreSQL, or Redis.

Numbering and big payloads live in the database (``runtime.events.journal``); carrying
events between processes is the backend's job:

- memory (``MemoryChannelsBackend``): one process;
- PostgreSQL (``AsyncPgChannelsBackend`` listening): events are NOTIFYed inside the
  publishing transaction, so they leave iff it commits, in commit order; an envelope
  over NOTIFY's 8,000 bytes is kept in the journal and the notification carries its id;
- Redis pub/sub (``RedisChannelsPubSubBackend``): for more than one PostgreSQL's
  NOTIFY carries; events are published once the transaction has committed.

Each process keeps one subscription per channel it listens to and hands every event to
its listeners in seq order (``ChannelOrder``); a hole that does not fill within
``reorder_grace_s``, or a lost transport connection, is reported to the listeners as
``missed`` and the transport is reconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import structlog
from litestar.channels import ChannelsBackend
from sqlalchemy.engine import Connection

from generated.events import validate_event
from runtime.events import journal
from runtime.events.bus import Emit, Envelope, Listener
from runtime.events.ordering import ChannelOrder
from runtime.events.wire import NOTIFY_LIMIT, decode, encode, reference
from runtime.store import Database
from runtime.store.clock import database_now
from runtime.store.database import before_commit

__all__ = ["BusUnavailableError", "ChannelsEventBus"]

_log = structlog.get_logger(__name__)

T = TypeVar("T")

_PENDING = "vvtv_events_pending"  # the events of the transaction under way
_READY_WAIT_S = 5.0  # chosen: how long a new listener waits for a reconnecting transport
_BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)  # chosen: reconnect attempts, then every 5 s


class BusUnavailableError(RuntimeError):
    """The transport is down and did not come back in time."""


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class ChannelsEventBus:
    """Publishes through the journal, carries events with a channels backend."""

    def __init__(
        self,
        database: Database,
        backend: ChannelsBackend,
        *,
        notify_in_transaction: bool = False,
        reorder_grace_s: float = 0.25,
        history: int = 1000,
        name: str = "memory",
    ) -> None:
        self.database, self.backend, self.name = database, backend, name
        self._in_transaction = notify_in_transaction
        self._grace = reorder_grace_s
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        self._orders: dict[str, ChannelOrder] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._ready = asyncio.Event()
        self._lock = asyncio.Lock()
        self._pump: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._stopping = False
        # The latest events this process published, for inspection; bounded.
        self.published: deque[tuple[str, Envelope]] = deque(maxlen=history)

    # ------------------------------------------------------------------ life

    async def start(self) -> None:
        """Connect the transport and start delivering; a transport that is down is retried."""
        self._stopping = False
        try:
            await self.backend.on_startup()
        except Exception as exc:  # the app still starts, not ready, and keeps trying
            _log.warning("event transport down at start", transport=self.name, error=str(exc))
        else:
            self._ready.set()
        self._pump = asyncio.create_task(self._run(), name=f"event-bus-{self.name}")

    @property
    def ready(self) -> bool:
        """Whether the transport is connected."""
        return self._ready.is_set()

    async def stop(self) -> None:
        """Stop delivering and disconnect."""
        self._stopping = True
        self._ready.clear()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        with contextlib.suppress(Exception):
            await self.backend.on_shutdown()

    async def __aenter__(self) -> ChannelsEventBus:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def lost(self) -> None:
        """The transport's connection is gone (its termination callback): reconnect."""
        self._lost.set()

    # ------------------------------------------------------------------ publishing

    async def publish(self, channel: str, event_type: str, data: dict[str, Any]) -> Envelope:
        """Number, check and send one event; its envelope once committed."""
        return await self.write(lambda _conn, emit: emit(channel, event_type, data))

    async def write(self, work: Callable[[Connection, Emit], T]) -> T:
        """Run ``work`` in a write transaction; the events it emits go out iff it commits."""

        def unit(conn: Connection) -> tuple[T, list[tuple[str, Envelope]]]:
            # A fresh list per attempt: a unit retried alone after its batch failed
            # emits again, and the rolled-back attempt's events are gone with it.
            staged: list[tuple[str, Envelope]] = []

            def emit(channel: str, event_type: str, data: dict[str, Any]) -> Envelope:
                envelope = self._envelope(conn, event_type, data)
                staged.append((channel, envelope))
                self._pending(conn).append((channel, envelope))
                return envelope

            return work(conn, emit), staged

        result, staged = await self.database.write(unit)
        await self._after_commit(staged)
        return result

    def _envelope(self, conn: Connection, event_type: str, data: dict[str, Any]) -> Envelope:
        envelope: Envelope = {
            "id": str(uuid.uuid4()),
            "type": event_type,
            "ts": _rfc3339(database_now(conn)),
            "seq": 0,  # numbered when the transaction is about to commit
            "data": data,
        }
        validate_event(envelope)  # off its schema: refused before anything is spent on it
        return envelope

    def _pending(self, conn: Connection) -> list[tuple[str, Envelope]]:
        """This transaction's events; the first one registers their numbering."""
        transaction = conn.get_transaction()
        held = conn.info.get(_PENDING)
        if held is None or held[0] is not transaction:
            held = (transaction, [])
            conn.info[_PENDING] = held
            before_commit(conn, self._number)
        events: list[tuple[str, Envelope]] = held[1]
        return events

    def _number(self, conn: Connection) -> None:
        """Number the transaction's events, last of all, and NOTIFY them on PostgreSQL.

        Taking each channel's counter row after every other lock of the batch, channels
        in a fixed order, keeps two processes' batches from waiting on each other.
        """
        held = conn.info.pop(_PENDING, None)
        if held is None or held[0] is not conn.get_transaction():
            return
        by_channel: dict[str, list[Envelope]] = defaultdict(list)
        for channel, envelope in held[1]:
            by_channel[channel].append(envelope)
        notices: list[tuple[str, str]] = []
        for channel in sorted(by_channel):
            envelopes = by_channel[channel]
            first = journal.take_seqs(conn, channel, len(envelopes))
            for offset, envelope in enumerate(envelopes):
                envelope["seq"] = first + offset
                if self._in_transaction:
                    notices.append((channel, self._wire(conn, channel, envelope)))
        if notices:
            journal.notify_all(conn, notices)  # one round trip for the whole batch

    def _wire(self, conn: Connection, channel: str, envelope: Envelope) -> str:
        wire = encode(envelope)
        if len(wire.encode()) > NOTIFY_LIMIT:
            payload_id = journal.save_payload(conn, channel, wire, now=database_now(conn))
            wire = reference(payload_id, envelope["seq"])
        return wire

    async def _after_commit(self, staged: Sequence[tuple[str, Envelope]]) -> None:
        for channel, envelope in staged:
            self.published.append((channel, envelope))
            if not self._in_transaction:
                try:
                    await self.backend.publish(encode(envelope).encode(), [channel])
                except Exception as exc:  # committed anyway: listeners will see the hole
                    _log.warning("event not sent", channel=channel, error=str(exc))

    # ------------------------------------------------------------------ listening

    async def listen(self, channel: str, listener: Listener) -> int | None:
        """Deliver ``channel``'s events to ``listener`` from now on; the channel's last seq."""
        async with self._lock:
            first = not self._listeners[channel]
            if first:
                await self._wait_ready()
                await self.backend.subscribe([channel])
            self._listeners[channel].add(listener)
        following = await self._next_seq(channel)
        if first or channel not in self._orders:
            # Anything numbered up to now is in the state a snapshot reads from here on.
            self._orders[channel] = ChannelOrder(following)
        return following - 1 if following > 0 else None

    async def unlisten(self, channel: str, listener: Listener) -> None:
        """Stop delivering ``channel`` to ``listener``; the last one unsubscribes."""
        async with self._lock:
            listeners = self._listeners.get(channel)
            if listeners is None:
                return
            listeners.discard(listener)
            if listeners:
                return
            del self._listeners[channel]
            self._orders.pop(channel, None)
            timer = self._timers.pop(channel, None)
            if timer is not None:
                timer.cancel()
            if self._ready.is_set():
                with contextlib.suppress(Exception):
                    await self.backend.unsubscribe([channel])

    async def _wait_ready(self) -> None:
        try:
            await asyncio.wait_for(self._ready.wait(), _READY_WAIT_S)
        except TimeoutError:
            raise BusUnavailableError(f"the {self.name} event transport is down") from None

    # ------------------------------------------------------------------ delivery

    async def _run(self) -> None:
        """Consume the transport; when it fails or its connection is lost, reconnect."""
        attempt = 0
        while not self._stopping:
            if not self._ready.is_set():
                attempt = 0 if await self._reconnect(attempt) else attempt + 1
                continue
            self._lost.clear()
            consume = asyncio.create_task(self._consume())
            lost = asyncio.create_task(self._lost.wait())
            try:
                await asyncio.wait({consume, lost}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (consume, lost):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            self._ready.clear()  # the transport failed or was lost: reconnect above

    async def _consume(self) -> None:
        try:
            async for channel, data in self.backend.stream_events():
                await self._receive(channel, data)
        except Exception as exc:  # the transport failed: the supervisor reconnects
            _log.warning("event transport failed", transport=self.name, error=str(exc))

    async def _reconnect(self, attempt: int) -> bool:
        """Tell every listener events were missed, then bring the transport back."""
        self._ready.clear()
        for channel, listeners in list(self._listeners.items()):
            self._orders[channel] = ChannelOrder()
            for listener in list(listeners):
                self._missed(listener, channel)
        with contextlib.suppress(Exception):
            await self.backend.on_shutdown()
        await asyncio.sleep(_BACKOFF_S[min(attempt, len(_BACKOFF_S) - 1)])
        channels = list(self._listeners)
        try:
            await self.backend.on_startup()
            if channels:
                await self.backend.subscribe(channels)
            for channel in channels:
                self._orders[channel] = ChannelOrder(await self._next_seq(channel))
        except Exception as exc:  # still down: the supervisor tries again
            _log.warning("event transport reconnect failed", transport=self.name, error=str(exc))
            return False
        _log.info("event transport reconnected", transport=self.name, channels=len(channels))
        self._ready.set()
        return True

    async def _next_seq(self, channel: str) -> int:
        """The seq the channel's next event will have (numbering starts at 0)."""
        last = await self.database.read(lambda conn: journal.current_seq(conn, channel))
        return 0 if last is None else last + 1

    async def _receive(self, channel: str, data: bytes) -> None:
        if channel not in self._listeners:
            return
        try:
            received = decode(data)
            envelope = received.envelope
            if received.ref is not None:
                ref = received.ref
                body = await self.database.read(lambda conn: journal.load_payload(conn, ref))
                envelope = None if body is None else decode(body).envelope
        except ValueError as exc:
            _log.warning("undecodable event ignored", channel=channel, error=str(exc))
            return
        order = self._orders.setdefault(channel, ChannelOrder())
        if envelope is None:  # a stored payload already forgotten: a hole, skipped now
            self._give_up(channel)
            return
        for ready in order.offer(received.seq, envelope):
            self._deliver(channel, ready)
        if order.waiting and channel not in self._timers:
            loop = asyncio.get_running_loop()
            self._timers[channel] = loop.call_later(self._grace, self._give_up, channel)
        elif not order.waiting and channel in self._timers:
            self._timers.pop(channel).cancel()

    def _give_up(self, channel: str) -> None:
        self._timers.pop(channel, None)
        order = self._orders.get(channel)
        for listener in list(self._listeners.get(channel, ())):
            self._missed(listener, channel)
        if order is not None:
            for ready in order.skip_hole():
                self._deliver(channel, ready)

    def _deliver(self, channel: str, envelope: Envelope) -> None:
        for listener in list(self._listeners.get(channel, ())):
            try:
                listener.deliver(channel, envelope)
            except Exception as exc:  # one broken listener never stops the others
                _log.error("event listener failed", channel=channel, error=str(exc))

    def _missed(self, listener: Listener, channel: str) -> None:
        try:
            listener.missed(channel)
        except Exception as exc:  # one broken listener never stops the others
            _log.error("event listener failed", channel=channel, error=str(exc))
