"""The socket hub: one per process, between the event bus and the sockets it holds.

Contexts never touch sockets. A socket is authenticated once (the HTTP guard's path),
given its channel's view, subscribed to the bus channels that view names, sent a
snapshot, then every event the view admits. The hub listens to each bus channel once
per process however many sockets need it, encodes an event once per distinct payload,
and closes the sockets of a channel whose events were lost (4409: reconnect for a fresh
snapshot). Every ``tick_s`` it re-checks the accounts of the sockets it holds (banned:
4403, gone: 4401) and lets each channel do its periodic work.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from litestar import WebSocket

from runtime.auth import AccountStatus, Caller
from runtime.events import Envelope, EventBus
from runtime.realtime.channel import ChannelHandler, ChannelView, SocketRefusedError
from runtime.realtime.connection import CloseCode, Connection, ConnectionLimits
from runtime.realtime.frames import Frame
from runtime.realtime.socket_auth import SocketAuthenticator, read_credentials

__all__ = ["SocketHub"]

_log = structlog.get_logger(__name__)
Statuses = Callable[[list[uuid.UUID]], Awaitable[dict[uuid.UUID, AccountStatus]]]
_STATUS_BATCH = 500  # chosen: accounts re-checked per query


class _Fanout:
    """The hub's listener on one bus channel: the sockets that receive it."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.connections: set[Connection] = set()

    def deliver(self, channel: str, envelope: Envelope) -> None:
        frames: dict[int, Frame] = {}
        for connection in list(self.connections):
            view: ChannelView = connection.context
            data = view.admit(channel, envelope)
            if data is None:
                continue
            frame = frames.get(id(data))
            if frame is None:
                frame = frames[id(data)] = Frame.of(envelope, data)
            connection.offer(frame)

    def missed(self, channel: str) -> None:
        for connection in list(self.connections):
            connection.close(CloseCode.RESYNC, "events were missed: reconnect with last_seq")


class SocketHub:
    """Holds this process's sockets and feeds them from the bus."""

    def __init__(
        self,
        bus: EventBus,
        authenticator: SocketAuthenticator,
        handlers: Mapping[str, ChannelHandler],
        statuses: Statuses,
        *,
        limits: ConnectionLimits | None = None,
        tick_s: float = 5.0,
    ) -> None:
        self.bus, self.auth, self.handlers = bus, authenticator, dict(handlers)
        self._statuses = statuses
        self.limits = limits or ConnectionLimits()
        self.tick_s = tick_s
        self.connections: set[Connection] = set()
        self._fanouts: dict[str, _Fanout] = {}
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._ticker: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ life

    async def start(self) -> None:
        """Begin the periodic re-checks."""
        self._ticker = asyncio.create_task(self._tick_forever(), name="socket-hub-tick")

    async def close(self) -> None:
        """Stop, closing every socket as the server goes away (1001)."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for connection in list(self.connections):
            connection.close(CloseCode.GOING_AWAY, "the server is shutting down")

    # ------------------------------------------------------------------ one socket

    async def serve(
        self, socket: WebSocket[Any, Any, Any], channel: str, params: Mapping[str, str]
    ) -> None:
        """Run one socket of ``channel`` from its handshake to its close."""
        credentials = read_credentials(
            dict(socket.headers),
            list(socket.scope.get("subprotocols") or []),
            dict(socket.query_params),
        )
        await socket.accept(subprotocols=credentials.subprotocol)
        try:
            caller = await self.auth.caller(credentials)
            first_seq = _first_seq(socket.query_params.get("last_seq"))
            handler = self.handlers.get(channel)
            if handler is None:
                raise SocketRefusedError(CloseCode.NOT_SERVED, f"{channel} is not served yet")
            view = await handler.open(caller, params)
        except SocketRefusedError as refused:
            with contextlib.suppress(Exception):
                await socket.close(code=refused.code, reason=refused.reason)
            return
        connection = Connection(
            socket, caller, channel=channel, first_seq=first_seq, limits=self.limits, context=view
        )
        self.connections.add(connection)
        try:
            connection.hold()
            await self._attach(connection, view.bus_channels)
            for frame in await view.snapshot():
                if not await connection.offer_waiting(frame):
                    break
            connection.release()
            await connection.run(caller.expires_at)
        finally:
            self.connections.discard(connection)
            await self._detach(connection, view.bus_channels)

    async def _attach(self, connection: Connection, channels: tuple[str, ...]) -> None:
        for channel in channels:
            async with self._locks[channel]:
                fanout = self._fanouts.get(channel)
                if fanout is None:
                    fanout = self._fanouts[channel] = _Fanout(channel)
                    await self.bus.listen(channel, fanout)
                fanout.connections.add(connection)

    async def _detach(self, connection: Connection, channels: tuple[str, ...]) -> None:
        for channel in channels:
            async with self._locks[channel]:
                fanout = self._fanouts.get(channel)
                if fanout is None:
                    continue
                fanout.connections.discard(connection)
                if not fanout.connections:
                    del self._fanouts[channel]
                    await self.bus.unlisten(channel, fanout)
            if not self._locks[channel].locked() and channel not in self._fanouts:
                self._locks.pop(channel, None)

    # ------------------------------------------------------------------ periodic

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            try:
                await self.tick()
            except Exception as exc:  # one failed tick must not end the next ones
                _log.warning("socket hub tick failed", error=str(exc))

    async def tick(self) -> None:
        """Re-check the accounts behind the open sockets; run each channel's periodic work."""
        open_now = [c for c in self.connections if not c.closing]
        users = sorted({c.caller.user_id for c in open_now})
        known: dict[uuid.UUID, AccountStatus] = {}
        for start in range(0, len(users), _STATUS_BATCH):
            known.update(await self._statuses(users[start : start + _STATUS_BATCH]))
        for connection in open_now:
            status = known.get(connection.caller.user_id)
            # What was just read is fresher than the guard's memory: it takes it.
            self.auth.authenticator.remember(connection.caller.user_id, status)
            if status is None:
                connection.close(CloseCode.UNAUTHENTICATED, "the account is gone")
            elif status.banned:
                connection.close(CloseCode.FORBIDDEN, "the account is banned")
        by_channel: dict[str, list[tuple[Caller, ChannelView]]] = defaultdict(list)
        for connection in open_now:
            if not connection.closing:
                by_channel[connection.channel].append((connection.caller, connection.context))
        for channel, views in by_channel.items():
            handler = self.handlers.get(channel)
            if handler is not None:
                await handler.tick(views)


def _first_seq(raw: str | None) -> int:
    """Where a socket's numbering starts: after the client's ``last_seq``, or at 0."""
    if raw is None:
        return 0
    if not raw.isdigit() or len(raw) > 18:
        raise SocketRefusedError(CloseCode.BAD_REQUEST, "last_seq must be a whole number")
    return int(raw) + 1
