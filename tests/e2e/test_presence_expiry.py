"""The seed test of phase 2 in real time: heartbeats stop, the presence is gone in < 20 s."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from generated.events import validate_event
from runtime.app import build_app
from runtime.settings import Settings
from runtime.store import upgrade
from tests.support.accounts import make_account
from tests.support.served import serve

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    url = f"sqlite:///{tmp_path / 'vvtv.db'}"
    asyncio.run(upgrade(url))
    with serve(build_app(Settings(database_url=url))) as base:
        yield base, url


async def test_a_presence_without_heartbeats_leaves_every_list_within_20_s(
    served: tuple[str, str],
) -> None:
    base, url = served
    user, token = await make_account(url)
    _watcher, watcher = await make_account(url)
    auth = {"Authorization": f"Bearer {watcher}"}
    async with (
        httpx.AsyncClient(base_url=base, timeout=10) as http,
        websockets.connect(
            base.replace("http", "ws", 1) + "/ws/presence", additional_headers=auth
        ) as socket,
    ):
        answer = await http.post(
            "/v1/presence",
            json={"presence_mode": "sniffers", "is_camera_on": True},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200
        set_at = time.monotonic()  # the last heartbeat: none follows (the set counts as one)
        async with asyncio.timeout(25):
            while True:
                frame = validate_event(json.loads(await socket.recv()))
                if frame["data"]["user_id"] == str(user) and frame["data"]["state"] == "offline":
                    break
        gone_after = time.monotonic() - set_at
        # The anti-ghost TTL is 15 s; the sweep runs every 500 ms by the database clock.
        assert 15 <= gone_after < 20, f"gone after {gone_after:.1f} s"
        for path in ("/v1/presence/party", "/v1/presence/grid"):
            listed = (await http.get(path, headers=auth)).json()["items"]
            assert listed == []
        beat = await http.post(
            "/v1/presence/heartbeat", headers={"Authorization": f"Bearer {token}"}
        )
        assert beat.status_code == 404  # a late heartbeat cannot bring it back
