"""The presence.update event as the contract describes it, and its one bus channel."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

__all__ = ["PRESENCE_CHANNEL", "as_offline", "update_data"]

# One channel for every presence change: each socket hub filters what its viewers may
# see (blocks, hidden), so a change is published once, not once per viewer.
PRESENCE_CHANNEL = "presence"


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def update_data(row: Mapping[Any, Any], state: Literal["online", "offline"]) -> dict[str, Any]:
    """The data of a presence.update for a presence row."""
    return {
        "presence_id": str(row["presence_id"]),
        "user_id": str(row["user_id"]),
        "state": state,
        "presence_mode": row["presence_mode"],
        "is_camera_on": bool(row["is_camera_on"]) if state == "online" else False,
        "last_seen_at": _rfc3339(row["last_seen_at"]),
        "visibility": row["visibility"],
        "capabilities": list(row["capabilities"]) if state == "online" else [],
    }


def as_offline(data: Mapping[str, Any]) -> dict[str, Any]:
    """What someone who may not see a presence (now hidden) receives: it went offline."""
    return {**data, "state": "offline", "is_camera_on": False, "capabilities": []}
