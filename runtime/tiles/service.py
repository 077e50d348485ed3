"""Tile use cases: open the visible set (or confirm it in view), close, expire, cost.

The budget is the backend's: a device's open tiles and the platform's are counters the
database moves by compare-and-set. Media endpoints are made outside any transaction,
after the slots are taken; a tile whose endpoints could not be made closes at once, and
one left behind by a process that died closes when its viewport deadline passes. Tiles
never carry audio: a profile with audio is refused before any endpoint exists, and
endpoints a provider reports with audio are revoked and refused.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.engine import Connection

from generated.config import ConfigBundle
from generated.server_support import ProblemError
from runtime.auth import Caller
from runtime.media import MediaProvider
from runtime.presence.service import PresenceService, device_of
from runtime.problem import invalid
from runtime.sessions.rules import EGRESS_GB_PER_HOUR_PER_MBPS
from runtime.store import Database
from runtime.store.clock import database_now
from runtime.tiles import store
from runtime.tiles.rules import HourCost, Surface, budget, hourly_costs, silent, surfaces

__all__ = ["Budget", "Outcome", "TilesPolicy", "TilesService"]

_log = structlog.get_logger(__name__)
_SWEEP_BATCH = 500  # chosen: tiles closed per sweep transaction


@dataclass(frozen=True)
class _Profile:
    bitrate_kbps: int
    max_per_viewer: int
    silent: bool


@dataclass(frozen=True)
class TilesPolicy:
    """What tiles run with under the cost tier in force."""

    surfaces: dict[str, Surface]
    profiles: dict[str, _Profile]
    tiles_active: dict[str, int]  # device class -> budget
    max_total: int
    in_view_ms: int

    @classmethod
    def from_config(cls, config: ConfigBundle) -> TilesPolicy:
        """The policy of a configuration bundle."""
        limits = config.limits.presence
        profiles = {
            name: _Profile(
                profile.caps.max_bitrate_kbps,
                profile.caps.max_per_viewer,
                silent(profile.caps.audio.enabled, profile.caps.audio.max_bitrate_kbps),
            )
            for name, profile in config.media.profiles.items()
        }
        return cls(
            surfaces=surfaces(config.modes.modes, config.modes.components),
            profiles=profiles,
            tiles_active={
                "desktop": limits.tiles_active.desktop,
                "mobile": limits.tiles_active.mobile,
            },
            max_total=config.kill_switches.max_presence_tiles_total,
            in_view_ms=limits.out_of_viewport_disconnect_ms,
        )


@dataclass(frozen=True)
class Outcome:
    """The answer for one listed user: a tile, or a refusal with a problem code."""

    user_id: uuid.UUID
    tile: store.TileRow | None = None
    code: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Budget:
    """A device's budget after a request."""

    device_class: str
    max_tiles: int
    open_tiles: int


@dataclass(frozen=True)
class _Asked:
    caller: Caller
    mode: str
    device_class: str
    surface: Surface
    profile: _Profile
    max_tiles: int
    user_ids: tuple[uuid.UUID, ...]


@dataclass
class _Plan:
    results: dict[uuid.UUID, Outcome] = field(default_factory=dict)
    new: list[store.TileRow] = field(default_factory=list)
    open_tiles: int = 0


def _recorder(tile_id: uuid.UUID, ok: bool) -> Callable[[Connection], None]:
    def work(conn: Connection) -> None:
        store.record_revoke(conn, tile_id, ok=ok, now=database_now(conn))

    return work


def _refused(user: uuid.UUID, code: str, detail: str) -> Outcome:
    return Outcome(user, code=code, detail=detail)


