"""The database schema, one SQLAlchemy Core table per concept; alembic migrates it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
)

from runtime.store.types import UtcDateTime

__all__ = [
    "SESSION_STATES",
    "audit_events",
    "idempotency_keys",
    "metadata",
    "session_outbox",
    "sessions",
    "sweeper_leases",
]

# Stable constraint names, so migrations can refer to them on every backend.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

SESSION_STATES = ("creating", "active", "ending", "ended", "failed")
_HANDOVERS = ("cut", "crossfade", "placeholder")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


sessions = Table(
    "sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("state", String(16), nullable=False),
    Column("mode", String(64), nullable=False),
    Column("audience_type", String(32), nullable=False),
    Column("stream_transport", String(16), nullable=False),
    Column("intent_label", String(64)),
    Column("media_profile", String(64), nullable=False),
    # A unique successor: two racing transitions can never both create one.
    Column("parent_session_id", Uuid, ForeignKey("sessions.id"), unique=True),
    Column("handover", String(16)),
    Column("config_hash", String(80), nullable=False),
    Column("cost_tier", String(32), nullable=False, server_default="COST_LOW"),
    # Fencing: every state or lease change bumps it and is matched on it.
    Column("version", Integer, nullable=False, server_default="1"),
    Column("lease_expires_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    Column("end_reason", String(32)),
    Column("received_mbps", Float, nullable=False),
    Column("concurrent_viewers", Integer, nullable=False, server_default="1"),
    Column("duration_s", Float),
    Column("estimated_egress_gb", Float),
    # The provider's endpoints once created: the provider name and its details.
    Column("media", JSON),
    CheckConstraint(_in("state", SESSION_STATES), name="state"),
    CheckConstraint(f"handover IS NULL OR {_in('handover', _HANDOVERS)}", name="handover"),
    CheckConstraint("version >= 1", name="version"),
    Index("ix_sessions_user_state", "user_id", "state"),
    Index("ix_sessions_state_lease", "state", "lease_expires_at"),
)

# Side effects on other systems (media revoke) are written here in the same transaction
# as the state change, then carried out and retried idempotently.
session_outbox = Table(
    "session_outbox",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("session_id", Uuid, ForeignKey("sessions.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime),
    Column("failed_at", UtcDateTime),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint(_in("kind", ("revoke_endpoints",)), name="kind"),
    Index("ix_session_outbox_pending", "done_at", "failed_at", "next_attempt_at"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("subject", String(128), nullable=False),
    Column("payload", JSON, nullable=False),
    Index("ix_audit_events_kind_at", "kind", "at"),
)

# One holder at a time per name (for example the session sweeper), across processes.
sweeper_leases = Table(
    "sweeper_leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

# A retried request with the same Idempotency-Key gets the first answer (contract:
# IdempotencyKey). A row without ``status`` is a first attempt still under way.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("operation", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer),
    Column("body", JSON),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_idempotency_keys_created_at", "created_at"),
)
