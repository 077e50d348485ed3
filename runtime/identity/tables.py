"""Identity's tables on the one schema: accounts, refresh tokens, sign-in links, throttles."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    false,
)

from runtime.store.tables import metadata
from runtime.store.types import UtcDateTime

__all__ = ["ROLES", "accounts", "auth_throttle", "magic_links", "refresh_tokens", "socket_tickets"]

# The contract's Role enum (control-plane.yaml, components/schemas/Role), lowest first.
ROLES = ("user", "moderator", "admin")

accounts = Table(
    "accounts",
    metadata,
    Column("id", Uuid, primary_key=True),
    # Stored lower-cased: one account per address whatever its case at sign-in.
    Column("email", String(254), nullable=False, unique=True),
    Column("display_name", String(64), nullable=False),
    # argon2id, PHC string format; NULL for an account that signs in by link only.
    Column("password_hash", Text),
    Column("role", String(16), nullable=False, server_default="user"),
    Column("age_verified", Boolean, nullable=False, server_default=false()),
    Column("consent_confirmed", Boolean, nullable=False, server_default=false()),
    Column("reputation", Integer, nullable=False, server_default="0"),
    # Banned when banned_at is set and banned_until is NULL (for good) or still ahead.
    Column("banned_at", UtcDateTime),
    Column("banned_until", UtcDateTime),
    # A moderator's quarantine; new accounts are quarantined by their age as well.
    Column("quarantined_until", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint(f"role IN ({', '.join(repr(r) for r in ROLES)})", name="role"),
)

# Refresh tokens rotate on every use; the ones issued from one sign-in are a family, and a
# used token presented again revokes the whole family (OAuth 2.0 Security BCP, 4.14.2).
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("family_id", Uuid, nullable=False, index=True),
    Column("user_id", Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    # SHA-256 of the token: it carries 256 random bits, so a fast hash is enough.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("device_id", String(128)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Index("ix_refresh_tokens_expires_at", "expires_at"),
)

# Single-use sign-in links, kept hashed; a redeemed or expired link never works again.
magic_links = Table(
    "magic_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
    Column("used_at", UtcDateTime),
)

# Failed sign-ins per key (an account's address, a client address) in a fixed window;
# one upsert counts a failure, so every process sees the same count.
auth_throttle = Table(
    "auth_throttle",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("window_start", UtcDateTime, nullable=False, index=True),
    Column("failures", Integer, nullable=False),
)

# Short-lived single-use tickets for browsers, which cannot set headers on a WebSocket.
socket_tickets = Table(
    "socket_tickets",
    metadata,
    Column("ticket_hash", String(64), primary_key=True),
    Column("user_id", Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("device_id", String(128)),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
    # The access token's own expiry: a socket opened with the ticket closes then.
    Column("token_expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
)
