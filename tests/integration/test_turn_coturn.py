"""A relay allocated through a real coturn on loopback with our REST credentials."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aioice.turn import create_turn_endpoint

from runtime.media.turn import TurnSecrets

SECRET = "north"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[int]:
    binary = shutil.which("turnserver")
    assert binary, "coturn is needed (make dev-install installs it)"
    port = _free_udp_port()
    process = subprocess.Popen(
        [
            binary,
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            f"--listening-port={port}",
            "--min-port=49152",
            "--max-port=49200",
            "--use-auth-secret",
            f"--static-auth-secret={SECRET}",
            "--realm=voulezvous.test",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--allow-loopback-peers",
            f"--pidfile={tmp_path / 'turn.pid'}",
            "--log-file=stdout",
            "--simple-log",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(0.5)
    try:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_a_relay_is_allocated_with_rest_credentials(coturn: int) -> None:
    creds = TurnSecrets([SECRET], [f"turn:127.0.0.1:{coturn}"]).issue("alice", now=time.time())
    transport, _ = await asyncio.wait_for(
        create_turn_endpoint(
            asyncio.DatagramProtocol, ("127.0.0.1", coturn), creds.username, creds.password
        ),
        timeout=10,
    )
    try:
        relayed = transport.get_extra_info("sockname")
        assert relayed[0] == "127.0.0.1" and 49152 <= relayed[1] <= 49200
    finally:
        transport.close()


async def test_wrong_credentials_are_refused(coturn: int) -> None:
    creds = TurnSecrets(["not-the-secret"], []).issue("mallory", now=time.time())
    with pytest.raises(Exception):  # noqa: B017 - aioice raises its own TransactionFailed
        await asyncio.wait_for(
            create_turn_endpoint(
                asyncio.DatagramProtocol, ("127.0.0.1", coturn), creds.username, creds.password
            ),
            timeout=10,
        )
