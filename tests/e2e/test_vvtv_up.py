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


def _sign_in(port: int) -> str:
    """Sign in as the first demo account `vvtv up` made, as the README shows."""
    from runtime.identity.seed import DEMO_ACCOUNTS  # noqa: PLC0415

    demo = DEMO_ACCOUNTS[0]
    answer = httpx.post(
        f"http://127.0.0.1:{port}/v1/auth/token",
        json={"grant_type": "password", "email": demo.email, "password": demo.password},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _start(tmp_path: Path, port: int, *extra: str, url: str = "") -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "VVTV_DATABASE_URL": url or f"sqlite:///{tmp_path / 'vvtv.db'}",
        "VVTV_LAB_DIR": str(tmp_path / "lab"),
    }
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
        token = _sign_in(port)
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
    assert "demo accounts" in output and "alice@demo.voulezvous.tv" in output


@pytest.mark.timeout(300)
def test_up_plays_the_demo_channel(tmp_path: Path) -> None:
    """With no source configured, a fresh `vvtv up` makes its demo library and goes on air."""
    port = free_port()
    proc = _start(tmp_path, port)
    url = f"http://127.0.0.1:{port}/live/main.m3u8"
    try:
        assert _wait_ready(port, proc).status_code == 200
        deadline = time.monotonic() + 180
        while httpx.get(url, timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "the channel did not start within 180 s"
            assert proc.poll() is None
            time.sleep(1)
        playlist = httpx.get(url, timeout=5)
        assert playlist.headers["content-type"] == "application/vnd.apple.mpegurl"
        assert playlist.headers["cache-control"] == "no-cache"
        segment = next(line for line in playlist.text.splitlines() if line.endswith(".ts"))
        media = httpx.get(f"http://127.0.0.1:{port}/live/{segment}", timeout=5)
        assert media.status_code == 200 and media.headers["content-type"] == "video/mp2t"
        assert "immutable" in media.headers["cache-control"]
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert probe.returncode == 0, probe.stderr
        assert {"video", "audio"} <= set(probe.stdout.split())
        status = httpx.get(
            f"http://127.0.0.1:{port}/v1/status",
            headers={"Authorization": "Bearer dev-token"},
            timeout=5,
        ).json()
        assert status["transmitter"]["state"] in ("on_air", "fallback")
        assert status["transmitter"]["segment_age_s"] is not None
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
    assert "vvtv stopped" in output and "Traceback" not in output
    # Nothing of the channel outlives the server.
    leftover = subprocess.run(
        ["pgrep", "-f", str(tmp_path / "lab")], capture_output=True, text=True, check=False
    )
    assert leftover.stdout.strip() == ""


def test_up_refuses_the_default_control_secrets_outside_dev(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "VVTV_ENV": "prod",
        "VVTV_TOKEN_SECRET": "k" * 40,
        "VVTV_TURN_SECRETS": '["turn-secret"]',
        "VVTV_CONTROL_TOKEN": "dev-token",
        "VVTV_CONTROL_SECRET": "s" * 40,
        "VVTV_DATABASE_URL": f"sqlite:///{tmp_path / 'vvtv.db'}",
        "VVTV_LAB_DIR": str(tmp_path / "lab"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "vvtv", "up", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "VVTV_CONTROL_TOKEN must be set to a non-default value" in done.stderr
    assert "Traceback" not in done.stderr
