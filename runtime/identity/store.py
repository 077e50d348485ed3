"""Identity in the database: each decision (rotate, redeem, count a failure) is one statement.

Plain functions over a ``Connection``, run inside the caller's unit of work
(``Database.write`` or ``Database.read``); times are the database clock's.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from runtime.identity.tables import (
    accounts,
    auth_throttle,
    magic_links,
    refresh_tokens,
    socket_tickets,
)
from runtime.store.clock import database_now

__all__ = [
    "AccountRow",
    "NewAccount",
    "Rotation",
    "account_by_email",
    "account_statuses",
    "clear_failures",
    "count_failure",
    "forget_expired_credentials",
    "get_account",
    "insert_account",
    "insert_magic_link",
    "insert_refresh_token",
    "insert_ticket",
    "recent_failures",
    "redeem_magic_link",
    "redeem_ticket",
    "rotate_refresh_token",
    "set_password_hash",
    "update_account",
]

AccountRow = Mapping[Any, Any]  # a RowMapping read back


@dataclass(frozen=True)
class NewAccount:
    """What creating an account records."""

    email: str
    display_name: str
    password_hash: str | None
    role: str = "user"
    age_verified: bool = False
    consent_confirmed: bool = False
    id: uuid.UUID | None = None  # chosen by the caller (a development account), else random


def insert_account(conn: Connection, new: NewAccount, *, now: datetime) -> uuid.UUID | None:
    """A new account; ``None`` when its email (or id) is taken (the unique keys decide)."""
    values = {**new.__dict__, "id": new.id or uuid.uuid4(), "created_at": now}
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    created = conn.execute(dialect_insert(accounts).values(values).on_conflict_do_nothing())
    return values["id"] if created.rowcount == 1 else None


def update_account(conn: Connection, user_id: uuid.UUID, **changes: Any) -> bool:
    """Change an account's columns; ``False`` when there is no such account."""
    done = conn.execute(update(accounts).where(accounts.c.id == user_id).values(**changes))
    return done.rowcount == 1


def set_password_hash(conn: Connection, user_id: uuid.UUID, expected: str, new: str) -> None:
    """Replace a hash made with old parameters, unless it changed meanwhile."""
    conn.execute(
        update(accounts)
        .where(accounts.c.id == user_id, accounts.c.password_hash == expected)
        .values(password_hash=new)
    )


def get_account(conn: Connection, user_id: uuid.UUID) -> AccountRow | None:
    """The account with this id."""
    return conn.execute(select(accounts).where(accounts.c.id == user_id)).mappings().one_or_none()


def account_by_email(conn: Connection, email: str) -> AccountRow | None:
    """The account of a normalized email address."""
    query = select(accounts).where(accounts.c.email == email)
    return conn.execute(query).mappings().one_or_none()


def account_statuses(
    conn: Connection, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, AccountRow]:
    """Role and ban columns of several accounts at once (absent ones are left out)."""
    if not user_ids:
        return {}
    query = select(
        accounts.c.id, accounts.c.role, accounts.c.banned_at, accounts.c.banned_until
    ).where(accounts.c.id.in_(list(user_ids)))
    return {row["id"]: row for row in conn.execute(query).mappings()}


def insert_refresh_token(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    family_id: uuid.UUID,
    token_hash: str,
    device_id: str | None,
    now: datetime,
    ttl_s: float,
) -> None:
    """Record a refresh token of ``family_id``."""
    conn.execute(
        insert(refresh_tokens).values(
            id=uuid.uuid4(),
            family_id=family_id,
            user_id=user_id,
            token_hash=token_hash,
            device_id=device_id,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
        )
    )


@dataclass(frozen=True)
class Rotation:
    """What presenting a refresh token did."""

    row: AccountRow | None  # the token's row when it was live and is now used
    reused: bool = False  # it had been used before: its family is revoked


