"""Tiles on both backends: budgets held by the database, viewport gating, fail-closed audio.

Through the HTTP API of the app (its lifespan runs the expiry sweeper every 500 ms, as
``cost-tiers.yaml`` says), and through ``TilesService`` itself where a test needs another
policy or a provider that misbehaves. Outcomes are judged from the database.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from runtime.app import build_app
from runtime.auth import Caller
from runtime.auth.roles import roles_of
from runtime.config import load_config
from runtime.events import build_event_bus
from runtime.media import Endpoints, FakeMediaProvider
from runtime.presence.service import PresencePolicy, PresenceService
from runtime.settings import Settings
from runtime.store import Database, open_database, upgrade
from runtime.tiles.service import TilesPolicy, TilesService
from runtime.tiles.tables import tile_budgets, tiles
from tests.support.accounts import make_account

Client = AsyncTestClient[Litestar]
Headers = dict[str, str]


@pytest.fixture
async def app(store_url: str) -> Litestar:
    await upgrade(store_url)
    settings = Settings(database_url=store_url, password_hash_profile="cheapest", account_cache_s=0)
    return build_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[Client]:
    async with AsyncTestClient(app) as http:  # runs the lifespan: the expiry sweeper too
        yield http


@pytest.fixture
async def database(store_url: str) -> AsyncIterator[Database]:
    """The test's own handle on the database (the app runs on the client's thread and loop)."""
    opened = open_database(store_url)
    try:
        yield opened
    finally:
        await opened.close()


async def _account(store_url: str) -> tuple[uuid.UUID, Headers]:
    user_id, token = await make_account(store_url)
    return user_id, {"Authorization": f"Bearer {token}"}


async def _present(
    client: Client,
    store_url: str,
    *,
    camera: bool = True,
    visibility: str | None = None,
) -> tuple[uuid.UUID, Headers]:
    """A new account with a party presence set with its own token."""
    user_id, headers = await _account(store_url)
    body: dict[str, Any] = {"presence_mode": "party", "is_camera_on": camera}
    if visibility is not None:
        body["visibility"] = visibility
    answer = await client.post("/v1/presence", json=body, headers=headers)
    assert answer.status_code in (200, 201), answer.text
    return user_id, headers


async def _crowd(client: Client, store_url: str, count: int) -> list[uuid.UUID]:
    return [(await _present(client, store_url))[0] for _ in range(count)]


async def _open(
    client: Client,
    headers: Headers,
    user_ids: list[uuid.UUID],
    *,
    mode: str = "party",
    device_class: str = "desktop",
) -> dict[str, Any]:
    body = {"mode": mode, "device_class": device_class, "user_ids": [str(u) for u in user_ids]}
    answer = await client.post("/v1/tiles", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _granted(tile_set: dict[str, Any]) -> list[dict[str, Any]]:
    return [item["tile"] for item in tile_set["items"] if item["status"] == "granted"]


def _refusals(tile_set: dict[str, Any]) -> list[str]:
    return [item["problem"]["code"] for item in tile_set["items"] if item["status"] == "refused"]


async def _tile_row(database: Database, tile_id: str | uuid.UUID) -> dict[str, Any]:
    wanted = uuid.UUID(str(tile_id))

    def work(conn: Connection) -> dict[str, Any]:
        return dict(conn.execute(select(tiles).where(tiles.c.id == wanted)).mappings().one())

    return await database.read(work)


async def _counts(database: Database, viewer: uuid.UUID) -> tuple[int, int]:
    """The viewer's budget counter and their open tiles, as the database has them."""

    def work(conn: Connection) -> tuple[int, int]:
        counter = conn.scalar(
            select(func.coalesce(func.sum(tile_budgets.c.open_tiles), 0)).where(
                tile_budgets.c.viewer_id == viewer
            )
        )
        open_tiles = conn.scalar(
            select(func.count())
            .select_from(tiles)
            .where(tiles.c.viewer_id == viewer, tiles.c.state == "open")
        )
        return int(counter or 0), int(open_tiles or 0)

    return await database.read(work)


