"""The sockets of contracts/asyncapi.yaml against a served app, on SQLite and PostgreSQL.

Authentication three ways (header, subprotocol, ticket) through the HTTP guard; close
codes; snapshot then events numbered per socket, resumed by last_seq; every frame a
valid event envelope; what a viewer may see of presence (own, hidden, blocked).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import insert, update

from generated.events import validate_event
from generated.events.channels import CHANNELS
from runtime.app import build_app
from runtime.auth import Caller, TokenService
from runtime.auth.roles import roles_of
from runtime.identity.tables import accounts
from runtime.presence.tables import user_blocks
from runtime.settings import DEV_TOKEN_SECRET, Settings
from runtime.store import open_database, upgrade
from tests.support.accounts import make_account
from tests.support.served import serve


class World:
    """A served app, its database, and helpers to act as users."""

    def __init__(self, base: str, url: str) -> None:
        self.base, self.url = base, url
        self.ws = base.replace("http://", "ws://")
        self.http = httpx.AsyncClient(base_url=base, timeout=10)

    async def user(self, role: str = "user") -> tuple[uuid.UUID, str]:
        return await make_account(self.url, role)

    async def presence(self, token: str, **fields: Any) -> dict[str, Any]:
        body = {"presence_mode": "party", "is_camera_on": True, **fields}
        answer = await self.http.post(
            "/v1/presence", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def sql(self, statement: Any) -> None:
        database = open_database(self.url)
        try:
            await database.write(lambda conn: conn.execute(statement))
        finally:
            await database.close()


@pytest.fixture
async def world(store_url: str) -> AsyncIterator[World]:
    await upgrade(store_url)
    app = build_app(Settings(database_url=store_url, account_cache_s=0))
    with serve(app) as base:
        made = World(base, store_url)
        try:
            yield made
        finally:
            await made.http.aclose()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _frames(socket: Any, count: int, within: float = 5) -> list[dict[str, Any]]:
    got = []
    async with asyncio.timeout(within):
        while len(got) < count:
            got.append(validate_event(json.loads(await socket.recv())))
    return got


async def _closed(socket: Any, within: float = 10) -> tuple[int, str]:
    try:
        async with asyncio.timeout(within):
            while True:
                await socket.recv()
    except websockets.ConnectionClosed as closed:
        assert closed.rcvd is not None
        return closed.rcvd.code, closed.rcvd.reason
    raise AssertionError("unreachable")


async def test_presence_snapshot_then_updates_numbered_from_zero(world: World) -> None:
    alice, alice_token = await world.user()
    _bruno, bruno_token = await world.user()
    await world.presence(alice_token, languages=["pt-BR"])
    async with websockets.connect(
        f"{world.ws}/ws/presence", additional_headers=_auth(bruno_token)
    ) as socket:
        (snapshot,) = await _frames(socket, 1)
        assert snapshot["type"] == "presence.update" and snapshot["seq"] == 0
        assert snapshot["data"]["user_id"] == str(alice) and snapshot["data"]["state"] == "online"
        await world.presence(alice_token, is_camera_on=False)
        (change,) = await _frames(socket, 1)
        assert change["seq"] == 1 and change["data"]["is_camera_on"] is False
        # A heartbeat changes nothing anyone sees: no event.
        await world.http.post("/v1/presence/heartbeat", headers=_auth(alice_token))
        with pytest.raises(TimeoutError):
            await _frames(socket, 1, within=0.5)


async def test_a_reconnect_with_last_seq_gets_a_fresh_snapshot_numbered_on(world: World) -> None:
    _alice, alice_token = await world.user()
    _bruno, bruno_token = await world.user()
    await world.presence(alice_token)
    url = f"{world.ws}/ws/presence?last_seq=41"
    async with websockets.connect(url, additional_headers=_auth(bruno_token)) as socket:
        (snapshot,) = await _frames(socket, 1)
        assert snapshot["seq"] == 42  # never silence: the state again, numbering goes on
        await world.presence(alice_token, visibility="party_only")
        assert [f["seq"] for f in await _frames(socket, 1)] == [43]


async def test_a_browser_authenticates_with_the_subprotocol(world: World) -> None:
    _bruno, token = await world.user()
    async with websockets.connect(
        f"{world.ws}/ws/presence",
        subprotocols=["vvtv.v1", f"bearer.{token}"],  # type: ignore[list-item]
    ) as socket:
        assert socket.subprotocol == "vvtv.v1"  # the token is never echoed back
        await world.presence(token)
        (own,) = await _frames(socket, 1)
        assert own["data"]["state"] == "online"


async def test_a_ticket_opens_one_socket_once(world: World) -> None:
    _bruno, token = await world.user()
    answer = await world.http.post("/v1/auth/socket-ticket", headers=_auth(token))
    ticket = answer.json()["ticket"]
    async with websockets.connect(f"{world.ws}/ws/sessions?ticket={ticket}") as socket:
        await world.http.post("/v1/sessions", json={"mode": "party"}, headers=_auth(token))
        (created,) = await _frames(socket, 1)
        assert created["type"] == "session.created"
    async with websockets.connect(f"{world.ws}/ws/sessions?ticket={ticket}") as again:
        assert (await _closed(again))[0] == 4401


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic abc"}]
)
async def test_no_valid_token_closes_4401(world: World, headers: dict[str, str]) -> None:
    async with websockets.connect(f"{world.ws}/ws/presence", additional_headers=headers) as socket:
        assert (await _closed(socket))[0] == 4401


async def test_a_banned_account_closes_4403_at_once_and_mid_connection(world: World) -> None:
    user, token = await world.user()
    async with websockets.connect(
        f"{world.ws}/ws/presence", additional_headers=_auth(token)
    ) as socket:
        await world.sql(
            update(accounts).where(accounts.c.id == user).values(banned_at=datetime.now(UTC))
        )
        # The hub re-checks its sockets' accounts every heartbeat interval (5 s).
        assert (await _closed(socket, within=8))[0] == 4403
    async with websockets.connect(
        f"{world.ws}/ws/presence", additional_headers=_auth(token)
    ) as again:
        assert (await _closed(again))[0] == 4403


async def test_an_expired_token_closes_its_socket(world: World) -> None:
    user, _token = await world.user()
    short = TokenService(DEV_TOKEN_SECRET, ttl=timedelta(seconds=2)).issue(
        Caller(user, roles_of("user"))
    )
    async with websockets.connect(
        f"{world.ws}/ws/presence", additional_headers=_auth(short)
    ) as socket:
        started = asyncio.get_running_loop().time()
        code, reason = await _closed(socket, within=6)
        assert code == 4401 and "expired" in reason
        assert asyncio.get_running_loop().time() - started < 4


async def test_too_many_client_messages_close_4429(world: World) -> None:
    _user, token = await world.user()
    async with websockets.connect(
        f"{world.ws}/ws/presence", additional_headers=_auth(token)
    ) as socket:
        for _ in range(40):
            await socket.send("ping")
        assert (await _closed(socket))[0] == 4429


async def test_a_too_big_client_message_closes_1009(world: World) -> None:
    _user, token = await world.user()
    async with websockets.connect(
        f"{world.ws}/ws/presence", additional_headers=_auth(token)
    ) as socket:
        await socket.send("x" * 10_000)
        assert (await _closed(socket))[0] == 1009


async def test_a_malformed_last_seq_closes_4400(world: World) -> None:
    _user, token = await world.user()
    url = f"{world.ws}/ws/presence?last_seq=-3"
    async with websockets.connect(url, additional_headers=_auth(token)) as socket:
        assert (await _closed(socket))[0] == 4400


@pytest.mark.parametrize(
    "address", ["/ws/match", "/ws/consent", "/ws/moderation", f"/ws/chat/{uuid.uuid4()}"]
)
async def test_reserved_channels_authenticate_then_close_4501(world: World, address: str) -> None:
    _user, token = await world.user()
    async with websockets.connect(f"{world.ws}{address}") as anonymous:
        assert (await _closed(anonymous))[0] == 4401
    async with websockets.connect(
        f"{world.ws}{address}", additional_headers=_auth(token)
    ) as socket:
        assert (await _closed(socket))[0] == 4501


async def test_hidden_is_offline_to_others_and_online_to_its_owner(world: World) -> None:
    alice, alice_token = await world.user()
    _bruno, bruno_token = await world.user()
    await world.presence(alice_token)
    async with (
        websockets.connect(
            f"{world.ws}/ws/presence", additional_headers=_auth(bruno_token)
        ) as bruno,
        websockets.connect(f"{world.ws}/ws/presence", additional_headers=_auth(alice_token)) as own,
    ):
        await _frames(bruno, 1)
        await _frames(own, 1)
        await world.presence(alice_token, visibility="hidden")
        (seen_by_bruno,) = await _frames(bruno, 1)
        (seen_by_alice,) = await _frames(own, 1)
        assert seen_by_bruno["data"]["user_id"] == str(alice)
        assert seen_by_bruno["data"]["state"] == "offline"
        assert seen_by_alice["data"]["state"] == "online"
        assert seen_by_alice["data"]["visibility"] == "hidden"
        assert seen_by_bruno["id"] == seen_by_alice["id"]  # one event, two views of it
    # A new socket's snapshot leaves the hidden presence out.
    async with websockets.connect(
        f"{world.ws}/ws/presence", additional_headers=_auth(bruno_token)
    ) as late:
        with pytest.raises(TimeoutError):
            await _frames(late, 1, within=0.5)


async def test_blocked_users_never_see_each_other(world: World) -> None:
    alice, alice_token = await world.user()
    bruno, bruno_token = await world.user()
    _carla, carla_token = await world.user()
    await world.sql(
        insert(user_blocks).values(blocker_id=alice, blocked_id=bruno, created_at=datetime.now(UTC))
    )
    async with (
        websockets.connect(
            f"{world.ws}/ws/presence", additional_headers=_auth(bruno_token)
        ) as bruno_socket,
        websockets.connect(
            f"{world.ws}/ws/presence", additional_headers=_auth(carla_token)
        ) as carla_socket,
    ):
        await world.presence(alice_token)
        (seen,) = await _frames(carla_socket, 1)
        assert seen["data"]["user_id"] == str(alice)
        with pytest.raises(TimeoutError):
            await _frames(bruno_socket, 1, within=0.5)
    party = await world.http.get("/v1/presence/party", headers=_auth(bruno_token))
    assert [p["user_id"] for p in party.json()["items"]] == []


async def test_the_sessions_socket_snapshots_sessions_in_progress(world: World) -> None:
    _user, token = await world.user()
    created = await world.http.post("/v1/sessions", json={"mode": "party"}, headers=_auth(token))
    session_id = created.json()["id"]
    async with websockets.connect(
        f"{world.ws}/ws/sessions", additional_headers=_auth(token)
    ) as socket:
        (snapshot,) = await _frames(socket, 1)
        assert snapshot["type"] == "session.created"
        assert snapshot["data"]["session_id"] == session_id and snapshot["seq"] == 0
        ended = await world.http.post(f"/v1/sessions/{session_id}/end", headers=_auth(token))
        assert ended.status_code == 200


def test_every_asyncapi_channel_has_a_socket_route(store_url: str) -> None:
    app = build_app(Settings(database_url=store_url))
    paths = {route.path for route in app.routes}
    for channel in CHANNELS:
        assert channel.address.replace("{thread_id}", "{thread_id:str}") in paths
