"""A real ``redis-server`` (Debian package) on a loopback port, started and stopped by a test."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.net import free_port

__all__ = ["redis_server"]


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """A fresh Redis that keeps nothing on disk; its ``redis://`` URL."""
    binary = shutil.which("redis-server")
    assert binary is not None, "redis-server is not installed (make dev-install installs it)"
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, "redis-server exited"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
