"""The blocking SDK against a served app: sign in, presence, a socket, tiles, typed throughout."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from voulezvous_sdk import BearerAuth, ControlPlaneClient, Realtime
from voulezvous_sdk.control_plane import models
from voulezvous_sdk.errors import AuthFailedError, RateLimitedError, SchemaInvalidError
from voulezvous_sdk.events import PresenceUpdateEvent

from runtime.app import build_app
from runtime.settings import Settings
from runtime.store import upgrade
from tests.support.served import serve

PASSWORD = "correct horse battery staple"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'vvtv.db'}"
    asyncio.run(upgrade(url))
    app = build_app(Settings(database_url=url, password_hash_profile="cheapest"))

    async def accounts() -> None:
        for name in ("alice", "bruno"):
            await app.state.runtime.identity.create_account(
                f"{name}@example.com", password=PASSWORD
            )

    asyncio.run(accounts())
    with serve(app) as base:
        yield base


def _sign_in(base: str, email: str) -> str:
    with ControlPlaneClient(base) as client:
        tokens = client.identity.issue_token(
            body=models.PasswordGrant(grant_type="password", email=email, password=PASSWORD)
        )
        assert tokens.token_type == "Bearer" and tokens.expires_in_s == 900
        refreshed = client.identity.refresh_access_token(
            body=models.RefreshTokenRequest(refresh_token=tokens.refresh_token)
        )
        return refreshed.access_token


def test_the_sync_sdk_signs_in_sets_presence_and_receives_typed_updates(served: str) -> None:
    alice, bruno = _sign_in(served, "alice@example.com"), _sign_in(served, "bruno@example.com")
    received: list[PresenceUpdateEvent] = []
    subscribed = threading.Event()

    def watch() -> None:
        for event in Realtime(served, token=bruno).presence():
            assert isinstance(event, PresenceUpdateEvent)
            received.append(event)
            subscribed.set()
            if len(received) == 2:
                return

    with ControlPlaneClient(served, auth=BearerAuth(alice)) as client:
        me = client.identity.get_me()
        assert me.roles == ["user"]
        client.presence.set(
            body=models.SetPresenceRequest(presence_mode="party", is_camera_on=True)
        )
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        assert subscribed.wait(10)  # the snapshot: alice, online
        client.presence.set(
            body=models.SetPresenceRequest(
                presence_mode="sniffers", is_camera_on=True, languages=["pt-BR"]
            )
        )
        watcher.join(10)
    assert [e.data.presence_mode for e in received] == ["party", "sniffers"]
    assert [e.seq for e in received] == [0, 1]
    assert all(str(e.data.user_id) == str(me.id) for e in received)


def test_the_sync_sdk_opens_and_closes_tiles(served: str) -> None:
    alice, bruno = _sign_in(served, "alice@example.com"), _sign_in(served, "bruno@example.com")
    with (
        ControlPlaneClient(served, auth=BearerAuth(alice)) as viewer,
        ControlPlaneClient(served, auth=BearerAuth(bruno)) as seen,
    ):
        bruno_id = seen.identity.get_me().id
        seen.presence.set(
            body=models.SetPresenceRequest(presence_mode="sniffers", is_camera_on=True)
        )
        opened = viewer.tiles.open(
            body=models.OpenTilesRequest(
                mode="sniffers", device_class="mobile", user_ids=[bruno_id]
            )
        )
        (granted,) = opened.items
        assert isinstance(granted, models.TileGranted)
        assert granted.tile.audio is False and granted.tile.media_profile == "thumb_low"
        assert opened.budget.max_tiles == 6 and opened.budget.open_tiles == 1
        closed = viewer.tiles.close(tile_id=granted.tile.id)
        assert closed.state == "closed" and closed.close_reason == "closed_by_viewer"
        with pytest.raises(SchemaInvalidError):
            viewer.tiles.open(
                body=models.OpenTilesRequest(
                    mode="random", device_class="desktop", user_ids=[bruno_id]
                )
            )


def test_the_sdk_maps_sign_in_failures_to_typed_errors(served: str) -> None:
    with ControlPlaneClient(served) as client:
        wrong = models.PasswordGrant(
            grant_type="password", email="alice@example.com", password="no"
        )
        for _ in range(10):
            with pytest.raises(AuthFailedError):
                client.identity.issue_token(body=wrong)
        with pytest.raises(RateLimitedError) as limited:
            client.identity.issue_token(body=wrong)
        assert limited.value.status == 429
