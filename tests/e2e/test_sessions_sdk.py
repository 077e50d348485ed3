"""create -> heartbeat -> transition -> end through the generated SDK, sync and async."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
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
from runtime.auth import Caller, TokenService
from runtime.settings import DEV_TOKEN_SECRET, Settings
from runtime.store import upgrade
from tests.support.net import free_port

TOKENS = TokenService(DEV_TOKEN_SECRET, ttl=timedelta(minutes=15))


def _token(user: uuid.UUID) -> str:
    return TOKENS.issue(Caller(user))


@pytest.fixture
async def app(tmp_path: Path) -> Litestar:
    url = f"sqlite:///{tmp_path / 'vvtv.db'}"
    await upgrade(url)
    return build_app(Settings(database_url=url))


async def test_async_client_drives_the_whole_lifecycle(app: Litestar) -> None:
    user = uuid.uuid4()
    transport = httpx.ASGITransport(app=app)
    async with AsyncControlPlaneClient(
        "http://app.test", auth=BearerAuth(_token(user)), transport=transport
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
        "http://app.test", auth=BearerAuth(_token(uuid.uuid4())), transport=transport
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


def test_sync_client_against_the_running_app(served: str) -> None:
    user = uuid.uuid4()
    with ControlPlaneClient(served, auth=BearerAuth(_token(user))) as client:
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
