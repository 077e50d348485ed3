"""``/ws/sessions``: the lifecycle of the caller's own sessions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.auth import Caller
from runtime.events import Envelope
from runtime.realtime import ChannelView, Frame
from runtime.sessions.events import channel_of, created_data
from runtime.sessions.store import sessions_in_progress
from runtime.store import Database

__all__ = ["SessionsChannel"]


@dataclass
class _View:
    database: Database
    caller: Caller

    @property
    def bus_channels(self) -> tuple[str, ...]:
        return (channel_of(self.caller.user_id),)

    async def snapshot(self) -> Sequence[Frame]:
        """One session.created per session still in progress."""
        user = self.caller.user_id
        rows = await self.database.read(lambda conn: sessions_in_progress(conn, user))
        return [Frame.new("session.created", created_data(row)) for row in rows]

    def admit(self, channel: str, envelope: Envelope) -> dict[str, Any] | None:
        data: dict[str, Any] = envelope["data"]
        return data  # the channel is the caller's own


class SessionsChannel:
    """The sessions channel's handler: one bus channel per user."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def open(self, caller: Caller, params: Mapping[str, str]) -> ChannelView:
        """The caller's view: their own sessions."""
        return _View(self.database, caller)

    async def tick(self, views: Sequence[tuple[Caller, ChannelView]]) -> None:
        """Nothing periodic: leases are the sweeper's."""
