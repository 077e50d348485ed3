"""Tiles' tables: every tile (open and closed, for the cost log) and the budgets' counters."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    text,
)

from runtime.store.tables import metadata
from runtime.store.types import UtcDateTime

__all__ = ["CLOSE_REASONS", "tile_budgets", "tile_totals", "tiles"]

# control-plane.yaml: TileCloseReason
CLOSE_REASONS = ("closed_by_viewer", "out_of_viewport", "presence_gone", "provider_failed")

tiles = Table(
    "tiles",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("viewer_id", Uuid, nullable=False),
    Column("device_id", String(128), nullable=False),
    Column("user_id", Uuid, nullable=False),  # whose thumbnail
    Column("mode", String(64), nullable=False),
    Column("media_profile", String(64), nullable=False),
    Column("device_class", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("bitrate_kbps", Integer, nullable=False),  # the profile's cap when it opened
    Column("endpoints", JSON),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("in_view_until", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    Column("close_reason", String(32)),
    # The revoke of a closed tile's endpoints: this row is its outbox.
    Column("revoked_at", UtcDateTime),
    Column("revoke_attempts", Integer, nullable=False, server_default="0"),
    CheckConstraint("state IN ('open', 'closed')", name="state"),
    CheckConstraint("device_class IN ('desktop', 'mobile')", name="device_class"),
    CheckConstraint(
        f"close_reason IS NULL OR close_reason IN ({', '.join(repr(r) for r in CLOSE_REASONS)})",
        name="close_reason",
    ),
    # One open tile per viewer's device and user: opening it again confirms it in view.
    Index(
        "uq_tiles_open_pair",
        "viewer_id",
        "device_id",
        "user_id",
        unique=True,
        postgresql_where=text("state = 'open'"),
        sqlite_where=text("state = 'open'"),
    ),
    Index("ix_tiles_state_in_view", "state", "in_view_until"),
    Index("ix_tiles_opened_at", "opened_at"),
)

# Open tiles per viewer's device, raised and lowered by compare-and-set, so two
# processes opening tiles for one device at once never pass its budget together.
tile_budgets = Table(
    "tile_budgets",
    metadata,
    Column("viewer_id", Uuid, nullable=False),
    Column("device_id", String(128), nullable=False),
    Column("open_tiles", Integer, nullable=False),
    PrimaryKeyConstraint("viewer_id", "device_id"),
    CheckConstraint("open_tiles >= 0", name="open_tiles"),
)

# Open tiles on the whole platform, against max_presence_tiles_total (one row).
tile_totals = Table(
    "tile_totals",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("open_tiles", Integer, nullable=False),
    CheckConstraint("open_tiles >= 0", name="open_tiles"),
)
