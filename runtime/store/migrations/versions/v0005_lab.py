"""The LAB: discovered items, source health, plans, the queue, flags, reports, nightly runs.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "lab_items",
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("expected_sha256", sa.String(64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("discovered_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("content_hash", name=op.f("pk_lab_items")),
    )
    op.create_table(
        "lab_sources",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_failure_at", _TS, nullable=True),
        sa.Column("last_success_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_lab_sources")),
    )
    op.create_table(
        "lab_plans",
        sa.Column("plan_id", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("slot_start", _TS, nullable=False),
        sa.Column("slot_end", _TS, nullable=False),
        sa.Column("daypart", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("expected_sha256", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("fetched_path", sa.Text(), nullable=True),
        sa.Column("prepared_path", sa.Text(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("qa_score", sa.Float(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint(
            _in("state", ("planned", "fetched", "prepared", "queued", "rejected", "failed")),
            name=op.f("ck_lab_plans_state"),
        ),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_lab_plans")),
    )
    op.create_index("ix_lab_plans_state_slot", "lab_plans", ["state", "slot_start"])
    op.create_table(
        "lab_queue",
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("qa_score", sa.Float(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("offset_s", sa.Float(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("queued_at", _TS, nullable=False),
        sa.Column("started_at", _TS, nullable=True),
        sa.Column("finished_at", _TS, nullable=True),
        sa.CheckConstraint(
            _in("state", ("ready", "playing", "played", "failed")),
            name=op.f("ck_lab_queue_state"),
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_lab_queue")),
    )
    op.create_index("ix_lab_queue_state_position", "lab_queue", ["state", "position"])
    op.create_table(
        "lab_flags",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("since", _TS, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            _in(
                "name",
                (
                    "planner_paused",
                    "realizer_paused",
                    "discovery_paused",
                    "queue_frozen",
                    "emergency",
                ),
            ),
            name=op.f("ck_lab_flags_name"),
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_lab_flags")),
    )
    op.create_table(
        "lab_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            _in("kind", ("cycle", "nightly", "qa", "fallback")), name=op.f("ck_lab_reports_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_reports")),
    )
    op.create_index("ix_lab_reports_created_at", "lab_reports", ["created_at"])
    op.create_table(
        "lab_nightly_runs",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_at", _TS, nullable=False),
        sa.Column("started_at", _TS, nullable=True),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("report_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            _in("state", ("queued", "running", "succeeded", "failed")),
            name=op.f("ck_lab_nightly_runs_state"),
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_lab_nightly_runs")),
    )
    op.create_index("ix_lab_nightly_runs_state", "lab_nightly_runs", ["state"])
    op.create_table(
        "lab_state",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_lab_state")),
    )


def downgrade() -> None:
    op.drop_table("lab_state")
    op.drop_index("ix_lab_nightly_runs_state", table_name="lab_nightly_runs")
    op.drop_table("lab_nightly_runs")
    op.drop_index("ix_lab_reports_created_at", table_name="lab_reports")
    op.drop_table("lab_reports")
    op.drop_table("lab_flags")
    op.drop_index("ix_lab_queue_state_position", table_name="lab_queue")
    op.drop_table("lab_queue")
    op.drop_index("ix_lab_plans_state_slot", table_name="lab_plans")
    op.drop_table("lab_plans")
    op.drop_table("lab_sources")
    op.drop_table("lab_items")
