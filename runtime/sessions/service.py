"""Session use cases: create, get, transition, end, heartbeat. Talks only to its ports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.engine import Connection

from generated.config import ConfigBundle
from generated.server_support import ProblemError
from runtime.auth import Caller
from runtime.events import EventBus
from runtime.media import MediaProvider
from runtime.problem import invalid
from runtime.sessions.events import channel_of, created_data
from runtime.sessions.rules import handover_between, received_mbps
from runtime.sessions.store import (
    NewSession,
    SessionRow,
    activate,
    begin_end,
    fail_creating,
    get_session,
    insert_session,
    renew_lease,
    transition,
)
from runtime.store import Database
from runtime.store.clock import database_now

__all__ = ["Requested", "SessionService", "Transitioned"]

_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Requested:
    """What a caller asks for when entering a mode."""

    mode: str
    audience_type: str | None = None
    stream_transport: str | None = None
    intent_label: str | None = None
    media_profile: str | None = None


@dataclass(frozen=True)
class Transitioned:
    """The ended session, its successor and how the client should hand over."""

    ended: SessionRow
    session: SessionRow
    handover: str


def _provider_failed() -> ProblemError:
    return ProblemError(
        502,
        "PROVIDER_FAILED",
        "Media provider failed",
        "The media provider could not create WebRTC endpoints; retry.",
    )


def _not_found(session_id: uuid.UUID) -> ProblemError:
    return ProblemError(404, "NOT_FOUND", "Not found", f"no session {session_id}")


class SessionService:
    """The session orchestrator's use cases, over one store and one configuration."""

    def __init__(
        self,
        database: Database,
        config: ConfigBundle,
        events: EventBus,
        provider: MediaProvider,
        *,
        lease_s: int,
    ) -> None:
        self.database, self.config, self.events = database, config, events
        self.provider, self.lease_s = provider, lease_s

    async def _announce(self, row: SessionRow) -> None:
        await self.events.publish(channel_of(row["user_id"]), "session.created", created_data(row))

    def _plan(self, caller: Caller, wanted: Requested) -> dict[str, Any]:
        """Everything a new session records but its lease, checked against the config."""
        mode = self.config.modes.modes.get(wanted.mode)
        if mode is None:
            raise invalid("/mode", f"unknown mode {wanted.mode!r}")
        if mode.policies.consent_required:
            # Call modes open only through their consent flow (matching, an accepted invite).
            raise ProblemError(
                403,
                "CONSENT_REQUIRED",
                "Consent required",
                f"{wanted.mode} sessions start from an accepted invite or a match",
            )
        profile_name = wanted.media_profile or mode.media_profiles[0]
        profile = self.config.media.profiles.get(profile_name)
        if profile is None or profile_name not in mode.media_profiles:
            # Before any media endpoint exists: nothing to clean up.
            raise invalid(
                "/media_profile", f"media profile {profile_name!r} is not one of {wanted.mode}'s"
            )
        caps = profile.caps
        return dict(
            user_id=caller.user_id,
            mode=wanted.mode,
            audience_type=wanted.audience_type or mode.audience_type,
            stream_transport=wanted.stream_transport or mode.stream_transport,
            intent_label=wanted.intent_label or wanted.mode,
            media_profile=profile_name,
            config_hash=self.config.config_hash,
            cost_tier=self.config.tier,
            received_mbps=received_mbps(
                caps.max_bitrate_kbps, caps.audio.max_bitrate_kbps, caps.audio.enabled
            ),
        )

    async def create(self, caller: Caller, wanted: Requested) -> SessionRow:
        """A new active session with a lease from the database clock."""
        plan = self._plan(caller, wanted)
        state = self._first_state(plan)

        def work(conn: Connection) -> SessionRow:
            now = database_now(conn)
            new = NewSession(**plan, lease_expires_at=now + timedelta(seconds=self.lease_s))
            return insert_session(conn, new, now=now, state=state)

        created = await self._with_media(await self.database.write(work))
        await self._announce(created)  # after the commit: never an event for a rollback
        return created

    def _first_state(self, plan: dict[str, Any]) -> str:
        """``creating`` while WebRTC endpoints are made; HLS sessions need none."""
        profile = self.config.media.profiles[plan["media_profile"]]
        return "creating" if profile.transport == "webrtc" else "active"

    async def _with_media(self, row: SessionRow) -> SessionRow:
        """Create a ``creating`` session's endpoints (no transaction open), then activate it.

        If the provider fails, the session fails with a revoke queued for anything it
        half made, and the caller gets 502. If this process dies in between, the
        sweeper fails the session once its lease runs out, the same way.
        """
        if row["state"] != "creating":
            return row
        try:
            endpoints = await self.provider.create_webrtc_endpoints(row["id"], row["media_profile"])
        except Exception as exc:  # any provider failure: nothing half-made survives
            await self.database.write(lambda conn: fail_creating(conn, row, now=database_now(conn)))
            _log.warning("media endpoints not created", session_id=str(row["id"]), error=str(exc))
            raise _provider_failed() from exc
        media = {"profile": endpoints.profile_name, **endpoints.details}
        activated = await self.database.write(lambda conn: activate(conn, row["id"], media))
        if activated is None:  # the sweeper failed it first: its lease ran out meanwhile
            await self.provider.revoke_endpoints(row["id"], media)
            raise _provider_failed()
        return activated

    async def get(self, caller: Caller, session_id: uuid.UUID) -> SessionRow:
        """The caller's session; anyone else's reads as absent."""
        row = await self.database.read(lambda conn: get_session(conn, session_id, caller.user_id))
        if row is None:
            raise _not_found(session_id)
        return row

    async def transition(
        self, caller: Caller, session_id: uuid.UUID, wanted: Requested
    ) -> Transitioned:
        """End the session and start its successor in one transaction; one winner only."""
        current = await self.get(caller, session_id)
        mode = self.config.modes.modes.get(current["mode"])
        allowed = {t.to: t.handover for t in (mode.transitions if mode else [])}
        handover = handover_between(allowed, wanted.mode)
        if handover is None:
            raise ProblemError(
                409,
                "INVALID_TRANSITION",
                "Invalid transition",
                f"{current['mode']} does not lead to {wanted.mode}",
            )
        plan = self._plan(caller, wanted)
        state = self._first_state(plan)

        def work(conn: Connection) -> tuple[SessionRow, SessionRow] | None:
            now = database_now(conn)
            lease = now + timedelta(seconds=self.lease_s)
            successor = NewSession(**plan, lease_expires_at=lease, handover=handover)
            return transition(conn, session_id, caller.user_id, successor, now=now, state=state)

        result = await self.database.write(work)
        if result is None:
            raise ProblemError(
                409,
                "INVALID_TRANSITION",
                "Invalid transition",
                f"session {session_id} is no longer active",
            )
        successor = await self._with_media(result[1])
        await self._announce(successor)
        return Transitioned(result[0], successor, handover)

    async def end(self, caller: Caller, session_id: uuid.UUID) -> SessionRow:
        """End the session; ending one that already left ``active`` returns it as it is."""

        def work(conn: Connection) -> SessionRow | None:
            now = database_now(conn)
            return begin_end(conn, session_id, caller.user_id, reason="user_ended", now=now)

        ended = await self.database.write(work)
        if ended is not None:
            return ended
        current = await self.get(caller, session_id)
        if current["state"] == "creating":
            raise ProblemError(
                409,
                "INVALID_TRANSITION",
                "Invalid transition",
                f"session {session_id} is still creating its media endpoints",
            )
        return current

    async def heartbeat(self, caller: Caller, session_id: uuid.UUID) -> SessionRow:
        """Renew the lease from the database clock; a late heartbeat is refused."""

        def work(conn: Connection) -> SessionRow | None:
            now = database_now(conn)
            return renew_lease(conn, session_id, caller.user_id, now=now, ttl_s=self.lease_s)

        renewed = await self.database.write(work)
        if renewed is None:
            current = await self.get(caller, session_id)
            raise ProblemError(
                409,
                "INVALID_TRANSITION",
                "Lease not renewed",
                f"session {session_id} is {current['state']}"
                + (" and its lease ran out" if current["state"] == "active" else ""),
            )
        return renewed
