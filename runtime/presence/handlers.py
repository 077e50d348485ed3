"""The generated `PresenceHandlers` Protocol, implemented: wire models <-> the service."""

from __future__ import annotations

from typing import Any

from generated.control_plane import models
from generated.control_plane.server import PresenceHandlers as PresenceProtocol
from runtime.auth import caller_of
from runtime.presence.service import Page, PresenceService, Shown
from runtime.presence.store import PresenceRow

__all__ = ["PresenceHandlers", "presence_model"]


def _meta(row: PresenceRow) -> dict[str, Any]:
    return {
        "device_id": row["device_id"],
        "presence_mode": row["presence_mode"],
        "is_camera_on": bool(row["is_camera_on"]),
        "visibility": row["visibility"],
        "last_seen_at": row["last_seen_at"],
        "expires_at": row["expires_at"],
    }


def presence_model(shown: Shown) -> models.Presence:
    """The wire form of a presence and its metas."""
    row = shown.row
    return models.Presence.model_validate(
        {
            "id": row["presence_id"],
            "user_id": row["user_id"],
            "presence_mode": row["presence_mode"],
            "is_camera_on": bool(row["is_camera_on"]),
            "visibility": row["visibility"],
            "capabilities": list(row["capabilities"]),
            "languages": list(row["languages"]),
            "tags": list(row["tags"]),
            "last_seen_at": row["last_seen_at"],
            "expires_at": row["expires_at"],
            "metas": [_meta(m) for m in shown.metas],
        }
    )


def _page(page: Page) -> models.PresencePage:
    return models.PresencePage(
        items=[presence_model(item) for item in page.items], next_cursor=page.next_cursor
    )


class PresenceHandlers:
    """Presence over HTTP; the lists are scoped to what the caller may see."""

    def __init__(self, service: PresenceService) -> None:
        self.service = service

    async def set_presence(
        self, *, caller: Any, body: models.SetPresenceRequest
    ) -> models.Presence:
        """Set the caller's presence on the device of their token."""
        fields = self.service.fields(
            body.presence_mode,
            is_camera_on=body.is_camera_on,
            visibility=body.visibility,
            capabilities=body.capabilities,
            languages=body.languages or (),
            tags=body.tags or (),
        )
        return presence_model(await self.service.update(caller_of(caller), fields))

    async def heartbeat_presence(self, *, caller: Any) -> models.PresenceHeartbeat:
        """Keep the caller's presence alive."""
        row = await self.service.heartbeat(caller_of(caller))
        return models.PresenceHeartbeat(
            presence_id=row["presence_id"],
            last_seen_at=row["last_seen_at"],
            expires_at=row["expires_at"],
            heartbeat_interval_s=self.service.policy.heartbeat_interval_s,
        )

    async def list_party_presence(
        self, *, caller: Any, cursor: str | None = None, limit: int | None = 50
    ) -> models.PresencePage:
        """Who is in the party."""
        return _page(await self.service.party(caller_of(caller), cursor, limit or 50))

    async def list_grid_presence(
        self,
        *,
        caller: Any,
        cursor: str | None = None,
        limit: int | None = 50,
        is_camera_on: bool | None = None,
        language: str | None = None,
        tag: str | None = None,
    ) -> models.PresencePage:
        """The sniffers grid."""
        page = await self.service.grid(
            caller_of(caller),
            cursor,
            limit or 50,
            is_camera_on=is_camera_on,
            language=language,
            tag=tag,
        )
        return _page(page)


_: type[PresenceProtocol] = PresenceHandlers  # the Protocol is implemented in full
