"""Thumbnail tiles: every tile (its cost log and revoke outbox) and the budget counters.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_REASONS = "'closed_by_viewer', 'out_of_viewport', 'presence_gone', 'provider_failed'"


def upgrade() -> None:
    op.create_table(
        "tiles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("viewer_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sa.String(length=64), nullable=False),
        sa.Column("media_profile", sa.String(length=64), nullable=False),
        sa.Column("device_class", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("bitrate_kbps", sa.Integer(), nullable=False),
        sa.Column("endpoints", sa.JSON(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("in_view_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.String(length=32), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoke_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("state IN ('open', 'closed')", name=op.f("ck_tiles_state")),
        sa.CheckConstraint(
            "device_class IN ('desktop', 'mobile')", name=op.f("ck_tiles_device_class")
        ),
        sa.CheckConstraint(
            f"close_reason IS NULL OR close_reason IN ({_REASONS})",
            name=op.f("ck_tiles_close_reason"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiles")),
    )
    op.create_index(
        "uq_tiles_open_pair",
        "tiles",
        ["viewer_id", "device_id", "user_id"],
        unique=True,
        postgresql_where=sa.text("state = 'open'"),
        sqlite_where=sa.text("state = 'open'"),
    )
    op.create_index("ix_tiles_state_in_view", "tiles", ["state", "in_view_until"])
    op.create_index("ix_tiles_opened_at", "tiles", ["opened_at"])
    op.create_table(
        "tile_budgets",
        sa.Column("viewer_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("open_tiles", sa.Integer(), nullable=False),
        sa.CheckConstraint("open_tiles >= 0", name=op.f("ck_tile_budgets_open_tiles")),
        sa.PrimaryKeyConstraint("viewer_id", "device_id", name=op.f("pk_tile_budgets")),
    )
    op.create_table(
        "tile_totals",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("open_tiles", sa.Integer(), nullable=False),
        sa.CheckConstraint("open_tiles >= 0", name=op.f("ck_tile_totals_open_tiles")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_tile_totals")),
    )


def downgrade() -> None:
    op.drop_table("tile_totals")
    op.drop_table("tile_budgets")
    op.drop_index("ix_tiles_opened_at", table_name="tiles")
    op.drop_index("ix_tiles_state_in_view", table_name="tiles")
    op.drop_index("uq_tiles_open_pair", table_name="tiles")
    op.drop_table("tiles")
