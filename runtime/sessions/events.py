"""The session events (session.created, session.ended) as the contract describes them."""

from __future__ import annotations

import uuid
from typing import Any

from runtime.sessions.store import SessionRow

__all__ = ["channel_of", "created_data", "ended_data"]


def channel_of(user_id: uuid.UUID) -> str:
    """The per-user channel behind /ws/sessions."""
    return f"sessions:{user_id}"


def created_data(row: SessionRow) -> dict[str, Any]:
    """The data of a session.created event."""
    return {
        "session_id": str(row["id"]),
        "mode": row["mode"],
        "media_profile": row["media_profile"],
        "parent_session_id": str(row["parent_session_id"]) if row["parent_session_id"] else None,
        "handover": row["handover"],
        "intent_label": row["intent_label"],
        "config_hash": row["config_hash"],
    }


def ended_data(row: SessionRow, next_session_id: uuid.UUID | None) -> dict[str, Any]:
    """The data of a session.ended event, once the session reached ended or failed."""
    return {
        "session_id": str(row["id"]),
        "mode": row["mode"],
        "final_state": row["state"],
        "end_reason": row["end_reason"],
        "next_session_id": str(next_session_id) if next_session_id else None,
        "cost_estimate": {
            "media_profile": row["media_profile"],
            "duration_s": float(row["duration_s"] or 0.0),
            "estimated_egress_gb": float(row["estimated_egress_gb"] or 0.0),
        },
    }
