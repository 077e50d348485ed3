"""Accounts for tests: a real row in the store and a token the app's guard accepts."""

from __future__ import annotations

import uuid
from datetime import timedelta

from runtime.auth import Caller, TokenService
from runtime.auth.roles import roles_of
from runtime.identity.store import NewAccount, insert_account
from runtime.settings import DEV_TOKEN_SECRET
from runtime.store import open_database
from runtime.store.clock import database_now

__all__ = ["TOKENS", "make_account", "token_for"]

TOKENS = TokenService(DEV_TOKEN_SECRET, ttl=timedelta(minutes=15))


def token_for(user_id: uuid.UUID, role: str = "user", *, tokens: TokenService = TOKENS) -> str:
    """A bearer token for an account that exists (see ``make_account``)."""
    return tokens.issue(Caller(user_id, roles_of(role)))


async def make_account(
    database_url: str, role: str = "user", *, email: str | None = None
) -> tuple[uuid.UUID, str]:
    """Create an account in a migrated database; its id and a token for it."""
    user_id = uuid.uuid4()
    new = NewAccount(
        email=email or f"{user_id}@test.voulezvous.tv",
        display_name=f"test {str(user_id)[:8]}",
        password_hash=None,
        role=role,
        id=user_id,
    )
    database = open_database(database_url)
    try:
        made = await database.write(lambda conn: insert_account(conn, new, now=database_now(conn)))
    finally:
        await database.close()
    assert made == user_id
    return user_id, token_for(user_id, role)
