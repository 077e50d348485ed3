"""Serving several worker processes on one port, each with a listening socket of its own.

With one listening socket shared by every worker, asyncio's accept loop takes every
connection waiting at the moment it wakes: a burst of clients (a load balancer's pool,
a benchmark) all land on one worker while the others idle. Each worker here listens
on its own ``SO_REUSEPORT`` socket instead, and the kernel spreads new connections over
them. A worker that dies is replaced on its own socket (the supervisor keeps it open,
so connections hashed to it wait instead of being refused).
"""

from __future__ import annotations

import os
import socket

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import Process

__all__ = ["listening_sockets", "serve_workers"]


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` sockets bound to one address with ``SO_REUSEPORT``.

    ``IPPROTO_TCP`` is spelled out: uvicorn's own sockets leave the protocol at 0, so
    asyncio never sets TCP_NODELAY on accepted connections and every keep-alive answer
    waits ~40 ms for a delayed ACK (uvicorn issue 3149).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    made = []
    for _ in range(count):
        listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind((host, port))
        listener.set_inheritable(True)
        made.append(listener)
    return made


class _OneSocketEach(Multiprocess):
    """uvicorn's supervisor, with worker *i* (and its replacements) on socket *i*.

    Only the two places that start workers for a slot differ from uvicorn's; anything
    else that starts one (a SIGHUP restart) gives it every socket, which stays correct.
    """

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets=sockets)
        self._own = sockets

    def init_processes(self) -> None:
        for index in range(self.processes_num):
            process = Process(self.config, [self._own[index % len(self._own)]])
            process.start()
            self.processes.append(process)

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for index, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                # The app or the bind is broken: every replacement would fail the same way.
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            replacement = Process(self.config, [self._own[index % len(self._own)]])
            replacement.start()
            self.processes[index] = replacement


def serve_workers(
    host: str,
    port: int,
    workers: int,
    environment: dict[str, str],
    options: dict[str, float | int | str],
) -> None:
    """``workers`` processes of ``vvtv.app:build_app`` on ``host:port`` until a signal."""
    os.environ.update(environment)  # the workers read their settings afresh
    config = uvicorn.Config(
        "vvtv.app:build_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        lifespan="on",
        **options,  # type: ignore[arg-type]
    )
    _OneSocketEach(config, listening_sockets(host, port, workers)).run()
