"""The LAB's tables, on the platform's one schema (``runtime.store.tables.metadata``).

Migration 0005 creates them; every stage's hand-over is a row, so a restart
recovers the queue, the plans in flight and the operator's flags.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
)

from runtime.store.tables import metadata
from runtime.store.types import UtcDateTime

__all__ = [
    "FLAGS",
    "PLAN_STATES",
    "QUEUE_STATES",
    "REPORT_KINDS",
    "lab_flags",
    "lab_items",
    "lab_nightly_runs",
    "lab_plans",
    "lab_queue",
    "lab_reports",
    "lab_signatures",
    "lab_sources",
    "lab_state",
]

PLAN_STATES = ("planned", "fetched", "prepared", "queued", "rejected", "failed")
QUEUE_STATES = ("ready", "playing", "played", "failed")
REPORT_KINDS = ("cycle", "nightly", "qa", "fallback")
FLAGS = (
    "planner_paused",
    "realizer_paused",
    "discovery_paused",
    "queue_frozen",
    "emergency",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# Every item a source ever offered, recorded once by its content hash.
lab_items = Table(
    "lab_items",
    metadata,
    Column("content_hash", String(64), primary_key=True),
    Column("source", String(128), nullable=False),
    Column("uri", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("size_bytes", Integer),
    Column("duration_s", Float),
    Column("expected_sha256", String(64)),
    Column("details", JSON, nullable=False),
    Column("discovered_at", UtcDateTime, nullable=False),
)

# Health of each discovery source: consecutive failures raise the discovery alert.
lab_sources = Table(
    "lab_sources",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    Column("total_failures", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("last_failure_at", UtcDateTime),
    Column("last_success_at", UtcDateTime),
)

lab_plans = Table(
    "lab_plans",
    metadata,
    Column("plan_id", String(64), primary_key=True),
    Column("content_hash", String(64), nullable=False),
    Column("source", String(128), nullable=False),
    Column("uri", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("slot_start", UtcDateTime, nullable=False),
    Column("slot_end", UtcDateTime, nullable=False),
    Column("daypart", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("expected_sha256", String(64)),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("fetched_path", Text),
    Column("prepared_path", Text),
    Column("duration_s", Float),
    Column("qa_score", Float),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint(_in("state", PLAN_STATES), name="state"),
    Index("ix_lab_plans_state_slot", "state", "slot_start"),
)

# Ready items in airing order; ``offset_s`` is how far a playing item got, so a
# restart resumes it there: nothing is lost or aired twice.
lab_queue = Table(
    "lab_queue",
    metadata,
    Column("item_id", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("source", String(128), nullable=False),
    Column("title", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("qa_score", Float),
    Column("state", String(16), nullable=False),
    Column("offset_s", Float, nullable=False, server_default="0"),
    Column("error", Text),
    Column("queued_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    CheckConstraint(_in("state", QUEUE_STATES), name="state"),
    Index("ix_lab_queue_state_position", "state", "position"),
)

# Operator commands set these; the orchestrator reads them every tick and at boot.
lab_flags = Table(
    "lab_flags",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("since", UtcDateTime),
    Column("reason", Text),
    CheckConstraint(_in("name", FLAGS), name="name"),
)

lab_reports = Table(
    "lab_reports",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("body", JSON, nullable=False),
    CheckConstraint(_in("kind", REPORT_KINDS), name="kind"),
    Index("ix_lab_reports_created_at", "created_at"),
)

lab_nightly_runs = Table(
    "lab_nightly_runs",
    metadata,
    Column("run_id", Uuid, primary_key=True),
    Column("forced", Boolean, nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", Text),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("report_id", Uuid),
    CheckConstraint(_in("state", ("queued", "running", "succeeded", "failed")), name="state"),
    Index("ix_lab_nightly_runs_state", "state"),
)

# Control signatures accepted in the last skew windows: a replay is refused whichever
# process serving the API it reaches.
lab_signatures = Table(
    "lab_signatures",
    metadata,
    Column("signature", String(64), primary_key=True),
    Column("used_at", UtcDateTime, nullable=False),
    Index("ix_lab_signatures_used_at", "used_at"),
)

# Snapshots the orchestrator publishes for other processes (the transmitter's status).
lab_state = Table(
    "lab_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
