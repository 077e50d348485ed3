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


def _start(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "VVTV_DATABASE_URL": f"sqlite:///{tmp_path / 'vvtv.db'}"}
    return subprocess.Popen(
        [sys.executable, "-m", "vvtv", "up", "--port", str(port)],
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
