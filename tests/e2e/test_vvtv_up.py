"""`vvtv up` as a process: it serves, prints where things are, and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]


def _cmdline(pid: str) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _token() -> str:
    import uuid  # noqa: PLC0415
    from datetime import timedelta  # noqa: PLC0415

    from runtime.auth import Caller, TokenService  # noqa: PLC0415
    from runtime.settings import DEV_TOKEN_SECRET  # noqa: PLC0415

    return TokenService(DEV_TOKEN_SECRET, ttl=timedelta(minutes=5)).issue(Caller(uuid.uuid4()))


def _start(tmp_path: Path, port: int, *extra: str, url: str = "") -> subprocess.Popen[str]:
    env = {**os.environ, "VVTV_DATABASE_URL": url or f"sqlite:///{tmp_path / 'vvtv.db'}"}
    return subprocess.Popen(
        [sys.executable, "-m", "vvtv", "up", "--port", str(port), *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_ready(port: int, proc: subprocess.Popen[str]) -> httpx.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("vvtv up did not answer within 30 s")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_up_serves_ready_and_stops_cleanly(tmp_path: Path, stop: signal.Signals) -> None:
    port = free_port()
    proc = _start(tmp_path, port)
    try:
        ready = _wait_ready(port, proc)
        assert ready.status_code == 200, ready.text
        proc.send_signal(stop)
        output, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
    assert f"http://127.0.0.1:{port}/health/ready" in output
    assert "cost tier    COST_LOW" in output
    assert "vvtv stopped" in output
    assert "Traceback" not in output


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_up_with_two_workers_serves_and_stops_cleanly(tmp_path: Path, store_url: str) -> None:
    port = free_port()
    proc = _start(tmp_path, port, "--workers", "2", url=store_url)
    try:
        assert _wait_ready(port, proc).status_code == 200
        # Two worker processes under the supervisor, each with its own app.
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        workers = [c for c in children if "spawn_main" in _cmdline(c)]
        token = _token()
        created = httpx.post(
            f"http://127.0.0.1:{port}/v1/sessions",
            json={"mode": "party"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert len(workers) == 2, children
    assert created.status_code == 201, created.text
    assert proc.returncode == 0, output
    assert "workers      2" in output and "vvtv stopped" in output
