"""Identity's pure rules: roles, bans, quarantine, throttle windows, opaque tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runtime.auth.roles import has_role, parse_role, roles_of
from runtime.identity.rules import (
    digest,
    is_banned,
    new_opaque_token,
    normalize_email,
    quarantined_until,
    retry_after_s,
)

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "role"),
    [("user", "user"), ("mod", "moderator"), ("Moderator", "moderator"), (" admin ", "admin")],
)
def test_roles_by_name_or_alias(name: str, role: str) -> None:
    assert parse_role(name) == role


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        parse_role("root")


@pytest.mark.parametrize(
    ("held", "wanted", "allowed"),
    [
        (("user",), (), True),
        (("user",), ("moderator",), False),
        (("user", "moderator"), ("moderator",), True),
        (("moderator",), ("moderator",), True),
        (("user", "moderator", "admin"), ("moderator",), True),
        (("admin",), ("moderator",), True),
        (("user", "moderator"), ("admin",), False),
        (("superuser",), ("moderator",), False),  # an unknown role holds nothing
        ((), ("user",), False),
    ],
)
def test_a_role_holds_the_ones_below(
    held: tuple[str, ...], wanted: tuple[str, ...], allowed: bool
) -> None:
    assert has_role(held, wanted) is allowed


def test_roles_are_listed_lowest_first() -> None:
    assert roles_of("admin") == ("user", "moderator", "admin")
    assert roles_of("mod") == ("user", "moderator")


@pytest.mark.parametrize(
    ("banned_at", "until", "banned"),
    [
        (None, None, False),
        (NOW, None, True),  # for good
        (NOW, NOW + timedelta(seconds=1), True),
        (NOW, NOW, False),  # ended just now
    ],
)
def test_bans(banned_at: datetime | None, until: datetime | None, banned: bool) -> None:
    assert is_banned(banned_at, until, NOW) is banned


def test_new_accounts_are_quarantined_for_the_tier_days() -> None:
    created = NOW - timedelta(days=1)
    assert quarantined_until(created, 3, None, NOW) == created + timedelta(days=3)
    assert quarantined_until(NOW - timedelta(days=4), 3, None, NOW) is None
    later = NOW + timedelta(days=10)
    assert quarantined_until(NOW - timedelta(days=4), 3, later, NOW) == later


def test_retry_after_rounds_up_and_is_at_least_one() -> None:
    start = NOW - timedelta(seconds=899, microseconds=500_000)
    assert retry_after_s(start, 900, NOW) == 1
    assert retry_after_s(NOW - timedelta(seconds=100), 900, NOW) == 800
    assert retry_after_s(NOW - timedelta(seconds=1000), 900, NOW) == 1


def test_opaque_tokens_and_emails() -> None:
    first, second = new_opaque_token("rt_"), new_opaque_token("rt_")
    assert first.startswith("rt_") and first != second and len(first) >= 40
    assert digest(first) != first and len(digest(first)) == 64
    assert normalize_email("  Alice@Example.COM ") == "alice@example.com"
