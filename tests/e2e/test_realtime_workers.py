"""`vvtv up --workers 2` on PostgreSQL: events cross processes, and a killed worker's sockets.

The kernel spreads connections over the two workers; which worker holds a connection
is read from /proc, so each test knows it crosses processes. Signing in uses the demo
accounts `vvtv up` prints; the SDK (async) drives the whole flow.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from voulezvous_sdk import AsyncControlPlaneClient, AsyncRealtime, BearerAuth
from voulezvous_sdk.control_plane import models
from voulezvous_sdk.events import PresenceUpdateEvent

from generated.events import validate_event
from runtime.identity.seed import DEMO_ACCOUNTS
from tests.support.net import free_port
from tests.support.procnet import holder_of, worker_pids

ROOT = Path(__file__).resolve().parents[2]
ALICE, BRUNO, RITA = DEMO_ACCOUNTS[0], DEMO_ACCOUNTS[1], DEMO_ACCOUNTS[2]

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.timeout(180),
    pytest.mark.parametrize("store_url", ["postgres"], indirect=True),
]


class Deployment:
    """A running `vvtv up --workers 2`."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process, self.port = process, port
        self.base = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}"

    def workers(self) -> list[int]:
        return worker_pids(self.process.pid)

    def holder(self, client_port: int) -> int | None:
        return holder_of(self.workers(), self.port, client_port)


