"""One channel's events back in seq order, and when some are lost for good. Pure."""

from __future__ import annotations

from typing import Any

__all__ = ["ChannelOrder"]

Envelope = dict[str, Any]


class ChannelOrder:
    """Releases a channel's events in seq order; holds early ones until the hole fills.

    Transports that publish after the commit (memory, Redis) can deliver two processes'
    events out of order; PostgreSQL's NOTIFY never does. ``expected`` is the seq that
    comes next (``None``: take the first one offered as the start).
    """

    def __init__(self, expected: int | None = None) -> None:
        self.expected = expected
        self._early: dict[int, Envelope] = {}

    @property
    def waiting(self) -> bool:
        """Whether events wait for a missing one."""
        return bool(self._early)

    def offer(self, seq: int, envelope: Envelope) -> list[Envelope]:
        """The events that can go out now, in order (an old or repeated seq: none)."""
        if self.expected is None:
            self.expected = seq
        if seq < self.expected or seq in self._early:
            return []
        self._early[seq] = envelope
        return self._release()

    def skip_hole(self) -> list[Envelope]:
        """Give up on the missing events: release what waits, from the lowest seq on."""
        if not self._early:
            return []
        self.expected = min(self._early)
        return self._release()

    def _release(self) -> list[Envelope]:
        ready: list[Envelope] = []
        assert self.expected is not None
        while self.expected in self._early:
            ready.append(self._early.pop(self.expected))
            self.expected += 1
        return ready
