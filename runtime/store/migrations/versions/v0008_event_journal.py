"""The event journal: a sequence per channel, and payloads too big for a NOTIFY.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_channels",
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_event_channels")),
    )
    op.create_table(
        "event_payloads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_payloads")),
    )
    op.create_index("ix_event_payloads_created_at", "event_payloads", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_event_payloads_created_at", table_name="event_payloads")
    op.drop_table("event_payloads")
    op.drop_table("event_channels")
