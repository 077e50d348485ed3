"""Presence: one presence per user, one meta per device, labels for the grid, blocks.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_VISIBILITY = "visibility IN ('visible', 'party_only', 'hidden')"


def _fields() -> list[sa.Column[object]]:
    return [
        sa.Column("presence_mode", sa.String(length=64), nullable=False),
        sa.Column("is_camera_on", sa.Boolean(), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("capabilities", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "presences",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("presence_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        *_fields(),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_VISIBILITY, name=op.f("ck_presences_visibility")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_presences")),
        sa.UniqueConstraint("presence_id", name=op.f("uq_presences_presence_id")),
    )
    op.create_index("ix_presences_visibility_seen", "presences", ["visibility", "last_seen_at"])
    op.create_index("ix_presences_expires_at", "presences", ["expires_at"])
    op.create_table(
        "presence_metas",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        *_fields(),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_VISIBILITY, name=op.f("ck_presence_metas_visibility")),
        sa.PrimaryKeyConstraint("user_id", "device_id", name=op.f("pk_presence_metas")),
    )
    op.create_index("ix_presence_metas_expires_at", "presence_metas", ["expires_at"])
    op.create_table(
        "presence_labels",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.CheckConstraint("kind IN ('language', 'tag')", name=op.f("ck_presence_labels_kind")),
        sa.PrimaryKeyConstraint("user_id", "kind", "value", name=op.f("pk_presence_labels")),
    )
    op.create_index(
        "ix_presence_labels_kind_value", "presence_labels", ["kind", "value", "user_id"]
    )
    op.create_table(
        "user_blocks",
        sa.Column("blocker_id", sa.Uuid(), nullable=False),
        sa.Column("blocked_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("blocker_id", "blocked_id", name=op.f("pk_user_blocks")),
    )
    op.create_index("ix_user_blocks_blocked_id", "user_blocks", ["blocked_id", "blocker_id"])


def downgrade() -> None:
    op.drop_index("ix_user_blocks_blocked_id", table_name="user_blocks")
    op.drop_table("user_blocks")
    op.drop_index("ix_presence_labels_kind_value", table_name="presence_labels")
    op.drop_table("presence_labels")
    op.drop_index("ix_presence_metas_expires_at", table_name="presence_metas")
    op.drop_table("presence_metas")
    op.drop_index("ix_presences_expires_at", table_name="presences")
    op.drop_index("ix_presences_visibility_seen", table_name="presences")
    op.drop_table("presences")