class TilesService:
    """Tiles over the store, the presence lists and the media provider."""

    def __init__(
        self,
        database: Database,
        provider: MediaProvider,
        presence: PresenceService,
        policy: TilesPolicy,
    ) -> None:
        self.database, self.provider, self.presence, self.policy = (
            database,
            provider,
            presence,
            policy,
        )

    async def open(
        self, caller: Caller, mode: str, device_class: str, user_ids: Sequence[uuid.UUID]
    ) -> tuple[list[Outcome], Budget]:
        """Open or confirm in view a tile per listed user, in order, within the budget."""
        if len(set(user_ids)) != len(user_ids):
            first = next(i for i, u in enumerate(user_ids) if u in user_ids[:i])
            raise invalid(f"/user_ids/{first}", "This user is listed twice.")
        surface = self.policy.surfaces.get(mode)
        if surface is None:
            message = (
                f"mode {mode!r} shows no tiles; one of {', '.join(sorted(self.policy.surfaces))}"
            )
            raise invalid("/mode", message)
        profile = self.policy.profiles[surface.media_profile]
        max_tiles = budget(self.policy.tiles_active[device_class], profile.max_per_viewer)
        if not profile.silent:
            # Configuration validation refuses this; fail closed should it ever get here.
            detail = f"profile {surface.media_profile!r} carries audio; thumbnails never do"
            outcomes = [_refused(u, "INTERNAL", detail) for u in user_ids]
            return outcomes, Budget(device_class, max_tiles, 0)
        visible = await self.presence.visible(caller, user_ids, surface.visibilities)
        asked = _Asked(caller, mode, device_class, surface, profile, max_tiles, tuple(user_ids))
        plan = await self.database.write(lambda conn: self._reserve(conn, asked, visible))
        made = await asyncio.gather(*(self._connect(tile) for tile in plan.new))
        for outcome in await self._record(plan.new, made):
            plan.results[outcome.user_id] = outcome
        lost = sum(1 for t in plan.new if plan.results[t["user_id"]].tile is None)
        open_now = plan.open_tiles - lost
        return [plan.results[u] for u in user_ids], Budget(device_class, max_tiles, open_now)

    def _reserve(self, conn: Connection, asked: _Asked, visible: dict[uuid.UUID, Any]) -> _Plan:
        caller, mode, device_class = asked.caller, asked.mode, asked.device_class
        surface, profile, max_tiles = asked.surface, asked.profile, asked.max_tiles
        user_ids = asked.user_ids
        now = database_now(conn)
        viewer, device = caller.user_id, device_of(caller)
        until = now + timedelta(milliseconds=self.policy.in_view_ms)
        plan = _Plan()
        # Only a tile this surface may show is confirmed: one opened in the party rail for a
        # party-only presence is not the sniffers grid's to keep alive (it shows visible
        # presences only), nor is one whose camera went off; those run out of view.
        showable = [
            u for u in user_ids if u != viewer and u in visible and visible[u]["is_camera_on"]
        ]
        confirmed = store.confirm_open(conn, viewer, device, showable, in_view_until=until)
        rechecked = False
        for user in user_ids:
            if user in confirmed:
                plan.results[user] = Outcome(user, tile=confirmed[user])
                continue
            presence = visible.get(user)
            if presence is None or user == viewer:
                plan.results[user] = _refused(
                    user, "NOT_FOUND", "No presence of this user for you to see here."
                )
                continue
            if not presence["is_camera_on"]:
                plan.results[user] = _refused(user, "CONFLICT", "This user's camera is off.")
                continue
            taken: str = store.reserve(
                conn, viewer, device, max_tiles=max_tiles, max_total=self.policy.max_total
            )
            if taken == "ok":
                tile = store.insert_tile(
                    conn,
                    {
                        "id": uuid.uuid4(),
                        "viewer_id": viewer,
                        "device_id": device,
                        "user_id": user,
                        "mode": mode,
                        "media_profile": surface.media_profile,
                        "device_class": device_class,
                        "bitrate_kbps": profile.bitrate_kbps,
                        "opened_at": now,
                        "in_view_until": until,
                    },
                )
                if tile is not None:
                    plan.new.append(tile)
                    continue
                store.release(conn, viewer, device)  # the pair's tile holds a slot already
                taken = "exists"
            if taken == "exists" or not rechecked:
                # Another process opened tiles for this device after ``confirmed`` was read
                # (PostgreSQL made this transaction wait for it on the budget's row or the
                # pair's index): those are granted, not refused as over budget. Read, not
                # locked (their deadline is as fresh as ours): this transaction holds the
                # budget's row, and taking tile rows after it could deadlock with a sweep.
                rechecked = True
                later = [u for u in showable[showable.index(user) :] if u not in confirmed]
                confirmed.update(store.open_tiles(conn, viewer, device, later))
                if user in confirmed:
                    plan.results[user] = Outcome(user, tile=confirmed[user])
                    continue
            plan.results[user] = self._refusal(user, taken, max_tiles, device_class)
        plan.open_tiles = store.open_count(conn, viewer, device)
        return plan

    @staticmethod
    def _refusal(user: uuid.UUID, taken: str, max_tiles: int, device_class: str) -> Outcome:
        """Why no slot was taken for ``user``."""
        if taken == "budget":
            detail = f"At most {max_tiles} tiles at once on {device_class}."
            return _refused(user, "LIMIT_EXCEEDED", detail)
        if taken == "total":
            return _refused(user, "KILL_SWITCH_ACTIVE", "The platform's tile total is reached.")
        # The pair's tile, opened by another process, closed again before it was confirmed.
        return _refused(user, "CONFLICT", "The tile closed while it was being opened.")

    async def _connect(self, tile: store.TileRow) -> Outcome | dict[str, str]:
        """Make a new tile's endpoints (no transaction open); close it when that fails."""
        user = tile["user_id"]
        try:
            endpoints = await self.provider.create_webrtc_endpoints(
                tile["id"], tile["media_profile"]
            )
        except Exception as exc:  # any provider failure: the tile closes, its slot returns
            _log.warning("tile endpoints not created", tile_id=str(tile["id"]), error=str(exc))
            await self._close(tile["id"], "provider_failed")
            return _refused(user, "PROVIDER_FAILED", "The media provider could not make the tile.")
        details = {"profile": endpoints.profile_name, **endpoints.details}
        if details.get("audio", "off") != "off":
            await self.provider.revoke_endpoints(tile["id"], details)
            await self._close(tile["id"], "provider_failed")
            return _refused(
                user, "INTERNAL", "The provider offered audio; thumbnails never carry it."
            )
        return details

    async def _record(
        self, new: Sequence[store.TileRow], made: Sequence[Outcome | dict[str, str]]
    ) -> list[Outcome]:
        """Store the endpoints made, in one unit of work; each new tile's outcome."""
        ready = {t["id"]: m for t, m in zip(new, made, strict=True) if isinstance(m, dict)}
        stored = (
            await self.database.write(lambda conn: store.set_endpoints(conn, ready))
            if ready
            else set()
        )
        outcomes: list[Outcome] = []
        for tile, result in zip(new, made, strict=True):
            if not isinstance(result, dict):
                outcomes.append(result)
            elif tile["id"] in stored:
                outcomes.append(Outcome(tile["user_id"], tile={**tile, "endpoints": result}))
            else:  # closed meanwhile (its deadline passed): release what was made
                await self.provider.revoke_endpoints(tile["id"], result)
                outcomes.append(
                    _refused(
                        tile["user_id"], "CONFLICT", "The tile closed before its media was ready."
                    )
                )
        return outcomes

    async def _close(self, tile_id: uuid.UUID, reason: str) -> store.TileRow | None:
        def work(conn: Connection) -> store.TileRow | None:
            return store.close_tile(conn, tile_id, None, reason, now=database_now(conn))

        return await self.database.write(work)

    async def close(self, caller: Caller, tile_id: uuid.UUID) -> store.TileRow:
        """Close one of the caller's tiles; closing a closed one returns it as it is."""

        def work(conn: Connection) -> tuple[store.TileRow | None, bool]:
            now = database_now(conn)
            closed = store.close_tile(conn, tile_id, caller.user_id, "closed_by_viewer", now=now)
            if closed is not None:
                return closed, True
            return store.get_tile(conn, tile_id, caller.user_id), False

        row, now_closed = await self.database.write(work)
        if row is None:
            raise ProblemError(404, "NOT_FOUND", "Not found", f"No tile {tile_id}.")
        if now_closed:
            self._log_cost(row)
            await self._revoke([row])
        return row

    async def expire(self) -> int:
        """Close tiles out of view too long or whose thumbnail is gone; revoke what is closed."""

        def work(conn: Connection) -> list[store.TileRow]:
            return store.close_due(conn, now=database_now(conn), limit=_SWEEP_BATCH)

        closed = await self.database.write(work)
        for row in closed:
            self._log_cost(row)
        pending = await self.database.read(
            lambda conn: store.pending_revokes(conn, limit=_SWEEP_BATCH)
        )
        await self._revoke(pending)
        return len(closed)

    async def _revoke(self, rows: Sequence[store.TileRow]) -> None:
        for row in rows:
            if not row["endpoints"]:
                continue
            try:
                await self.provider.revoke_endpoints(row["id"], row["endpoints"])
                ok = True
            except Exception as exc:  # retried by the next sweep, a bounded number of times
                _log.warning("tile revoke failed", tile_id=str(row["id"]), error=str(exc))
                ok = False
            await self.database.write(_recorder(row["id"], ok))

    def _log_cost(self, row: store.TileRow) -> None:
        """The cost log per viewer: tile time x the profile's bitrate, and its egress."""
        seconds = (row["closed_at"] - row["opened_at"]).total_seconds()
        mbps_hours = row["bitrate_kbps"] / 1000 * seconds / 3600
        _log.info(
            "tile closed",
            tile_id=str(row["id"]),
            viewer_id=str(row["viewer_id"]),
            mode=row["mode"],
            media_profile=row["media_profile"],
            reason=row["close_reason"],
            seconds=round(seconds, 3),
            bitrate_kbps=row["bitrate_kbps"],
            estimated_egress_gb=round(EGRESS_GB_PER_HOUR_PER_MBPS * mbps_hours, 6),
        )

    async def hourly_costs(self, since: datetime, until: datetime) -> list[HourCost]:
        """Tile time and estimated egress per mode per hour (the cost dashboard reads it)."""
        rows = await self.database.read(
            lambda conn: store.usage_rows(conn, since=since, until=until)
        )
        return hourly_costs(rows, since=since, until=until)
