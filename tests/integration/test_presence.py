"""Presence on SQLite and PostgreSQL: set, devices, heartbeats, the lists, expiry.

The party rail and the sniffers grid are one query with filters; blocks and ecosystem
separation are in that query; a presence without a heartbeat for the TTL is out of
every list (judged here with an injected clock) and swept with its ``left`` event.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, insert, select, update

from generated.events import validate_event
from runtime.app import build_app
from runtime.auth import Caller, TokenService
from runtime.auth.roles import roles_of
from runtime.config import load_config
from runtime.events import memory_bus
from runtime.presence import store
from runtime.presence.service import PresencePolicy, PresenceService
from runtime.presence.tables import presence_metas, presences, user_blocks
from runtime.settings import DEV_TOKEN_SECRET, Settings
from runtime.store import open_database, upgrade
from runtime.store.tables import sessions
from tests.support.accounts import make_account

TOKENS = TokenService(DEV_TOKEN_SECRET, ttl=timedelta(minutes=15))
CONFIG = load_config()


@pytest.fixture
async def app(store_url: str) -> Litestar:
    await upgrade(store_url)
    return build_app(Settings(database_url=store_url, account_cache_s=0))


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with AsyncTestClient(app) as http:
        yield http


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _set(client: httpx.AsyncClient, token: str, **fields: Any) -> httpx.Response:
    body = {"presence_mode": "party", "is_camera_on": True, **fields}
    return await client.post("/v1/presence", json=body, headers=_auth(token))


async def _ids(client: httpx.AsyncClient, token: str, path: str) -> list[str]:
    answer = await client.get(path, headers=_auth(token))
    assert answer.status_code == 200, answer.text
    return [item["user_id"] for item in answer.json()["items"]]


async def test_a_set_presence_has_the_mode_defaults_and_one_meta(
    client: httpx.AsyncClient, store_url: str
) -> None:
    user, token = await make_account(store_url)
    answer = await _set(client, token, languages=["pt-BR", "en"], tags=["music"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["user_id"] == str(user) and body["visibility"] == "visible"
    # The mode's capabilities that involve others (mode-manifests.yaml, party).
    assert body["capabilities"] == ["chat", "invite_to_call"]
    assert body["languages"] == ["pt-BR", "en"] and body["tags"] == ["music"]
    expires = datetime.fromisoformat(body["expires_at"])
    seen = datetime.fromisoformat(body["last_seen_at"])
    assert expires - seen == timedelta(seconds=15)  # the anti-ghost TTL of COST_LOW
    assert [m["device_id"] for m in body["metas"]] == ["default"]


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"presence_mode": "random"}, "/presence_mode"),  # random does not show presence
        ({"presence_mode": "broadcast"}, "/presence_mode"),
        ({"capabilities": ["chat", "skip"]}, "/capabilities/1"),  # not one of party's
    ],
)
async def test_a_presence_outside_its_mode_is_422(
    client: httpx.AsyncClient, store_url: str, fields: dict[str, Any], pointer: str
) -> None:
    _user, token = await make_account(store_url)
    answer = await _set(client, token, **fields)
    assert answer.status_code == 422, answer.text
    assert [e["pointer"] for e in answer.json()["errors"]] == [pointer]


async def test_two_devices_are_one_presence_with_two_metas(
    client: httpx.AsyncClient, store_url: str
) -> None:
    user, _ = await make_account(store_url)
    phone = TOKENS.issue(Caller(user, roles_of("user"), device_id="phone"))
    laptop = TOKENS.issue(Caller(user, roles_of("user"), device_id="laptop"))
    first = (await _set(client, phone, is_camera_on=False)).json()
    second = (await _set(client, laptop, presence_mode="sniffers")).json()
    assert first["id"] == second["id"]  # one presence
    assert second["presence_mode"] == "sniffers" and second["is_camera_on"] is True
    assert [m["device_id"] for m in second["metas"]] == ["laptop", "phone"]
    _viewer, viewer = await make_account(store_url)
    party = (await client.get("/v1/presence/party", headers=_auth(viewer))).json()["items"]
    assert len(party) == 1 and len(party[0]["metas"]) == 2


async def test_a_heartbeat_renews_and_a_missing_presence_is_404(
    client: httpx.AsyncClient, store_url: str
) -> None:
    _user, token = await make_account(store_url)
    assert (await client.post("/v1/presence/heartbeat", headers=_auth(token))).status_code == 404
    before = (await _set(client, token)).json()
    beat = await client.post("/v1/presence/heartbeat", headers=_auth(token))
    assert beat.status_code == 200, beat.text
    renewed = beat.json()
    assert renewed["presence_id"] == before["id"] and renewed["heartbeat_interval_s"] == 5
    assert renewed["expires_at"] >= before["expires_at"]


async def test_party_and_grid_are_filters_of_one_presence(
    client: httpx.AsyncClient, store_url: str
) -> None:
    _viewer, viewer = await make_account(store_url)
    people = {}
    for name, fields in {
        "visible_cam": {"languages": ["pt-BR"], "tags": ["music"]},
        "visible_no_cam": {"is_camera_on": False, "languages": ["en"]},
        "party_only": {"visibility": "party_only"},
        "hidden": {"visibility": "hidden"},
    }.items():
        user, token = await make_account(store_url)
        people[name] = str(user)
        assert (await _set(client, token, **fields)).status_code == 200
    await _set(client, viewer)  # the caller is never in their own lists
    party = await _ids(client, viewer, "/v1/presence/party")
    assert set(party) == {people["visible_cam"], people["visible_no_cam"], people["party_only"]}
    grid = await _ids(client, viewer, "/v1/presence/grid")
    assert set(grid) == {people["visible_cam"], people["visible_no_cam"]}
    assert await _ids(client, viewer, "/v1/presence/grid?is_camera_on=true") == [
        people["visible_cam"]
    ]
    assert await _ids(client, viewer, "/v1/presence/grid?language=en") == [people["visible_no_cam"]]
    assert await _ids(client, viewer, "/v1/presence/grid?tag=music") == [people["visible_cam"]]
    assert await _ids(client, viewer, "/v1/presence/grid?tag=dance") == []


async def test_the_lists_page_with_cursors(client: httpx.AsyncClient, store_url: str) -> None:
    _viewer, viewer = await make_account(store_url)
    expected = set()
    for _ in range(5):
        user, token = await make_account(store_url)
        expected.add(str(user))
        await _set(client, token)
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        path = "/v1/presence/party?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(path, headers=_auth(viewer))).json()
        seen += [item["user_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and set(seen) == expected
    foreign = await client.get("/v1/presence/party?cursor=bm9wZQ", headers=_auth(viewer))
    assert foreign.status_code == 422
    assert [e["pointer"] for e in foreign.json()["errors"]] == ["query.cursor"]


async def _sql(url: str, statement: Any) -> None:
    database = open_database(url)
    try:
        await database.write(lambda conn: conn.execute(statement))
    finally:
        await database.close()


async def test_blocks_either_way_hide_both(client: httpx.AsyncClient, store_url: str) -> None:
    alice, alice_token = await make_account(store_url)
    bruno, bruno_token = await make_account(store_url)
    await _set(client, alice_token)
    await _set(client, bruno_token)
    assert await _ids(client, bruno_token, "/v1/presence/party") == [str(alice)]
    await _sql(
        store_url,
        insert(user_blocks).values(
            blocker_id=bruno, blocked_id=alice, created_at=datetime.now(UTC)
        ),
    )
    assert await _ids(client, bruno_token, "/v1/presence/party") == []
    assert await _ids(client, alice_token, "/v1/presence/party") == []
    assert await _ids(client, alice_token, "/v1/presence/grid") == []


@pytest.mark.parametrize("mode", ["random", "live_public", "performer_room"])
async def test_separate_ecosystems_never_appear_in_the_party_or_grid(
    client: httpx.AsyncClient, store_url: str, mode: str
) -> None:
    # A presence set in the party, then a session in a separate ecosystem: the query
    # leaves the user out, whatever the presence says.
    user, token = await make_account(store_url)
    _viewer, viewer = await make_account(store_url)
    await _set(client, token)
    assert await _ids(client, viewer, "/v1/presence/party") == [str(user)]
    now = datetime.now(UTC)
    await _sql(
        store_url,
        insert(sessions).values(
            id=uuid.uuid4(),
            user_id=user,
            state="active",
            mode=mode,
            audience_type="public",
            stream_transport="webrtc",
            media_profile="call_random_fast",
            config_hash="sha256:" + "0" * 64,
            lease_expires_at=now + timedelta(minutes=1),
            created_at=now,
            received_mbps=0.6,
        ),
    )
    assert await _ids(client, viewer, "/v1/presence/party") == []
    assert await _ids(client, viewer, "/v1/presence/grid") == []


async def test_with_an_injected_clock_a_silent_presence_is_gone_before_20_s(store_url: str) -> None:
    """The seed test of phase 2 (heartbeat stops -> gone in < 20 s), on the database's terms."""
    await upgrade(store_url)
    database = open_database(store_url)
    user, viewer = uuid.uuid4(), uuid.uuid4()
    t0 = datetime(2026, 12, 4, 12, tzinfo=UTC)
    fields = store.Fields("party", True, "visible", ("chat",))
    query = store.ListQuery(viewer=viewer, visibilities=("visible",), separated_modes=(), limit=10)

    try:

        def set_at(conn: Any) -> None:
            store.upsert_meta(conn, user, "default", fields, now=t0, ttl_s=15)
            metas = store.metas_of(conn, [user], now=t0)[user]
            store.write_presence(conn, user, metas, previous=None, now=t0)

        await database.write(set_at)

        async def listed(moment: datetime) -> list[uuid.UUID]:
            rows = await database.read(lambda conn: store.list_presences(conn, query, now=moment))
            return [r["user_id"] for r in rows]

        assert await listed(t0 + timedelta(seconds=14.9)) == [user]
        # Past the TTL it is out of every list at once, before any sweep.
        assert await listed(t0 + timedelta(seconds=15.1)) == []
        expired = await database.write(
            lambda conn: store.expire_metas(conn, now=t0 + timedelta(seconds=15.1), limit=10)
        )
        assert expired == [user]
    finally:
        await database.close()


