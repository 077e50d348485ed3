"""The generated `SessionsHandlers` Protocol, implemented: wire models <-> the service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel

from generated.control_plane import models
from generated.control_plane.server import SessionsHandlers
from runtime.auth import Caller, caller_of
from runtime.idempotency import Answer, IdempotencyKeys, request_hash
from runtime.sessions.rules import cost_estimate, egress_gb_per_hour
from runtime.sessions.service import Requested, SessionService
from runtime.sessions.store import SessionRow

__all__ = ["SessionHandlers", "session_model"]

M = TypeVar("M", bound=BaseModel)


def session_model(row: SessionRow, *, now: datetime | None = None) -> models.Session:
    """The wire form of a session, with its cost so far (or in all, once ended)."""
    until = row["ended_at"] or now or datetime.now(UTC)
    estimate = cost_estimate(
        row["media_profile"],
        row["received_mbps"],
        row["concurrent_viewers"],
        row["created_at"],
        until,
    )
    return models.Session.model_validate(
        {
            "id": row["id"],
            "user_id": row["user_id"],
            "state": row["state"],
            "mode": row["mode"],
            "audience_type": row["audience_type"],
            "stream_transport": row["stream_transport"],
            "intent_label": row["intent_label"],
            "media_profile": row["media_profile"],
            "parent_session_id": row["parent_session_id"],
            "handover": row["handover"],
            "config_hash": row["config_hash"],
            "cost_tier": row["cost_tier"],
            "lease_expires_at": row["lease_expires_at"],
            "version": row["version"],
            "created_at": row["created_at"],
            "ended_at": row["ended_at"],
            "end_reason": row["end_reason"],
            "cost_estimate": {
                "media_profile": estimate.media_profile,
                "duration_s": estimate.duration_s,
                "received_mbps": estimate.received_mbps,
                "concurrent_viewers": estimate.concurrent_viewers,
                "estimated_egress_gb_per_hour": egress_gb_per_hour(
                    estimate.received_mbps, estimate.concurrent_viewers
                ),
                "estimated_egress_gb": estimate.estimated_egress_gb,
            },
        }
    )


def _wanted(body: models.CreateSessionRequest | models.TransitionSessionRequest) -> Requested:
    mode = body.mode if isinstance(body, models.CreateSessionRequest) else body.to_mode
    return Requested(
        mode=mode,
        audience_type=body.audience_type,
        stream_transport=body.stream_transport,
        intent_label=body.intent_label,
        media_profile=body.media_profile,
    )


class SessionHandlers:
    """Sessions over HTTP; every query is scoped to the caller."""

    def __init__(self, service: SessionService, keys: IdempotencyKeys) -> None:
        self.service, self.keys = service, keys

    async def _once(
        self,
        who: Caller,
        key: str | None,
        request: Callable[[], tuple[str, Any]],
        produce: Callable[[], Awaitable[M]],
        model: type[M],
    ) -> M:
        """``produce`` once per Idempotency-Key; a retry gets the first answer back.

        ``request`` describes what is asked (operation, then the values that matter),
        for the check that a retry asks the same.
        """
        if key is None:
            return await produce()
        operation, asked = request()

        async def answer() -> Answer:
            made = await produce()
            return Answer(201, made.model_dump(mode="json", by_alias=True, exclude_unset=True))

        digest = request_hash(operation, asked)
        first = await self.keys.run(who.user_id, operation, key, digest, answer)
        return model.model_validate(first.body)

    async def create_session(
        self, *, caller: Any, body: models.CreateSessionRequest, idempotency_key: str | None = None
    ) -> models.Session:
        """Create a session (once per Idempotency-Key)."""
        who = caller_of(caller)

        async def create() -> models.Session:
            return session_model(await self.service.create(who, _wanted(body)))

        def request() -> tuple[str, Any]:
            return "create_session", body.model_dump(mode="json", exclude_unset=True)

        return await self._once(who, idempotency_key, request, create, models.Session)

    async def get_session(self, *, caller: Any, session_id: UUID) -> models.Session:
        """Get a session."""
        return session_model(await self.service.get(caller_of(caller), session_id))

    async def transition_session(
        self,
        *,
        caller: Any,
        body: models.TransitionSessionRequest,
        session_id: UUID,
        idempotency_key: str | None = None,
    ) -> models.SessionTransition:
        """Transition a session to another mode (once per Idempotency-Key)."""
        who = caller_of(caller)

        async def move() -> models.SessionTransition:
            done = await self.service.transition(who, session_id, _wanted(body))
            return models.SessionTransition(
                ended=session_model(done.ended),
                session=session_model(done.session),
                handover=done.handover,
            )

        def request() -> tuple[str, Any]:
            asked = body.model_dump(mode="json", exclude_unset=True)
            return "transition_session", {"session_id": str(session_id), **asked}

        return await self._once(who, idempotency_key, request, move, models.SessionTransition)

    async def end_session(self, *, caller: Any, session_id: UUID) -> models.Session:
        """End a session."""
        return session_model(await self.service.end(caller_of(caller), session_id))

    async def heartbeat_session(self, *, caller: Any, session_id: UUID) -> models.SessionLease:
        """Renew a session's lease."""
        row = await self.service.heartbeat(caller_of(caller), session_id)
        lease = self.service.lease_s
        return models.SessionLease(
            session_id=row["id"],
            state=row["state"],
            version=row["version"],
            lease_expires_at=row["lease_expires_at"],
            lease_ttl_s=lease,
            heartbeat_interval_s=max(1, lease // 3),
        )


_: type[SessionsHandlers] = SessionHandlers  # the Protocol is implemented in full
