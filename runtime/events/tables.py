"""The event journal's tables: one sequence per channel, and payloads too big to notify."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table, Text, Uuid

from runtime.store.tables import metadata
from runtime.store.types import UtcDateTime

__all__ = ["event_channels", "event_payloads"]

# The last seq given on each channel: every process numbers a channel's events from here,
# so the numbers agree whichever process published.
event_channels = Table(
    "event_channels",
    metadata,
    Column("channel", String(200), primary_key=True),
    Column("seq", BigInteger, nullable=False),
)

# An event whose envelope is over what a PostgreSQL NOTIFY carries (8,000 bytes) is kept
# here, written in the publishing transaction; the notification carries its id.
event_payloads = Table(
    "event_payloads",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("channel", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_event_payloads_created_at", "created_at"),
)
