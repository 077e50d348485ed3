"""Presence use cases: set, heartbeat, the party and grid lists, socket renewals, expiry.

One presence per user made of one meta per device; every change and its
``presence.update`` are one transaction (the event leaves iff the change commits).
Expiry is the sweeper's, by the database clock, so it never depends on the process that
holds a user's socket.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from generated.config import ConfigBundle
from generated.server_support import ProblemError
from runtime.auth import Caller
from runtime.events import Emit, EventBus
from runtime.presence import store
from runtime.presence.cursor import decode_cursor, encode_cursor
from runtime.presence.events import PRESENCE_CHANNEL, update_data
from runtime.presence.rules import (
    DEFAULT_DEVICE,
    LISTED_IN,
    SEE_PRESENCE,
    advertised_capabilities,
)
from runtime.problem import invalid
from runtime.store import Database
from runtime.store.clock import database_now

__all__ = ["Page", "PresencePolicy", "PresenceService", "Shown", "device_of"]

_EXPIRE_BATCH = 500  # chosen: metas removed per sweep transaction
_SNAPSHOT_LIMIT = 1000  # chosen: presences a new socket is sent at once


@dataclass(frozen=True)
class PresencePolicy:
    """The numbers and modes presence runs with, from the cost tier in force."""

    ttl_s: int
    heartbeat_interval_s: int
    presence_modes: dict[str, tuple[str, ...]]  # mode -> its capabilities (see_presence ones)
    separated_modes: tuple[str, ...]  # modes kept out of the party and the grid

    @classmethod
    def from_config(cls, config: ConfigBundle) -> PresencePolicy:
        """The policy of a configuration bundle."""
        limits = config.limits.presence
        modes = config.modes.modes
        return cls(
            ttl_s=limits.anti_ghost_ttl_s,
            heartbeat_interval_s=limits.heartbeat_interval_s,
            presence_modes={
                name: tuple(mode.capabilities)
                for name, mode in modes.items()
                if SEE_PRESENCE in mode.capabilities
            },
            separated_modes=tuple(
                sorted(n for n, m in modes.items() if m.policies.separate_ecosystem_from_party)
            ),
        )


@dataclass(frozen=True)
class Shown:
    """A presence with its metas, as the API shows it."""

    row: store.PresenceRow
    metas: list[store.PresenceRow]


@dataclass(frozen=True)
class Page:
    """One page of a list."""

    items: list[Shown]
    next_cursor: str | None


def _unique(field: str, values: Sequence[str]) -> None:
    """``uniqueItems`` of the contract: the second of two equal values is the error."""
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise invalid(f"/{field}/{index}", f"{value!r} is listed twice")
        seen.add(value)


def device_of(caller: Caller) -> str:
    """The device a caller's token was issued to (``default`` when it named none)."""
    return caller.device_id or DEFAULT_DEVICE


