"""An in-memory MediaProvider that records calls and can be told to fail."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from runtime.media.provider import Endpoints, MediaProviderError, TurnCredentials

__all__ = ["FakeMediaProvider"]


class FakeMediaProvider:
    """Records every call; ``fail_creates``/``fail_revokes`` make the next calls raise."""

    def __init__(self) -> None:
        self.created: list[tuple[uuid.UUID, str]] = []
        self.revoked: list[uuid.UUID] = []
        self.revoked_details: list[dict[str, str]] = []
        self.fail_revokes = 0
        self.fail_creates = 0

    async def create_webrtc_endpoints(self, session_id: uuid.UUID, profile_name: str) -> Endpoints:
        """Pretend to allocate endpoints, or fail while ``fail_creates`` is positive."""
        if self.fail_creates:
            self.fail_creates -= 1
            raise MediaProviderError("create refused (fake)")
        self.created.append((session_id, profile_name))
        return Endpoints(session_id, profile_name, {"provider": "fake"})

    async def revoke_endpoints(
        self, session_id: uuid.UUID, details: Mapping[str, str] | None = None
    ) -> None:
        """Record the revoke, or fail while ``fail_revokes`` is positive."""
        if self.fail_revokes:
            self.fail_revokes -= 1
            raise MediaProviderError("revoke refused (fake)")
        self.revoked.append(session_id)
        self.revoked_details.append(dict(details or {}))

    async def create_turn_credentials(self, session_id: uuid.UUID) -> TurnCredentials:
        """Fixed credentials valid for a day."""
        expires = datetime.now(UTC) + timedelta(days=1)
        return TurnCredentials(str(session_id), "fake", ("turn:127.0.0.1:3478",), expires)
