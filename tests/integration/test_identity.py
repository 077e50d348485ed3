"""Identity over HTTP on both backends: sign-in, throttling, rotation, links, bans, roles."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import update

from runtime.app import build_app
from runtime.identity.tables import accounts
from runtime.settings import Settings
from runtime.store import open_database, upgrade
from tests.support.accounts import make_account, token_for

PASSWORD = "correct horse battery staple"


def _settings(url: str, **extra: Any) -> Settings:
    return Settings(database_url=url, password_hash_profile="cheapest", account_cache_s=0, **extra)


@pytest.fixture
async def app(store_url: str) -> Litestar:
    await upgrade(store_url)
    return build_app(_settings(store_url))


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as http:
        yield http


async def _account(
    app: Litestar, email: str = "alice@example.com", role: str = "user"
) -> uuid.UUID:
    made = await app.state.runtime.identity.create_account(email, password=PASSWORD, role=role)
    assert made is not None
    return made


async def _sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: Any
) -> httpx.Response:
    body = {"grant_type": "password", "email": email, "password": password, **extra}
    return await client.post("/v1/auth/token", json=body)


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def test_password_sign_in_gives_tokens_that_open_me(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    user_id = await _account(app, "Alice@Example.com", role="moderator")
    answer = await _sign_in(client, "  alice@EXAMPLE.com ", device_id="web-1")
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["token_type"] == "Bearer" and tokens["user_id"] == str(user_id)
    assert tokens["expires_in_s"] == 900 and tokens["refresh_token_expires_in_s"] == 30 * 86400
    claims = _claims(tokens["access_token"])
    assert claims["role"] == "moderator" and claims["roles"] == ["user", "moderator"]
    assert claims["did"] == "web-1"
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["id"] == str(user_id) and body["roles"] == ["user", "moderator"]
    assert body["display_name"] == "alice" and body["age_verified"] is False
    # A new account is in quarantine for the cost tier's 3 days.
    until = datetime.fromisoformat(body["quarantined_until"])
    created = datetime.fromisoformat(body["created_at"])
    assert until - created == timedelta(days=3)


async def test_wrong_credentials_are_one_answer(app: Litestar, client: httpx.AsyncClient) -> None:
    await _account(app)
    wrong_password = await _sign_in(client, "alice@example.com", "not it")
    unknown_email = await _sign_in(client, "nobody@example.com")
    for answer in (wrong_password, unknown_email):
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.headers["www-authenticate"] == "Bearer"
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.json()["code"] == "AUTH_FAILED"


async def test_ten_failures_then_429_with_retry_after(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    await _account(app)
    for _ in range(10):
        assert (await _sign_in(client, "alice@example.com", "guess")).status_code == 401
    for password in ("guess", PASSWORD):  # even the right password waits out the window
        throttled = await _sign_in(client, "alice@example.com", password)
        assert throttled.status_code == 429, throttled.text
        problem = throttled.json()
        assert problem["code"] == "RATE_LIMITED"
        assert 1 <= int(throttled.headers["retry-after"]) <= 900
        assert problem["retry_after_s"] == int(throttled.headers["retry-after"])
    # Another address is not held back by alice's failures.
    await _account(app, "bruno@example.com")
    assert (await _sign_in(client, "bruno@example.com")).status_code == 200


async def test_a_success_clears_the_failures(app: Litestar, client: httpx.AsyncClient) -> None:
    await _account(app)
    for _ in range(9):
        await _sign_in(client, "alice@example.com", "guess")
    assert (await _sign_in(client, "alice@example.com")).status_code == 200
    for _ in range(9):
        assert (await _sign_in(client, "alice@example.com", "guess")).status_code == 401


async def test_refresh_rotates_and_reuse_revokes_the_family(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    await _account(app)
    first = (await _sign_in(client, "alice@example.com", device_id="phone-1")).json()
    second = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert _claims(rotated["access_token"])["did"] == "phone-1"  # the family keeps its device
    # The spent token presented again: refused, and the whole family with it.
    reused = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and reused.json()["code"] == "AUTH_FAILED"
    revoked = await client.post(
        "/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]}
    )
    assert revoked.status_code == 401
    # Another sign-in is another family, untouched.
    other = (await _sign_in(client, "alice@example.com")).json()
    again = await client.post("/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert again.status_code == 200


async def test_simultaneous_refreshes_have_one_winner(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    await _account(app)
    token = (await _sign_in(client, "alice@example.com")).json()["refresh_token"]
    answers = await asyncio.gather(
        *(client.post("/v1/auth/refresh", json={"refresh_token": token}) for _ in range(5))
    )
    assert sorted(a.status_code for a in answers) == [200, 401, 401, 401, 401]


async def test_unknown_refresh_token_is_auth_failed(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/auth/refresh", json={"refresh_token": "rt_" + "x" * 40})
    assert answer.status_code == 401 and answer.json()["code"] == "AUTH_FAILED"


async def test_a_magic_link_works_once(app: Litestar, client: httpx.AsyncClient) -> None:
    user_id = await _account(app)
    link, expires = await app.state.runtime.identity.issue_magic_link("ALICE@example.com")
    assert expires - datetime.now(UTC) <= timedelta(minutes=15)
    body = {"grant_type": "magic_link", "magic_link_token": link, "device_id": "tablet"}
    used = await client.post("/v1/auth/token", json=body)
    assert used.status_code == 200, used.text
    assert used.json()["user_id"] == str(user_id)
    again = await client.post("/v1/auth/token", json=body)
    assert again.status_code == 401 and again.json()["code"] == "AUTH_FAILED"


async def test_an_expired_magic_link_fails(store_url: str) -> None:
    await upgrade(store_url)
    app = build_app(_settings(store_url, magic_link_ttl_s=1))
    await _account(app)
    link, _ = await app.state.runtime.identity.issue_magic_link("alice@example.com")
    await asyncio.sleep(1.2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        body = {"grant_type": "magic_link", "magic_link_token": link}
        answer = await c.post("/v1/auth/token", json=body)
    assert answer.status_code == 401


async def _ban(url: str, user_id: uuid.UUID, until: datetime | None) -> None:
    database = open_database(url)
    try:
        await database.write(
            lambda conn: conn.execute(
                update(accounts)
                .where(accounts.c.id == user_id)
                .values(banned_at=datetime.now(UTC), banned_until=until)
            )
        )
    finally:
        await database.close()


async def test_a_banned_account_is_403_banned_and_its_tokens_stop(
    app: Litestar, client: httpx.AsyncClient, store_url: str
) -> None:
    user_id = await _account(app)
    tokens = (await _sign_in(client, "alice@example.com")).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.get("/v1/me", headers=auth)).status_code == 200
    await _ban(store_url, user_id, None)
    signed = await _sign_in(client, "alice@example.com")
    assert signed.status_code == 403, signed.text
    assert signed.json()["code"] == "BANNED"
    refreshed = await client.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 403 and refreshed.json()["code"] == "BANNED"
    # Wrong credentials never learn about the ban.
    wrong = await _sign_in(client, "alice@example.com", "guess")
    assert wrong.status_code == 401
    # The access token in hand stops working (the routes document 401 for that).
    me = await client.get("/v1/me", headers=auth)
    assert me.status_code == 401 and me.json()["code"] == "AUTH_FAILED"


async def test_a_ban_that_ended_lets_the_account_in(
    app: Litestar, client: httpx.AsyncClient, store_url: str
) -> None:
    user_id = await _account(app)
    await _ban(store_url, user_id, datetime.now(UTC) - timedelta(minutes=1))
    assert (await _sign_in(client, "alice@example.com")).status_code == 200


@pytest.mark.parametrize(("role", "status"), [("user", 403), ("moderator", 501), ("admin", 501)])
async def test_moderator_routes_need_the_role(
    client: httpx.AsyncClient, store_url: str, role: str, status: int
) -> None:
    _user, token = await make_account(store_url, role)
    body = {"user_id": str(uuid.uuid4()), "reason_code": "spam", "duration_s": 60}
    answer = await client.post(
        "/v1/moderation/ban", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    # The guard decides before the handler: a member is refused; a moderator or admin
    # reaches the operation (which answers 501 until the moderation issue lands).
    assert answer.status_code == status, answer.text
    expected = "FORBIDDEN" if status == 403 else "NOT_IMPLEMENTED"
    assert answer.json()["code"] == expected


async def test_a_token_for_an_account_that_does_not_exist_is_401(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        "/v1/me", headers={"Authorization": f"Bearer {token_for(uuid.uuid4())}"}
    )
    assert answer.status_code == 401


async def test_a_socket_ticket_is_issued_to_a_signed_in_caller(
    client: httpx.AsyncClient, store_url: str
) -> None:
    _user, token = await make_account(store_url)
    answer = await client.post(
        "/v1/auth/socket-ticket", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    ticket = answer.json()
    assert ticket["ticket"].startswith("wst_") and 1 <= ticket["expires_in_s"] <= 30
    assert (await client.post("/v1/auth/socket-ticket")).status_code == 401