def rotate_refresh_token(conn: Connection, token_hash: str, *, now: datetime) -> Rotation:
    """Mark a live refresh token used (compare-and-set); a used one revokes its family.

    Exactly one of two simultaneous presentations wins the update; the other finds the
    token used and revokes the family, the winner's new token included (the BCP's
    answer: the server cannot tell which of the two holders is the legitimate one).
    """
    used = (
        conn.execute(
            update(refresh_tokens)
            .where(
                refresh_tokens.c.token_hash == token_hash,
                refresh_tokens.c.used_at.is_(None),
                refresh_tokens.c.revoked_at.is_(None),
                refresh_tokens.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(
                refresh_tokens.c.family_id, refresh_tokens.c.user_id, refresh_tokens.c.device_id
            )
        )
        .mappings()
        .one_or_none()
    )
    if used is not None:
        return Rotation(used)
    known = conn.execute(
        select(refresh_tokens.c.family_id, refresh_tokens.c.used_at).where(
            refresh_tokens.c.token_hash == token_hash
        )
    ).one_or_none()
    if known is None or known.used_at is None:
        return Rotation(None)  # unknown, expired or revoked: nothing more to do
    conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.family_id == known.family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return Rotation(None, reused=True)


def insert_magic_link(
    conn: Connection, user_id: uuid.UUID, token_hash: str, *, now: datetime, ttl_s: float
) -> datetime:
    """Record a sign-in link; its expiry."""
    expires = now + timedelta(seconds=ttl_s)
    conn.execute(
        insert(magic_links).values(
            token_hash=token_hash, user_id=user_id, created_at=now, expires_at=expires
        )
    )
    return expires


def redeem_magic_link(conn: Connection, token_hash: str, *, now: datetime) -> uuid.UUID | None:
    """Use a live link once; its account, or ``None`` (unknown, used or expired)."""
    return conn.execute(
        update(magic_links)
        .where(
            magic_links.c.token_hash == token_hash,
            magic_links.c.used_at.is_(None),
            magic_links.c.expires_at > now,
        )
        .values(used_at=now)
        .returning(magic_links.c.user_id)
    ).scalar_one_or_none()


def recent_failures(conn: Connection, key: str, *, since: datetime) -> tuple[int, datetime | None]:
    """Failures counted for ``key`` in a window that started after ``since``."""
    row = conn.execute(
        select(auth_throttle.c.failures, auth_throttle.c.window_start).where(
            auth_throttle.c.key == key, auth_throttle.c.window_start > since
        )
    ).one_or_none()
    return (0, None) if row is None else (int(row.failures), row.window_start)


def count_failure(conn: Connection, key: str, *, now: datetime, window_s: float) -> int:
    """Count one failure for ``key``: a window past its end starts again at 1."""
    stale = auth_throttle.c.window_start <= now - timedelta(seconds=window_s)
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    upsert = dialect_insert(auth_throttle).values(key=key, window_start=now, failures=1)
    counted = upsert.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "failures": case((stale, 1), else_=auth_throttle.c.failures + 1),
            "window_start": case((stale, now), else_=auth_throttle.c.window_start),
        },
    ).returning(auth_throttle.c.failures)
    return int(conn.execute(counted).scalar_one())


def clear_failures(conn: Connection, key: str) -> None:
    """A successful sign-in forgets the key's failures."""
    conn.execute(delete(auth_throttle).where(auth_throttle.c.key == key))


def insert_ticket(
    conn: Connection,
    *,
    ticket_hash: str,
    user_id: uuid.UUID,
    role: str,
    device_id: str | None,
    now: datetime,
    ttl_s: float,
    token_expires_at: datetime,
) -> datetime:
    """Record a socket ticket; its expiry."""
    expires = min(now + timedelta(seconds=ttl_s), token_expires_at)
    conn.execute(
        insert(socket_tickets).values(
            ticket_hash=ticket_hash,
            user_id=user_id,
            role=role,
            device_id=device_id,
            expires_at=expires,
            token_expires_at=token_expires_at,
        )
    )
    return expires


def redeem_ticket(conn: Connection, ticket_hash: str, *, now: datetime) -> AccountRow | None:
    """Use a live ticket once; what it vouches for, or ``None``."""
    return (
        conn.execute(
            update(socket_tickets)
            .where(
                socket_tickets.c.ticket_hash == ticket_hash,
                socket_tickets.c.used_at.is_(None),
                socket_tickets.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(
                socket_tickets.c.user_id,
                socket_tickets.c.role,
                socket_tickets.c.device_id,
                socket_tickets.c.token_expires_at,
            )
        )
        .mappings()
        .one_or_none()
    )


def forget_expired_credentials(conn: Connection, *, keep_s: float = 86400) -> None:
    """Housekeeping: drop tokens, links, tickets and throttles a day past their use."""
    cut = database_now(conn) - timedelta(seconds=keep_s)
    conn.execute(delete(refresh_tokens).where(refresh_tokens.c.expires_at < cut))
    conn.execute(delete(magic_links).where(magic_links.c.expires_at < cut))
    conn.execute(delete(socket_tickets).where(socket_tickets.c.expires_at < cut))
    conn.execute(delete(auth_throttle).where(auth_throttle.c.window_start < cut))
