"""The opaque cursor of the presence lists: where the last page ended. Pure."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime

__all__ = ["decode_cursor", "encode_cursor"]


def encode_cursor(last_seen_at: datetime, user_id: uuid.UUID) -> str:
    """The cursor after a page ending with this presence."""
    raw = json.dumps([last_seen_at.isoformat(), str(user_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Where the next page starts; ``ValueError`` for a cursor this server never made."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        seen, user = json.loads(raw)
        moment = datetime.fromisoformat(seen)
        if moment.tzinfo is None:
            raise ValueError("naive time")
        return moment, uuid.UUID(user)
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError("not a cursor of this list") from exc
