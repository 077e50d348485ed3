"""Sessions, their outbox, audit events and sweeper leases.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_kind_at", ["kind", "at"], unique=False)

    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=64), nullable=False),
        sa.Column("audience_type", sa.String(length=32), nullable=False),
        sa.Column("stream_transport", sa.String(length=16), nullable=False),
        sa.Column("intent_label", sa.String(length=64), nullable=True),
        sa.Column("media_profile", sa.String(length=64), nullable=False),
        sa.Column("parent_session_id", sa.Uuid(), nullable=True),
        sa.Column("handover", sa.String(length=16), nullable=True),
        sa.Column("config_hash", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("received_mbps", sa.Float(), nullable=False),
        sa.Column("concurrent_viewers", sa.Integer(), server_default="1", nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("estimated_egress_gb", sa.Float(), nullable=True),
        sa.CheckConstraint(
            "handover IS NULL OR handover IN ('cut', 'crossfade', 'placeholder')",
            name=op.f("ck_sessions_handover"),
        ),
        sa.CheckConstraint(
            "state IN ('creating', 'active', 'ending', 'ended', 'failed')",
            name=op.f("ck_sessions_state"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_sessions_version")),
        sa.ForeignKeyConstraint(
            ["parent_session_id"],
            ["sessions.id"],
            name=op.f("fk_sessions_parent_session_id_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("parent_session_id", name=op.f("uq_sessions_parent_session_id")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sessions_state_lease", ["state", "lease_expires_at"], unique=False
        )
        batch_op.create_index("ix_sessions_user_state", ["user_id", "state"], unique=False)

    op.create_table(
        "sweeper_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sweeper_leases")),
    )
    op.create_table(
        "session_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('revoke_endpoints')", name=op.f("ck_session_outbox_kind")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_session_outbox_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_outbox")),
    )
    with op.batch_alter_table("session_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_session_outbox_pending", ["done_at", "failed_at", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_session_outbox_session_id"), ["session_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("session_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_outbox_session_id"))
        batch_op.drop_index("ix_session_outbox_pending")

    op.drop_table("session_outbox")
    op.drop_table("sweeper_leases")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_user_state")
        batch_op.drop_index("ix_sessions_state_lease")

    op.drop_table("sessions")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_kind_at")

    op.drop_table("audit_events")
