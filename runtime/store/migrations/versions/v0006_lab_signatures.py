"""Control signatures accepted, shared by every process serving the LAB control API.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lab_signatures",
        sa.Column("signature", sa.String(64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("signature", name=op.f("pk_lab_signatures")),
    )
    op.create_index("ix_lab_signatures_used_at", "lab_signatures", ["used_at"])


def downgrade() -> None:
    op.drop_index("ix_lab_signatures_used_at", table_name="lab_signatures")
    op.drop_table("lab_signatures")