async def _wait_closed(database: Database, tile_id: str, *, within_s: float) -> dict[str, Any]:
    """Poll the tile's row until it is closed (and revoked, when it had endpoints)."""
    deadline = time.monotonic() + within_s
    while True:
        row = await _tile_row(database, tile_id)
        if row["state"] == "closed" and (row["revoked_at"] is not None or not row["endpoints"]):
            return row
        assert time.monotonic() < deadline, f"tile still {row['state']}: {row}"
        await asyncio.sleep(0.05)


def _caller(user_id: uuid.UUID) -> Caller:
    return Caller(user_id, roles_of("user"))


def _service(database: Database, provider: Any, policy: TilesPolicy | None = None) -> TilesService:
    """A tiles service over ``database``, as ``runtime/app.py`` builds it, with ``provider``.

    Opening tiles reads presences and writes tiles only: the bus is never started.
    """
    config = load_config()
    bus = build_event_bus("memory://", database, "memory://")
    presence = PresenceService(database, bus, PresencePolicy.from_config(config))
    return TilesService(database, provider, presence, policy or TilesPolicy.from_config(config))


# ---------------------------------------------------------------------- budgets


async def test_thirteenth_tile_on_desktop_and_seventh_on_mobile_are_refused(
    client: Client, store_url: str
) -> None:
    users = await _crowd(client, store_url, 13)
    _, desktop = await _account(store_url)
    answer = await _open(client, desktop, users)
    granted = _granted(answer)
    assert len(granted) == 12
    assert [item["status"] for item in answer["items"]] == ["granted"] * 12 + ["refused"]
    assert answer["items"][12]["user_id"] == str(users[12])
    assert _refusals(answer) == ["LIMIT_EXCEEDED"]
    assert answer["budget"] == {"device_class": "desktop", "max_tiles": 12, "open_tiles": 12}
    for tile in granted:
        assert tile["audio"] is False and tile["media_profile"] == "thumb_low"
        assert tile["endpoints"]["audio"] == "off"
        assert tile["state"] == "open" and tile["mode"] == "party"
        assert tile["device_class"] == "desktop" and tile["close_reason"] is None
    assert [t["user_id"] for t in granted] == [str(u) for u in users[:12]]

    _, phone = await _account(store_url)
    answer = await _open(client, phone, users[:7], device_class="mobile")
    assert len(_granted(answer)) == 6
    assert _refusals(answer) == ["LIMIT_EXCEEDED"]
    assert answer["items"][6]["user_id"] == str(users[6])
    assert answer["budget"] == {"device_class": "mobile", "max_tiles": 6, "open_tiles": 6}
    assert all(t["endpoints"]["audio"] == "off" for t in _granted(answer))


async def test_opening_the_same_set_again_confirms_it_in_view(
    database: Database, client: Client, store_url: str
) -> None:
    users = await _crowd(client, store_url, 3)
    viewer, headers = await _account(store_url)
    first = _granted(await _open(client, headers, users))
    await asyncio.sleep(0.3)
    again = await _open(client, headers, users)
    second = _granted(again)
    assert [t["id"] for t in second] == [t["id"] for t in first]
    for before, after in zip(first, second, strict=True):
        assert datetime.fromisoformat(after["in_view_until"]) > datetime.fromisoformat(
            before["in_view_until"]
        )
        assert after["opened_at"] == before["opened_at"]
        assert after["endpoints"] == before["endpoints"]
    assert again["budget"]["open_tiles"] == 3
    assert await _counts(database, viewer) == (3, 3)


# ---------------------------------------------------------------------- viewport gating


