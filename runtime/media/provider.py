"""The MediaProvider port: the session orchestrator never knows which provider is behind it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

__all__ = ["Endpoints", "MediaProvider", "MediaProviderError", "TurnCredentials"]


class MediaProviderError(RuntimeError):
    """The provider refused or failed; the caller decides whether to retry."""


@dataclass(frozen=True)
class Endpoints:
    """What a client needs to connect its media for one session."""

    session_id: uuid.UUID
    profile_name: str
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TurnCredentials:
    """Time-limited TURN credentials."""

    username: str
    password: str
    urls: tuple[str, ...]
    expires_at: datetime


class MediaProvider(Protocol):
    """Creates and revokes media endpoints; adapters: local (aiortc), Cloudflare, fake."""

    async def create_webrtc_endpoints(self, session_id: uuid.UUID, profile_name: str) -> Endpoints:
        """Allocate the endpoints of a session at a profile's caps."""
        ...

    async def revoke_endpoints(
        self, session_id: uuid.UUID, details: Mapping[str, str] | None = None
    ) -> None:
        """Release a session's endpoints; revoking twice is not an error.

        ``details`` are the endpoints' details as recorded when they were made, so that
        a provider whose process restarted meanwhile can still find what to release.
        """
        ...

    async def create_turn_credentials(self, session_id: uuid.UUID) -> TurnCredentials:
        """TURN credentials for a session's participants."""
        ...
