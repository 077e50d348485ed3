"""Presence's tables: one presence per user, one meta per device, its labels, and blocks."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
)

from runtime.store.tables import metadata
from runtime.store.types import UtcDateTime

__all__ = ["VISIBILITIES", "presence_labels", "presence_metas", "presences", "user_blocks"]

VISIBILITIES = ("visible", "party_only", "hidden")  # control-plane.yaml: PresenceVisibility
_VISIBILITY = f"visibility IN ({', '.join(repr(v) for v in VISIBILITIES)})"


def _fields() -> list[Column[object]]:
    """What a device says of its user's presence (a meta's, and a presence's own)."""
    return [
        Column("presence_mode", String(64), nullable=False),
        Column("is_camera_on", Boolean, nullable=False),
        Column("visibility", String(16), nullable=False),
        Column("capabilities", JSON, nullable=False),
        Column("languages", JSON, nullable=False),
        Column("tags", JSON, nullable=False),
    ]


# The user's presence as the lists show it: the fields of the meta set last, seen and
# expiring with the freshest meta. Gone when its last meta expires.
presences = Table(
    "presences",
    metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("presence_id", Uuid, nullable=False, unique=True),
    Column("device_id", String(128), nullable=False),  # the meta whose fields these are
    *_fields(),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint(_VISIBILITY, name="visibility"),
    Index("ix_presences_visibility_seen", "visibility", "last_seen_at"),
    Index("ix_presences_expires_at", "expires_at"),
)

# One row per device of a present user: two devices are one presence with two metas.
presence_metas = Table(
    "presence_metas",
    metadata,
    Column("user_id", Uuid, nullable=False),
    Column("device_id", String(128), nullable=False),
    *_fields(),
    Column("set_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("user_id", "device_id"),
    CheckConstraint(_VISIBILITY, name="visibility"),
    Index("ix_presence_metas_expires_at", "expires_at"),
)

# The grid's filters by language and tag, one row per value (portable, indexed).
presence_labels = Table(
    "presence_labels",
    metadata,
    Column("user_id", Uuid, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", String(64), nullable=False),
    PrimaryKeyConstraint("user_id", "kind", "value"),
    CheckConstraint("kind IN ('language', 'tag')", name="kind"),
    Index("ix_presence_labels_kind_value", "kind", "value", "user_id"),
)

# Blocks, mutual in effect: neither user sees the other. Filled by the moderation issue;
# every presence query already honours it.
user_blocks = Table(
    "user_blocks",
    metadata,
    Column("blocker_id", Uuid, nullable=False),
    Column("blocked_id", Uuid, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("blocker_id", "blocked_id"),
    Index("ix_user_blocks_blocked_id", "blocked_id", "blocker_id"),
)