async def test_a_tile_out_of_view_for_two_seconds_is_disconnected(
    database: Database, client: Client, store_url: str
) -> None:
    users = await _crowd(client, store_url, 2)
    viewer, headers = await _account(store_url)
    started = time.monotonic()
    tile = _granted(await _open(client, headers, users[:1]))[0]
    row = await _wait_closed(database, tile["id"], within_s=4.0)
    waited = time.monotonic() - started
    assert row["close_reason"] == "out_of_viewport"
    assert 2.0 <= (row["closed_at"] - row["opened_at"]).total_seconds() <= 3.5
    assert waited <= 3.5
    assert row["revoked_at"] is not None  # its endpoints are revoked
    assert await _counts(database, viewer) == (0, 0)
    # DELETE now shows it as it is, closed by the sweeper.
    shown = await client.delete(f"/v1/tiles/{tile['id']}", headers=headers)
    assert shown.status_code == 200, shown.text
    assert shown.json()["close_reason"] == "out_of_viewport"
    # Its slot is back: with the budget at 1, another tile opens.
    reopened = await _open(client, headers, users)
    assert len(_granted(reopened)) == 2
    assert _granted(reopened)[0]["id"] != tile["id"]


async def test_a_tile_confirmed_every_second_stays_open(
    database: Database, client: Client, store_url: str
) -> None:
    users = await _crowd(client, store_url, 1)
    _, headers = await _account(store_url)
    tile = _granted(await _open(client, headers, users))[0]
    started = time.monotonic()
    while time.monotonic() - started < 3.3:
        await asyncio.sleep(0.9)
        assert [t["id"] for t in _granted(await _open(client, headers, users))] == [tile["id"]]
    row = await _tile_row(database, tile["id"])
    assert row["state"] == "open" and row["close_reason"] is None


async def test_a_tile_closes_when_its_user_turns_the_camera_off(
    database: Database, client: Client, store_url: str
) -> None:
    user, user_headers = await _present(client, store_url)
    viewer, headers = await _account(store_url)
    tile = _granted(await _open(client, headers, [user]))[0]
    off = {"presence_mode": "party", "is_camera_on": False}
    answer = await client.post("/v1/presence", json=off, headers=user_headers)
    assert answer.status_code in (200, 201), answer.text
    started = time.monotonic()
    row = await _wait_closed(database, tile["id"], within_s=1.5)
    assert time.monotonic() - started < 1.5
    assert row["close_reason"] == "presence_gone"
    assert await _counts(database, viewer) == (0, 0)


# ---------------------------------------------------------------------- refusals


async def test_who_cannot_be_shown_is_refused(client: Client, store_url: str) -> None:
    camera_off, _ = await _present(client, store_url, camera=False)
    hidden, _ = await _present(client, store_url, visibility="hidden")
    party_only, _ = await _present(client, store_url, visibility="party_only")
    absent, _ = await _account(store_url)
    viewer, headers = await _present(client, store_url)

    answer = await _open(client, headers, [camera_off, absent, hidden, viewer, party_only])
    codes = {item["user_id"]: item.get("problem", {}).get("code") for item in answer["items"]}
    assert codes == {
        str(camera_off): "CONFLICT",
        str(absent): "NOT_FOUND",
        str(hidden): "NOT_FOUND",
        str(viewer): "NOT_FOUND",
        str(party_only): None,  # the party rail shows party-only presences
    }
    assert answer["budget"]["open_tiles"] == 1

    # The sniffers grid shows visible presences only: the party-only presence is not
    # found there, even though this device has its tile open from the party rail (that
    # tile is not the grid's to keep in view), while a visible one is granted.
    visible, _ = await _present(client, store_url)
    sniffers = await _open(client, headers, [party_only, visible], mode="sniffers")
    assert [i["status"] for i in sniffers["items"]] == ["refused", "granted"]
    assert _refusals(sniffers) == ["NOT_FOUND"]
    _, newcomer = await _account(store_url)
    assert _refusals(await _open(client, newcomer, [party_only], mode="sniffers")) == ["NOT_FOUND"]


