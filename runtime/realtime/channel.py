"""What a context plugs into the socket hub for one AsyncAPI channel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from runtime.auth import Caller
from runtime.events import Envelope
from runtime.realtime.frames import Frame

__all__ = ["ChannelHandler", "ChannelView", "SocketRefusedError"]


class SocketRefusedError(Exception):
    """A socket that may not open: the close code and reason to send."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code, self.reason = code, reason


class ChannelView(Protocol):
    """One socket's view of a channel: what it listens to, its snapshot, its filter."""

    @property
    def bus_channels(self) -> tuple[str, ...]:
        """The bus channels whose events this socket may receive."""
        ...

    async def snapshot(self) -> Sequence[Frame]:
        """The state the caller may see now, as the channel's events."""
        ...

    def admit(self, channel: str, envelope: Envelope) -> dict[str, Any] | None:
        """The data to send for ``envelope`` (the same object when unchanged), or ``None``.

        Called for every event of a bus channel and every socket listening to it: keep it
        to dictionary lookups.
        """
        ...


class ChannelHandler(Protocol):
    """A context's side of one socket channel."""

    async def open(self, caller: Caller, params: Mapping[str, str]) -> ChannelView:
        """The view for a new socket; ``SocketRefusedError`` to turn it away."""
        ...

    async def tick(self, views: Sequence[tuple[Caller, ChannelView]]) -> None:
        """Periodic work for the sockets open on this process (renewals, re-checks)."""
        ...
