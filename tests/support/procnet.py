"""Which process holds the server side of a loopback TCP connection (Linux /proc)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["holder_of", "worker_pids"]


def _inodes(server_port: int, client_port: int) -> set[str]:
    """Socket inodes of the server end of 127.0.0.1:client_port -> :server_port."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if (
                    int(local.rsplit(":", 1)[1], 16) == server_port
                    and int(remote.rsplit(":", 1)[1], 16) == client_port
                ):
                    found.add(inode)
    return found


def holder_of(pids: list[int], server_port: int, client_port: int) -> int | None:
    """The pid among ``pids`` whose file descriptors hold that connection's server end."""
    wanted = {f"socket:[{inode}]" for inode in _inodes(server_port, client_port)}
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, PermissionError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(FileNotFoundError, OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                        return pid
    return None


def worker_pids(supervisor: int) -> list[int]:
    """The uvicorn worker processes under a `vvtv up --workers N` supervisor."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    workers = []
    for child in children:
        with contextlib.suppress(FileNotFoundError):
            command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            if "spawn_main" in command:
                workers.append(int(child))
    return workers
