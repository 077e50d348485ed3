"""create -> heartbeat -> transition -> end through the generated SDK, sync and async."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from litestar import Litestar
from voulezvous_sdk import AsyncControlPlaneClient, BearerAuth, ControlPlaneClient
from voulezvous_sdk.control_plane import models
from voulezvous_sdk.errors import (
    ConsentRequiredError,
    InvalidTransitionError,
    NotFoundError,
    SchemaInvalidError,
)

from runtime.app import build_app
from runtime.settings import Settings
from runtime.store import upgrade
from tests.support.accounts import make_account
from tests.support.net import free_port


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'vvtv.db'}"


@pytest.fixture
async def app(url: str) -> Litestar:
    await upgrade(url)
    return build_app(Settings(database_url=url))


async def test_async_client_drives_the_whole_lifecycle(app: Litestar, url: str) -> None:
    user, token = await make_account(url)
    _stranger, other = await make_account(url)
    transport = httpx.ASGITransport(app=app)
    async with AsyncControlPlaneClient(
        "http://app.test", auth=BearerAuth(token), transport=transport
    ) as client:
        created = await client.sessions.create(body=models.CreateSessionRequest(mode="party"))
        assert (created.state, created.mode, created.user_id) == ("active", "party", user)
        assert created.media_profile == "broadcast_hls" and created.parent_session_id is None
        assert created.config_hash.startswith("sha256:") and created.cost_tier == "COST_LOW"

        lease = await client.sessions.heartbeat(session_id=created.id)
        assert lease.version == created.version + 1
        assert lease.lease_expires_at >= created.lease_expires_at

        moved = await client.sessions.transition(
            session_id=created.id, body=models.TransitionSessionRequest(to_mode="sniffers")
        )
        assert moved.handover == "crossfade"  # from mode-manifests.yaml (party -> sniffers)
        assert moved.ended.id == created.id and moved.ended.state == "ending"
        assert moved.ended.end_reason == "transition"
        assert moved.session.parent_session_id == created.id
        assert moved.session.media_profile == "thumb_low"

        # The ended session cannot move again: one successor only.
        with pytest.raises(InvalidTransitionError):
            await client.sessions.transition(
                session_id=created.id, body=models.TransitionSessionRequest(to_mode="party")
            )
        ended = await client.sessions.end(session_id=moved.session.id)
        assert ended.state == "ending" and ended.end_reason == "user_ended"
        assert ended.cost_estimate.media_profile == "thumb_low"
        again = await client.sessions.end(session_id=moved.session.id)
        assert again.state == "ending"  # ending twice changes nothing

        with pytest.raises(SchemaInvalidError):
            await client.sessions.create(
                body=models.CreateSessionRequest(mode="party", media_profile="thumb_low2")
            )
        with pytest.raises(ConsentRequiredError):
            await client.sessions.create(body=models.CreateSessionRequest(mode="private_call"))

    # Somebody else's session reads as absent.
    async with AsyncControlPlaneClient(
        "http://app.test", auth=BearerAuth(other), transport=transport
    ) as stranger:
        with pytest.raises(NotFoundError):
            await stranger.sessions.get(session_id=created.id)


@pytest.fixture
def served(app: Litestar) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_sync_client_against_the_running_app(served: str, url: str) -> None:
    _user, token = asyncio.run(make_account(url))
    with ControlPlaneClient(served, auth=BearerAuth(token)) as client:
        created = client.sessions.create(body=models.CreateSessionRequest(mode="broadcast"))
        client.sessions.heartbeat(session_id=created.id)
        moved = client.sessions.transition(
            session_id=created.id, body=models.TransitionSessionRequest(to_mode="party")
        )
        assert moved.handover == "crossfade" and moved.session.parent_session_id == created.id
        assert client.sessions.get(session_id=moved.session.id).state == "active"
        assert client.sessions.end(session_id=moved.session.id).state == "ending"
    with ControlPlaneClient(served) as anonymous, pytest.raises(Exception) as caught:
        anonymous.sessions.get(session_id=created.id)
    assert getattr(caught.value, "status", None) == 401
