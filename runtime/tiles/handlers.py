"""The generated `TilesHandlers` Protocol, implemented: wire models <-> the service."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from generated.control_plane import models
from generated.control_plane.server import TilesHandlers as TilesProtocol
from runtime.auth import caller_of
from runtime.tiles.service import Outcome, TilesService
from runtime.tiles.store import TileRow

__all__ = ["TilesHandlers", "tile_model"]


def tile_model(row: TileRow) -> models.Tile:
    """The wire form of a tile (thumbnails never carry audio: ``audio`` is always false)."""
    return models.Tile.model_validate(
        {
            "id": row["id"],
            "user_id": row["user_id"],
            "mode": row["mode"],
            "media_profile": row["media_profile"],
            "device_class": row["device_class"],
            "state": row["state"],
            "audio": False,
            "endpoints": dict(row["endpoints"] or {}),
            "opened_at": row["opened_at"],
            "in_view_until": row["in_view_until"],
            "closed_at": row["closed_at"],
            "close_reason": row["close_reason"],
        }
    )


def _result(outcome: Outcome) -> models.TileGranted | models.TileRefused:
    if outcome.tile is not None:
        return models.TileGranted(
            status="granted", user_id=outcome.user_id, tile=tile_model(outcome.tile)
        )
    return models.TileRefused.model_validate(
        {
            "status": "refused",
            "user_id": outcome.user_id,
            "problem": {"code": outcome.code, "detail": outcome.detail or ""},
        }
    )


class TilesHandlers:
    """Tiles over HTTP, each scoped to the caller's device."""

    def __init__(self, service: TilesService) -> None:
        self.service = service

    async def open_tiles(self, *, caller: Any, body: models.OpenTilesRequest) -> models.TileSet:
        """Open the tiles in view (or confirm the open ones)."""
        outcomes, budget = await self.service.open(
            caller_of(caller), body.mode, body.device_class, body.user_ids
        )
        return models.TileSet.model_validate(
            {
                "items": [_result(o) for o in outcomes],
                "budget": {
                    "device_class": budget.device_class,
                    "max_tiles": budget.max_tiles,
                    "open_tiles": budget.open_tiles,
                },
            }
        )

    async def close_tile(self, *, caller: Any, tile_id: UUID) -> models.Tile:
        """Close a tile."""
        return tile_model(await self.service.close(caller_of(caller), tile_id))


_: type[TilesProtocol] = TilesHandlers  # the Protocol is implemented in full
