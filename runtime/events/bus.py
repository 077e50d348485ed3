"""The event-bus port: publish envelopes on channels, listen to the ones a process serves.

Contexts publish; the socket hub listens. Every event is checked against its contract
schema before it is published (an event off its schema is a bug of ours and is refused,
never sent), and numbered by the database: ``seq`` is per channel and every process
agrees on it. A listener is told when events of a channel were lost (``missed``), so
that whoever depends on them can resynchronize instead of going silent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy.engine import Connection

__all__ = ["Emit", "Envelope", "EventBus", "Listener", "Publish"]

T = TypeVar("T")
Envelope = dict[str, Any]
Emit = Callable[[str, str, dict[str, Any]], Envelope]
"""``emit(channel, event_type, data)`` inside a unit of work: the envelope it will send."""
Publish = Callable[[Connection, Emit], T]


class Listener(Protocol):
    """What a process's subscriber implements; both calls must return at once."""

    def deliver(self, channel: str, envelope: Envelope) -> None:
        """One event of ``channel``, in seq order."""
        ...

    def missed(self, channel: str) -> None:
        """Events of ``channel`` were lost (a transport outage, a hole that never filled)."""
        ...


class EventBus(Protocol):
    """Publishes events on named channels; listeners get them in order, once."""

    async def publish(self, channel: str, event_type: str, data: dict[str, Any]) -> Envelope:
        """Number, check and send one event; its envelope once committed."""
        ...

    async def write(self, work: Callable[[Connection, Emit], T]) -> T:
        """Run ``work`` in a write transaction; the events it emits go out iff it commits."""
        ...

    async def listen(self, channel: str, listener: Listener) -> int | None:
        """Deliver ``channel``'s events from now on; the last seq given on it so far."""
        ...

    async def unlisten(self, channel: str, listener: Listener) -> None:
        """Stop delivering ``channel`` to ``listener``."""
        ...
