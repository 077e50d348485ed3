"""Pure rules of identity: bans, quarantine, sign-in throttling, opaque token shapes. No I/O.

Roles and what each holds are in ``runtime.auth.roles`` (the guard checks them).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

__all__ = [
    "digest",
    "is_banned",
    "new_opaque_token",
    "normalize_email",
    "quarantined_until",
    "retry_after_s",
]


def normalize_email(email: str) -> str:
    """The form accounts are stored and looked up by (case and outer spaces ignored)."""
    return email.strip().lower()


def is_banned(banned_at: datetime | None, banned_until: datetime | None, now: datetime) -> bool:
    """Banned for good (no end) or until a time still ahead."""
    return banned_at is not None and (banned_until is None or banned_until > now)


def quarantined_until(
    created_at: datetime,
    new_account_days: int,
    moderator_until: datetime | None,
    now: datetime,
) -> datetime | None:
    """The end of the quarantine in force: new account (cost-tiers.yaml) or moderator's."""
    ends = [created_at + timedelta(days=new_account_days)]
    if moderator_until is not None:
        ends.append(moderator_until)
    end = max(ends)
    return end if end > now else None


def retry_after_s(window_start: datetime, window_s: float, now: datetime) -> int:
    """Whole seconds until a throttle window closes (at least 1)."""
    left = (window_start + timedelta(seconds=window_s) - now).total_seconds()
    return max(1, int(left + 0.999))


def new_opaque_token(prefix: str) -> str:
    """A bearer secret of 256 random bits (refresh tokens ``rt_``, links ``ml_``, tickets)."""
    return prefix + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """How opaque tokens are stored: their SHA-256, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()