async def test_a_mode_without_tiles_is_422_at_mode(client: Client, store_url: str) -> None:
    users = await _crowd(client, store_url, 1)
    _, headers = await _account(store_url)
    body = {"mode": "random", "device_class": "desktop", "user_ids": [str(users[0])]}
    answer = await client.post("/v1/tiles", json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert [e["pointer"] for e in problem["errors"]] == ["/mode"]


# ---------------------------------------------------------------------- closing


async def test_delete_closes_once_and_hides_other_viewers_tiles(
    database: Database, client: Client, store_url: str
) -> None:
    users = await _crowd(client, store_url, 1)
    viewer, headers = await _account(store_url)
    _, other = await _account(store_url)
    tile = _granted(await _open(client, headers, users))[0]

    foreign = await client.delete(f"/v1/tiles/{tile['id']}", headers=other)
    assert foreign.status_code == 404, foreign.text
    assert foreign.json()["code"] == "NOT_FOUND"
    unknown = await client.delete(f"/v1/tiles/{uuid.uuid4()}", headers=headers)
    assert unknown.status_code == 404

    closed = await client.delete(f"/v1/tiles/{tile['id']}", headers=headers)
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["id"] == tile["id"] and body["state"] == "closed"
    assert body["close_reason"] == "closed_by_viewer" and body["closed_at"] is not None
    assert body["audio"] is False
    again = await client.delete(f"/v1/tiles/{tile['id']}", headers=headers)
    assert again.status_code == 200
    assert again.json() == body
    row = await _tile_row(database, tile["id"])
    assert row["revoked_at"] is not None
    assert await _counts(database, viewer) == (0, 0)


# ---------------------------------------------------------------------- concurrency


async def test_two_processes_never_pass_the_budget_together(client: Client, store_url: str) -> None:
    users = await _crowd(client, store_url, 16)
    viewer, _ = await _account(store_url)
    caller = _caller(viewer)
    providers = [FakeMediaProvider(), FakeMediaProvider()]
    first_db, second_db = open_database(store_url), open_database(store_url)
    one, two = _service(first_db, providers[0]), _service(second_db, providers[1])
    try:
        (a, _), (b, _) = await asyncio.gather(
            one.open(caller, "party", "desktop", users[:8]),
            two.open(caller, "party", "desktop", users[8:]),
        )
        outcomes = a + b
        granted = [o for o in outcomes if o.tile is not None]
        assert len(granted) <= 12
        assert len(granted) == 12  # nothing else stood in the way
        assert {o.code for o in outcomes if o.tile is None} == {"LIMIT_EXCEEDED"}
        assert await _counts(first_db, viewer) == (len(granted), len(granted))
        assert sum(len(p.created) for p in providers) == len(granted)
    finally:
        await first_db.close()
        await second_db.close()


async def test_two_processes_opening_the_same_set_share_the_tiles(
    client: Client, store_url: str
) -> None:
    users = await _crowd(client, store_url, 8)
    viewer, _ = await _account(store_url)
    caller = _caller(viewer)
    providers = [FakeMediaProvider(), FakeMediaProvider()]
    first_db, second_db = open_database(store_url), open_database(store_url)
    one, two = _service(first_db, providers[0]), _service(second_db, providers[1])
    try:
        # Two tabs of one device, served by two processes: the same tiles, once each.
        (a, _), (b, _) = await asyncio.gather(
            one.open(caller, "party", "desktop", users),
            two.open(caller, "party", "desktop", users),
        )
        assert all(o.tile is not None for o in a + b), [o.code for o in a + b]
        assert [o.tile["id"] for o in a if o.tile] == [o.tile["id"] for o in b if o.tile]
        assert await _counts(first_db, viewer) == (8, 8)
        assert sum(len(p.created) for p in providers) == 8
    finally:
        await first_db.close()
        await second_db.close()


# ---------------------------------------------------------------------- platform and provider


async def test_the_platform_total_refuses_with_the_kill_switch(
    database: Database, client: Client, store_url: str
) -> None:
    users = await _crowd(client, store_url, 3)
    viewer, _ = await _account(store_url)
    policy = replace(TilesPolicy.from_config(load_config()), max_total=2)
    service = _service(database, FakeMediaProvider(), policy)
    outcomes, budget = await service.open(_caller(viewer), "party", "desktop", users)
    assert [o.code for o in outcomes] == [None, None, "KILL_SWITCH_ACTIVE"]
    assert budget.open_tiles == 2
    first = outcomes[0].tile
    assert first is not None
    await service.close(_caller(viewer), first["id"])
    outcomes, budget = await service.open(_caller(viewer), "party", "desktop", users[1:])
    assert [o.code for o in outcomes] == [None, None]
    assert budget.open_tiles == 2
    assert await _counts(database, viewer) == (2, 2)


async def test_a_profile_with_audio_is_refused_before_any_endpoint(
    database: Database, client: Client, store_url: str
) -> None:
    users = await _crowd(client, store_url, 2)
    viewer, _ = await _account(store_url)
    policy = TilesPolicy.from_config(load_config())
    loud = replace(policy.profiles["thumb_low"], silent=False)
    provider = FakeMediaProvider()
    service = _service(
        database, provider, replace(policy, profiles={**policy.profiles, "thumb_low": loud})
    )
    outcomes, budget = await service.open(_caller(viewer), "party", "desktop", users)
    assert [o.code for o in outcomes] == ["INTERNAL", "INTERNAL"]
    assert budget.open_tiles == 0
    assert provider.created == []
    assert await _counts(database, viewer) == (0, 0)


class _LoudProvider(FakeMediaProvider):
    """A provider that offers audio on thumbnails (a bug the service must not pass on)."""

    async def create_webrtc_endpoints(self, session_id: uuid.UUID, profile_name: str) -> Endpoints:
        made = await super().create_webrtc_endpoints(session_id, profile_name)
        return Endpoints(session_id, profile_name, {**made.details, "audio": "on"})


async def test_endpoints_with_audio_are_revoked_and_refused(
    database: Database, client: Client, store_url: str
) -> None:
    users = await _crowd(client, store_url, 1)
    viewer, _ = await _account(store_url)
    provider = _LoudProvider()
    service = _service(database, provider)
    outcomes, budget = await service.open(_caller(viewer), "party", "desktop", users)
    assert [o.code for o in outcomes] == ["INTERNAL"]
    assert budget.open_tiles == 0
    [(tile_id, _)] = provider.created
    assert provider.revoked == [tile_id]
    row = await _tile_row(database, tile_id)
    assert row["state"] == "closed" and row["close_reason"] == "provider_failed"
    assert await _counts(database, viewer) == (0, 0)


async def test_a_provider_that_fails_gives_the_slot_back(
    database: Database, client: Client, store_url: str
) -> None:
    users = await _crowd(client, store_url, 2)
    viewer, _ = await _account(store_url)
    provider = FakeMediaProvider()
    provider.fail_creates = 1
    service = _service(database, provider)
    outcomes, budget = await service.open(_caller(viewer), "party", "desktop", users[:1])
    assert [o.code for o in outcomes] == ["PROVIDER_FAILED"]
    assert budget.open_tiles == 0
    assert await _counts(database, viewer) == (0, 0)

    def work(conn: Connection) -> list[dict[str, Any]]:
        query = select(tiles).where(tiles.c.viewer_id == viewer)
        return [dict(r) for r in conn.execute(query).mappings()]

    [row] = await database.read(work)
    assert row["state"] == "closed" and row["close_reason"] == "provider_failed"
    assert row["endpoints"] is None
    # The slot is back, and the user can be shown at the next try.
    outcomes, budget = await service.open(_caller(viewer), "party", "desktop", users)
    assert [o.code for o in outcomes] == [None, None]
    assert budget.open_tiles == 2
