"""The event-bus port and its in-memory backend (Postgres LISTEN/NOTIFY comes with presence).

Every event is checked against its contract schema before it is published: an event
that does not match is a bug of ours and is refused, never sent.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Protocol

from generated.events import validate_event

__all__ = ["EventBus", "MemoryEventBus"]


class EventBus(Protocol):
    """Publishes events on named channels; subscribers get them in order."""

    async def publish(self, channel: str, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        """Wrap ``data`` in an envelope with the channel's next ``seq`` and publish it."""
        ...

    def subscribe(self, channel: str) -> AsyncIterator[dict[str, Any]]:
        """Events published on ``channel`` from now on."""
        ...


class MemoryEventBus:
    """One process: a queue per subscriber, a sequence per channel."""

    def __init__(self, *, queue_size: int = 1000, history: int = 1000) -> None:
        self._seq: dict[str, int] = defaultdict(int)
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._queue_size = queue_size
        # The latest events, for inspection; bounded, so a long-running process keeps flat.
        self.published: deque[tuple[str, dict[str, Any]]] = deque(maxlen=history)

    async def publish(self, channel: str, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        """Validate, number and fan out one event."""
        event = {
            "id": str(uuid.uuid4()),
            "type": event_type,
            "ts": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "seq": self._seq[channel],
            "data": data,
        }
        validate_event(event)
        self._seq[channel] += 1
        self.published.append((channel, event))
        for queue in list(self._subscribers[channel]):
            if queue.full():
                queue.get_nowait()  # a slow subscriber sees a seq gap, never blocks others
            queue.put_nowait(event)
        return event

    async def subscribe(self, channel: str) -> AsyncIterator[dict[str, Any]]:
        """Yield the channel's events until the consumer stops."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._queue_size)
        self._subscribers[channel].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers[channel].discard(queue)