@pytest.fixture
async def service(store_url: str) -> AsyncIterator[PresenceService]:
    await upgrade(store_url)
    database = open_database(store_url)
    bus = memory_bus(database)
    await bus.start()
    try:
        yield PresenceService(database, bus, PresencePolicy.from_config(CONFIG))
    finally:
        await bus.stop()
        await database.close()


async def test_the_sweep_removes_a_silent_presence_with_its_left_event(
    service: PresenceService,
) -> None:
    database, bus = service.database, service.bus
    user = uuid.uuid4()
    caller = Caller(user, roles_of("user"), device_id="phone")
    await service.update(
        caller, service.fields("party", is_camera_on=True, visibility=None, capabilities=None)
    )
    assert await service.expire() == 0  # nothing is due yet
    # Time passes without a heartbeat: the meta's expiry is now behind the clock.
    await database.write(
        lambda conn: conn.execute(
            update(presence_metas).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    )
    assert await service.expire() == 1
    left = bus.published[-1][1]
    validate_event(left)
    assert left["type"] == "presence.update" and left["data"]["state"] == "offline"
    assert left["data"]["user_id"] == str(user)
    count = await database.read(
        lambda conn: conn.scalar(select(func.count()).select_from(presences))
    )
    assert count == 0


async def test_one_device_leaving_keeps_the_presence_of_the_other(
    service: PresenceService,
) -> None:
    database, bus = service.database, service.bus
    user = uuid.uuid4()
    phone = Caller(user, roles_of("user"), device_id="phone")
    laptop = Caller(user, roles_of("user"), device_id="laptop")
    await service.update(
        phone, service.fields("party", is_camera_on=False, visibility=None, capabilities=None)
    )
    await service.update(
        laptop,
        service.fields("sniffers", is_camera_on=True, visibility=None, capabilities=None),
    )
    await database.write(
        lambda conn: conn.execute(
            update(presence_metas)
            .where(presence_metas.c.device_id == "laptop")
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    )
    assert await service.expire() == 1
    # The phone's meta remains: the presence stays, now with the phone's fields.
    changed = bus.published[-1][1]["data"]
    assert changed["state"] == "online" and changed["presence_mode"] == "party"
    row = await database.read(lambda conn: store.get_presence(conn, user))
    assert row is not None and row["device_id"] == "phone"