class PresenceService:
    """Presence over the store and the bus."""

    def __init__(self, database: Database, bus: EventBus, policy: PresencePolicy) -> None:
        self.database, self.bus, self.policy = database, bus, policy

    # ------------------------------------------------------------------ set / heartbeat

    def fields(
        self,
        mode: str,
        *,
        is_camera_on: bool,
        visibility: str | None,
        capabilities: Sequence[str] | None,
        languages: Sequence[str] = (),
        tags: Sequence[str] = (),
    ) -> store.Fields:
        """The fields a set asks for, checked against the mode's manifest."""
        for name, values in (
            ("capabilities", capabilities or ()),
            ("languages", languages),
            ("tags", tags),
        ):
            _unique(name, values)
        offered = self.policy.presence_modes.get(mode)
        if offered is None:
            raise invalid(
                "/presence_mode",
                f"mode {mode!r} does not show presence; one of "
                f"{', '.join(sorted(self.policy.presence_modes))}",
            )
        if capabilities is None:
            chosen = advertised_capabilities(offered)
        else:
            for index, capability in enumerate(capabilities):
                if capability not in offered:
                    raise invalid(
                        f"/capabilities/{index}",
                        f"{capability!r} is not a capability of mode {mode!r}",
                    )
            chosen = tuple(capabilities)
        return store.Fields(
            presence_mode=mode,
            is_camera_on=is_camera_on,
            visibility=visibility or "visible",
            capabilities=chosen,
            languages=tuple(languages),
            tags=tuple(tags),
        )

    async def update(self, caller: Caller, fields: store.Fields) -> Shown:
        """Create or replace the caller's presence on this device (a heartbeat too)."""
        user, device, ttl = caller.user_id, device_of(caller), self.policy.ttl_s

        def work(conn: Connection, emit: Emit) -> Shown:
            now = database_now(conn)
            store.upsert_meta(conn, user, device, fields, now=now, ttl_s=ttl)
            previous = store.get_presence(conn, user)
            if previous is not None and previous["expires_at"] < now:
                previous = None  # gone already (the sweeper is just late): a new presence
            metas = store.metas_of(conn, [user], now=now)[user]
            row = store.write_presence(conn, user, metas, previous=previous, now=now)
            if previous is None or store.Fields.of(previous) != store.Fields.of(row):
                emit(PRESENCE_CHANNEL, "presence.update", update_data(row, "online"))
            return Shown(row, metas)

        return await self.bus.write(work)

    async def heartbeat(self, caller: Caller) -> store.PresenceRow:
        """Renew the caller's presence on this device; 404 when it is gone."""
        pair = (caller.user_id, device_of(caller))
        ttl = self.policy.ttl_s

        def work(conn: Connection) -> store.PresenceRow | None:
            now = database_now(conn)
            if not store.renew_metas(conn, [pair], now=now, ttl_s=ttl):
                return None
            return store.get_presence(conn, caller.user_id)

        row = await self.database.write(work)
        if row is None:
            raise ProblemError(
                404,
                "NOT_FOUND",
                "Not found",
                "No presence on this device (never set, or expired): set it again.",
            )
        return row

    async def renew(self, pairs: Sequence[tuple[uuid.UUID, str]]) -> int:
        """Heartbeat the presences of open presence sockets; how many were renewed."""
        if not pairs:
            return 0
        ttl = self.policy.ttl_s

        def work(conn: Connection) -> int:
            return len(store.renew_metas(conn, pairs, now=database_now(conn), ttl_s=ttl))

        return await self.database.write(work)

    # ------------------------------------------------------------------ lists

    async def party(self, caller: Caller, cursor: str | None, limit: int) -> Page:
        """The party rail: visible and party-only presences."""
        return await self._page(caller, cursor, limit, LISTED_IN["party"])

    async def grid(
        self,
        caller: Caller,
        cursor: str | None,
        limit: int,
        *,
        is_camera_on: bool | None = None,
        language: str | None = None,
        tag: str | None = None,
    ) -> Page:
        """The sniffers grid: visible presences, with the filters panel's filters."""
        return await self._page(
            caller,
            cursor,
            limit,
            LISTED_IN["grid"],
            is_camera_on=is_camera_on,
            language=language,
            tag=tag,
        )

    async def _page(
        self,
        caller: Caller,
        cursor: str | None,
        limit: int,
        visibilities: tuple[str, ...],
        **filters: Any,
    ) -> Page:
        try:
            after = decode_cursor(cursor) if cursor is not None else None
        except ValueError:
            raise invalid("query.cursor", "not a cursor of this list") from None
        query = store.ListQuery(
            viewer=caller.user_id,
            visibilities=visibilities,
            separated_modes=self.policy.separated_modes,
            limit=limit + 1,
            after=after,
            **filters,
        )

        def work(conn: Connection) -> Page:
            now = database_now(conn)
            rows = store.list_presences(conn, query, now=now)
            more, rows = len(rows) > limit, rows[:limit]
            metas = store.metas_of(conn, [r["user_id"] for r in rows], now=now)
            items = [Shown(r, metas.get(r["user_id"], [])) for r in rows]
            last = rows[-1] if more else None
            following = encode_cursor(last["last_seen_at"], last["user_id"]) if last else None
            return Page([i for i in items if i.metas], following)

        return await self.database.read(work)

    async def snapshot(self, caller: Caller) -> list[store.PresenceRow]:
        """What a new presence socket is sent: the caller's own presence, then the rail."""
        query = store.ListQuery(
            viewer=caller.user_id,
            visibilities=LISTED_IN["party"],
            separated_modes=self.policy.separated_modes,
            limit=_SNAPSHOT_LIMIT,
        )

        def work(conn: Connection) -> list[store.PresenceRow]:
            now = database_now(conn)
            own = store.get_presence(conn, caller.user_id)
            rows = [own] if own is not None and own["expires_at"] >= now else []
            return rows + store.list_presences(conn, query, now=now)

        return await self.database.read(work)

    async def visible(
        self, caller: Caller, user_ids: Sequence[uuid.UUID], visibilities: tuple[str, ...]
    ) -> dict[uuid.UUID, store.PresenceRow]:
        """Those of ``user_ids`` whose presence the caller may see in a list of ``visibilities``."""
        query = store.ListQuery(
            viewer=caller.user_id,
            visibilities=visibilities,
            separated_modes=self.policy.separated_modes,
            limit=len(user_ids) or 1,
            user_ids=tuple(user_ids),
        )

        def work(conn: Connection) -> dict[uuid.UUID, store.PresenceRow]:
            rows = store.list_presences(conn, query, now=database_now(conn))
            return {row["user_id"]: row for row in rows}

        return await self.database.read(work)

    async def blocks_of(self, user_id: uuid.UUID) -> set[uuid.UUID]:
        """Everyone ``user_id`` must not see (blocked either way)."""
        return await self.database.read(lambda conn: store.blocked_either_way(conn, user_id))

    # ------------------------------------------------------------------ expiry

    async def expire(self) -> int:
        """Remove metas past their TTL; presences left with none go, with their ``left``."""

        def work(conn: Connection, emit: Emit) -> int:
            now = database_now(conn)
            users = store.expire_metas(conn, now=now, limit=_EXPIRE_BATCH)
            remaining = store.metas_of(conn, users, now=now)
            for user in users:
                previous = store.get_presence(conn, user)
                if previous is None:
                    continue
                metas = remaining.get(user)
                if not metas:
                    store.delete_presence(conn, user)
                    emit(PRESENCE_CHANNEL, "presence.update", update_data(previous, "offline"))
                    continue
                row = store.write_presence(conn, user, metas, previous=previous, now=now)
                if store.Fields.of(previous) != store.Fields.of(row):
                    emit(PRESENCE_CHANNEL, "presence.update", update_data(row, "online"))
            return len(users)

        return await self.bus.write(work)
