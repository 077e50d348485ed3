"""Idempotency-Key on sessions, on SQLite and PostgreSQL: a retry never acts twice."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from generated.server_support import ProblemError
from runtime.app import build_app
from runtime.idempotency import IdempotencyKeys
from runtime.settings import Settings
from runtime.store import open_database, upgrade
from runtime.store.clock import database_now
from runtime.store.tables import idempotency_keys, sessions
from tests.support.accounts import make_account, token_for


@pytest.fixture
async def client(store_url: str) -> AsyncIterator[httpx.AsyncClient]:
    await upgrade(store_url)
    app = build_app(Settings(database_url=store_url))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://app.test"
    ) as http:
        yield http
    await app.state.runtime.database.close()


async def _user(store_url: str) -> uuid.UUID:
    return (await make_account(store_url))[0]


def _as(user: uuid.UUID, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


async def _sessions_of(store_url: str, user: uuid.UUID) -> int:
    database = open_database(store_url)
    try:
        query = select(func.count()).select_from(sessions).where(sessions.c.user_id == user)
        return int(await database.read(lambda conn: conn.scalar(query)) or 0)
    finally:
        await database.close()


async def test_a_retried_create_returns_the_first_session(
    client: httpx.AsyncClient, store_url: str
) -> None:
    user, key = await _user(store_url), str(uuid.uuid4())
    first = await client.post("/v1/sessions", json={"mode": "party"}, headers=_as(user, key))
    again = await client.post("/v1/sessions", json={"mode": "party"}, headers=_as(user, key))
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert await _sessions_of(store_url, user) == 1
    # Without a key, or with another one, it is a new request.
    fresh = await client.post("/v1/sessions", json={"mode": "party"}, headers=_as(user))
    other = await client.post("/v1/sessions", json={"mode": "party"}, headers=_as(user, "k2"))
    assert len({first.json()["id"], fresh.json()["id"], other.json()["id"]}) == 3
    # Keys are per user: the same key of someone else is theirs alone.
    stranger = await client.post(
        "/v1/sessions", json={"mode": "party"}, headers=_as(await _user(store_url), key)
    )
    assert stranger.status_code == 201 and stranger.json()["id"] != first.json()["id"]


async def test_the_same_key_with_another_body_is_a_conflict(
    client: httpx.AsyncClient, store_url: str
) -> None:
    user, key = await _user(store_url), "same-key"
    assert (
        await client.post("/v1/sessions", json={"mode": "party"}, headers=_as(user, key))
    ).status_code == 201
    clash = await client.post("/v1/sessions", json={"mode": "sniffers"}, headers=_as(user, key))
    assert clash.status_code == 409
    assert clash.headers["content-type"].startswith("application/problem+json")
    assert clash.json()["code"] == "IDEMPOTENCY_CONFLICT"


async def test_simultaneous_duplicates_create_one_session(
    client: httpx.AsyncClient, store_url: str
) -> None:
    user, key = await _user(store_url), str(uuid.uuid4())
    replies = await asyncio.gather(
        *(
            client.post("/v1/sessions", json={"mode": "party"}, headers=_as(user, key))
            for _ in range(20)
        )
    )
    statuses = Counter(reply.status_code for reply in replies)
    assert set(statuses) <= {201, 409} and statuses[201] >= 1, statuses
    created = {reply.json()["id"] for reply in replies if reply.status_code == 201}
    assert len(created) == 1  # every 201 is the same session
    assert all(r.json()["code"] == "IDEMPOTENCY_CONFLICT" for r in replies if r.status_code == 409)
    assert await _sessions_of(store_url, user) == 1


async def test_a_retried_transition_returns_its_first_answer(
    client: httpx.AsyncClient, store_url: str
) -> None:
    user, key = await _user(store_url), str(uuid.uuid4())
    party = (await client.post("/v1/sessions", json={"mode": "party"}, headers=_as(user))).json()
    path = f"/v1/sessions/{party['id']}/transition"
    first = await client.post(path, json={"to_mode": "sniffers"}, headers=_as(user, key))
    again = await client.post(path, json={"to_mode": "sniffers"}, headers=_as(user, key))
    assert first.status_code == again.status_code == 201
    assert first.json()["session"]["id"] == again.json()["session"]["id"]
    # Without the key the same request is a second transition, which the state refuses.
    third = await client.post(path, json={"to_mode": "sniffers"}, headers=_as(user))
    assert third.status_code == 409 and third.json()["code"] == "INVALID_TRANSITION"


async def test_a_refusal_is_recorded_and_replayed(
    client: httpx.AsyncClient, store_url: str
) -> None:
    user = await _user(store_url)
    for _ in range(2):
        refused = await client.post(
            "/v1/sessions", json={"mode": "random"}, headers=_as(user, "refused")
        )
        assert refused.status_code == 403 and refused.json()["code"] == "CONSENT_REQUIRED"
    # The refusal is the key's answer: another request under the same key is a conflict,
    # which it would not be had the refusal left no record.
    other = await client.post("/v1/sessions", json={"mode": "party"}, headers=_as(user, "refused"))
    assert other.status_code == 409 and other.json()["code"] == "IDEMPOTENCY_CONFLICT"


async def test_claims_of_dead_processes_are_taken_over_and_old_keys_forgotten(
    store_url: str,
) -> None:
    await upgrade(store_url)
    database = open_database(store_url)
    keys = IdempotencyKeys(database, keep_s=3600, abandoned_after_s=30)
    user = await _user(store_url)
    calls = 0

    async def produce():  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        raise RuntimeError("the process died here")

    try:
        with pytest.raises(RuntimeError):
            await keys.run(user, "op", "k", "digest", produce)
        # A failure that never answered released the key: the retry runs.
        from runtime.idempotency import Answer  # noqa: PLC0415

        async def works() -> Answer:
            return Answer(201, {"ok": True})

        assert (await keys.run(user, "op", "k", "digest", works)).body == {"ok": True}
        assert calls == 1

        def claim(age: timedelta):  # type: ignore[no-untyped-def]
            def work(conn):  # type: ignore[no-untyped-def]
                conn.execute(
                    idempotency_keys.insert().values(
                        user_id=user,
                        operation="op",
                        key=f"pending-{age.total_seconds()}",
                        request_hash="digest",
                        created_at=database_now(conn) - age,
                    )
                )

            return work

        # A first attempt still running: its retry is told so.
        await database.write(claim(timedelta(seconds=1)))
        with pytest.raises(ProblemError) as running:
            await keys.run(user, "op", "pending-1.0", "digest", works)
        assert (running.value.status, running.value.code) == (409, "IDEMPOTENCY_CONFLICT")
        # A claim left by a process that died long ago is taken over.
        await database.write(claim(timedelta(seconds=31)))
        assert (await keys.run(user, "op", "pending-31.0", "digest", works)).status == 201
        # Age every key past its keeping time: the housekeeping forgets it.
        await database.write(
            lambda conn: conn.execute(
                update(idempotency_keys).values(created_at=database_now(conn) - timedelta(hours=2))
            )
        )
        assert await database.write(keys.forget_expired) == 3
    finally:
        await database.close()
