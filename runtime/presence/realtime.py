"""``/ws/presence``: the presence changes a viewer may see, and socket-held presences.

Every presence change is one event on one bus channel; each socket's view decides what
its viewer receives: their own presence always, nobody blocked either way, and a
presence that turned ``hidden`` as ``offline`` (it left every list). An open presence
socket also keeps its caller's presence on that device alive: the hub's tick renews
the presences of the sockets it holds, so a process that dies takes its renewals with
it and the sweeper (elsewhere) removes them after the TTL.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from runtime.auth import Caller
from runtime.events import Envelope
from runtime.presence.events import PRESENCE_CHANNEL, as_offline, update_data
from runtime.presence.service import PresenceService, device_of
from runtime.realtime import ChannelView, Frame

__all__ = ["PresenceChannel"]


class _Hidden:
    """The offline form of the last hidden presence seen (one event goes to many views)."""

    def __init__(self) -> None:
        self._id: str | None = None
        self._data: dict[str, Any] = {}

    def of(self, envelope: Envelope) -> dict[str, Any]:
        if envelope["id"] != self._id:
            self._id, self._data = envelope["id"], as_offline(envelope["data"])
        return self._data


class _View:
    bus_channels = (PRESENCE_CHANNEL,)

    def __init__(
        self, service: PresenceService, caller: Caller, blocked: set[uuid.UUID], hidden: _Hidden
    ) -> None:
        self.service, self.caller, self._hidden = service, caller, hidden
        self.me = str(caller.user_id)
        self.blocked = {str(user) for user in blocked}

    async def snapshot(self) -> Sequence[Frame]:
        rows = await self.service.snapshot(self.caller)
        return [Frame.new("presence.update", update_data(row, "online")) for row in rows]

    def admit(self, channel: str, envelope: Envelope) -> dict[str, Any] | None:
        data: dict[str, Any] = envelope["data"]
        user = data["user_id"]
        if user == self.me:
            return data
        if user in self.blocked:
            return None
        if data["visibility"] == "hidden" and data["state"] == "online":
            return self._hidden.of(envelope)
        return data


class PresenceChannel:
    """The presence channel's handler."""

    def __init__(self, service: PresenceService) -> None:
        self.service = service
        self._hidden = _Hidden()

    async def open(self, caller: Caller, params: Mapping[str, str]) -> ChannelView:
        """The caller's view, with the users they must not see."""
        blocked = await self.service.blocks_of(caller.user_id)
        return _View(self.service, caller, blocked, self._hidden)

    async def tick(self, views: Sequence[tuple[Caller, ChannelView]]) -> None:
        """Renew the presences of the open sockets, one statement for all of them."""
        pairs = sorted({(caller.user_id, device_of(caller)) for caller, _ in views})
        await self.service.renew(pairs)