@pytest.fixture
def deployment(tmp_path: Path, store_url: str) -> Iterator[Deployment]:
    port = free_port()
    env = {
        **os.environ,
        "VVTV_ENV": "dev",
        "VVTV_DATABASE_URL": store_url,
        "VVTV_LAB_CHANNEL": "false",  # the API only: no ffmpeg competing for the CPU
        "VVTV_LAB_DIR": str(tmp_path / "lab"),
        "VVTV_LOG_LEVEL": "warning",
        "VVTV_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "vvtv", "up", "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    made = Deployment(process, port)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            with contextlib.suppress(httpx.TransportError):
                ready = httpx.get(f"{made.base}/health/ready", timeout=2).status_code == 200
                if ready and len(made.workers()) == 2:
                    break
            assert time.monotonic() < deadline, "vvtv up did not become ready"
            time.sleep(0.3)
        yield made
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for pid in made.workers() if process.poll() is None else []:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


async def _sign_in(base: str, email: str, password: str) -> str:
    async with AsyncControlPlaneClient(base) as client:
        tokens = await client.identity.issue_token(
            body=models.PasswordGrant(grant_type="password", email=email, password=password)
        )
    return tokens.access_token


def _local_port(socket: Any) -> int:
    return int(socket.transport.get_extra_info("sockname")[1])


async def _socket_on(
    deployment: Deployment, token: str, *, not_on: int | None, on: int | None = None
) -> tuple[Any, int]:
    """A presence socket held by a worker other than ``not_on`` (or by ``on``)."""
    for _ in range(40):
        socket = await websockets.connect(
            f"{deployment.ws}/ws/presence", additional_headers={"Authorization": f"Bearer {token}"}
        )
        holder = deployment.holder(_local_port(socket))
        if holder is not None and holder != not_on and (on is None or holder == on):
            return socket, holder
        await socket.close()
    raise AssertionError("could not place a socket on the other worker")


def _http_port(transport: httpx.AsyncHTTPTransport) -> int:
    """The local port of the transport's one kept-alive connection (httpcore's pool)."""
    (connection,) = transport._pool.connections
    stream = connection._connection._network_stream  # type: ignore[union-attr]
    return int(stream.get_extra_info("socket").getsockname()[1])


async def _client_on(
    deployment: Deployment, token: str, worker: int
) -> tuple[AsyncControlPlaneClient, httpx.AsyncHTTPTransport]:
    """An SDK client whose kept-alive connection is served by ``worker``."""
    for _ in range(40):
        transport = httpx.AsyncHTTPTransport()
        client = AsyncControlPlaneClient(
            deployment.base, auth=BearerAuth(token), transport=transport
        )
        await client.identity.get_me()
        if deployment.holder(_http_port(transport)) == worker:
            return client, transport
        await client.aclose()
    raise AssertionError("could not reach that worker")


async def test_the_sdk_receives_a_presence_set_through_the_other_worker(
    deployment: Deployment,
) -> None:
    bruno = await _sign_in(deployment.base, BRUNO.email, BRUNO.password)
    alice = await _sign_in(deployment.base, ALICE.email, ALICE.password)
    opened: asyncio.Queue[Any] = asyncio.Queue()

    async def connect(url: str, headers: Any) -> Any:
        socket = await websockets.connect(url, additional_headers=dict(headers))
        opened.put_nowait(socket)
        return socket

    realtime = AsyncRealtime(deployment.base, token=bruno, connect=connect)
    stream = realtime.presence()
    pending = asyncio.ensure_future(anext(stream))
    subscriber = deployment.holder(_local_port(await asyncio.wait_for(opened.get(), 10)))
    assert subscriber is not None
    other = next(pid for pid in deployment.workers() if pid != subscriber)
    publisher, transport = await _client_on(deployment, alice, other)
    try:
        await publisher.presence.set(
            body=models.SetPresenceRequest(presence_mode="party", is_camera_on=True)
        )
        assert deployment.holder(_http_port(transport)) == other  # published in worker B
        event = await asyncio.wait_for(pending, 10)
        assert isinstance(event, PresenceUpdateEvent)  # typed, checked against its schema
        assert event.data.state == "online" and event.data.presence_mode == "party"
        me = await publisher.identity.get_me()
        assert str(event.data.user_id) == str(me.id)
        # The next change goes the same way, numbered on.
        await publisher.presence.set(
            body=models.SetPresenceRequest(presence_mode="sniffers", is_camera_on=True)
        )
        second = await asyncio.wait_for(anext(stream), 10)
        assert second.seq == event.seq + 1 and second.data.presence_mode == "sniffers"
    finally:
        await stream.aclose()
        await publisher.aclose()


async def test_a_killed_workers_presence_is_gone_from_the_other_within_20_s(
    deployment: Deployment,
) -> None:
    alice = await _sign_in(deployment.base, ALICE.email, ALICE.password)
    bruno = await _sign_in(deployment.base, BRUNO.email, BRUNO.password)
    # Alice's presence socket (it keeps her presence alive) on one worker, Bruno's on the other.
    alice_socket, doomed = await _socket_on(deployment, alice, not_on=None)
    bruno_socket, survivor = await _socket_on(deployment, bruno, not_on=doomed)
    async with httpx.AsyncClient(base_url=deployment.base, timeout=10) as http:
        set_answer = await http.post(
            "/v1/presence",
            json={"presence_mode": "party", "is_camera_on": True},
            headers={"Authorization": f"Bearer {alice}"},
        )
        assert set_answer.status_code == 200, set_answer.text
        first_expiry = set_answer.json()["expires_at"]
        online = await _presence_frame(bruno_socket, "online")
        assert online["data"]["user_id"] == set_answer.json()["user_id"]
        # Without any REST heartbeat, the open socket renews her presence (every 5 s).
        await asyncio.sleep(6)
        party = await http.get("/v1/presence/party", headers={"Authorization": f"Bearer {bruno}"})
        (listed,) = party.json()["items"]
        assert listed["expires_at"] > first_expiry

        os.kill(doomed, signal.SIGKILL)  # her socket's worker dies; nothing closes cleanly
        killed_at = time.monotonic()
        left = await _presence_frame(bruno_socket, "offline", within=25)
        gone_after = time.monotonic() - killed_at
        assert left["data"]["user_id"] == set_answer.json()["user_id"]
        assert gone_after < 20, f"left after {gone_after:.1f} s"
        assert deployment.holder(_local_port(bruno_socket)) == survivor  # it came through B
        party = await http.get("/v1/presence/party", headers={"Authorization": f"Bearer {bruno}"})
        assert party.json()["items"] == []
    with contextlib.suppress(Exception):
        await alice_socket.close()
    await bruno_socket.close()


async def _presence_frame(socket: Any, state: str, within: float = 10) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            frame = validate_event(json.loads(await socket.recv()))
            if frame["data"]["state"] == state:
                return frame
