"""Benchmark: session create and create->transition->end, against a bare Litestar endpoint.

One uvicorn worker each (and a 2-worker server on PostgreSQL), load from wrk in a
separate process, on SQLite and on PostgreSQL (a throwaway database). All servers of a
store run side by side and every endpoint is measured once per round, so each ratio to
the bare JSON endpoint compares runs made minutes apart at most.
Usage: python ci/bench/sessions.py [--seconds N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]

from runtime.auth import Caller, TokenService  # noqa: E402
from runtime.settings import DEV_TOKEN_SECRET  # noqa: E402
from runtime.store import upgrade  # noqa: E402

WRK = ROOT / "ci" / "bench" / "wrk"
PG = os.environ.get("VVTV_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _server(target: list[str], env: dict[str, str]) -> Iterator[str]:
    """uvicorn on ``target``, or ``vvtv up`` when ``target`` starts with ``up``."""
    port = _port()
    if target[:1] == ["up"]:
        command = [sys.executable, "-m", "vvtv", *target, "--port", str(port)]
    else:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            *target,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wrk(
    url: str, script: str, seconds: int, connections: int, env: dict[str, str]
) -> tuple[float, float, int]:
    """requests/s, p99 latency in ms, and non-2xx/3xx answers."""
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(WRK / script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    latency = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, latency, int(errors.group(1)) if errors else 0


@dataclass
class _Series:
    """One endpoint measured once per round: requests/s, p99 (ms) and non-2xx answers."""

    what: str
    rates: list[float] = field(default_factory=list)
    p99s: list[float] = field(default_factory=list)
    errors: int = 0

    def add(self, rate: float, p99: float, errors: int) -> None:
        self.rates.append(rate)
        self.p99s.append(p99)
        self.errors += errors

    def row(self, label: str, bare: _Series) -> str:
        rate, p99 = statistics.median(self.rates), statistics.median(self.p99s)
        ratios = [mine / theirs for mine, theirs in zip(self.rates, bare.rates, strict=True)]
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
        return (
            f"| {label} | {self.what} | {rate:,.0f} req/s | {p99:.1f} ms | "
            f"{rate / statistics.median(bare.rates):.2f} ({spread}) | {self.errors} |"
        )


_PARTY, _GRID = '{"mode":"party"}', '{"mode":"sniffers"}'


def _bench(
    label: str, url: str, seconds: int, token: str, *, rounds: int, workers: int
) -> list[str]:
    """Bare and app servers up together; each round measures every endpoint once.

    Alternating the runs within one round keeps a slow minute of the machine from
    landing on one side of a ratio only.
    """
    env = {"TOKEN": token}
    # Leases outlive the run: the sweeper's expiries would otherwise share the worker
    # with the creates measured (sweeps are measured on their own in the tests).
    app_env = {
        "VVTV_DATABASE_URL": url,
        "VVTV_LOG_LEVEL": "warning",
        "VVTV_SESSION_LEASE_S": "3600",
    }
    bare = _Series("bare JSON endpoint")
    party = _Series("session create, party (HLS: no media endpoints)")
    grid = _Series("session create, sniffers (WebRTC thumb_low: local provider endpoints)")
    flow = _Series("create->transition->end, 2 connections (req/s; 3 per flow)")
    scaled = _Series(f"session create, party, {workers} workers (wrk -c32)")
    with contextlib.ExitStack() as servers:
        bare_url = servers.enter_context(
            _server(["--app-dir", str(ROOT / "ci" / "bench"), "bare_app:app"], {})
        )
        app = servers.enter_context(_server(["--factory", "runtime.app:build_app"], app_env))
        many = (
            servers.enter_context(
                # `vvtv up --workers`: uvicorn's own --workers socket leaves TCP_NODELAY
                # off, which adds ~40 ms to every keep-alive answer (see the CLI).
                _server(["up", "--workers", str(workers)], app_env)
            )
            if workers > 1
            else None
        )
        for _ in range(rounds):
            bare.add(*_wrk(bare_url + "/bare", "post.lua", seconds, 16, {"BODY": _PARTY}))
            party.add(*_wrk(app + "/v1/sessions", "post.lua", seconds, 16, {**env, "BODY": _PARTY}))
            grid.add(*_wrk(app + "/v1/sessions", "post.lua", seconds, 16, {**env, "BODY": _GRID}))
            flow.add(*_wrk(app + "/", "flow.lua", seconds, 2, env))
            if many is not None:
                scaled.add(
                    *_wrk(many + "/v1/sessions", "post.lua", seconds, 32, {**env, "BODY": _PARTY})
                )
    series = [bare, party, grid, flow] + ([scaled] if many is not None else [])
    return [one.row(label, bare) for one in series]


async def _postgres_db() -> tuple[str, str]:
    name = f"vvtv_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(f"{PG}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return name, f"{PG}/{name}"


async def _drop(name: str) -> None:
    admin = await asyncpg.connect(f"{PG}/postgres")
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each endpoint")
    args = parser.parse_args()
    seconds, rounds = args.seconds, args.rounds
    token = TokenService(DEV_TOKEN_SECRET, ttl=timedelta(hours=1)).issue(Caller(uuid.uuid4()))
    rows = [
        "| store | endpoint | throughput (median) | p99 (median) | ratio to bare "
        "(median; min-max of rounds) | non-2xx |",
        "|---|---|---|---|---|---|",
    ]
    sqlite = f"sqlite:///{ROOT / 'var' / f'bench-{uuid.uuid4().hex[:8]}.db'}"
    asyncio.run(upgrade(sqlite))
    rows += _bench("SQLite", sqlite, seconds, token, rounds=rounds, workers=1)
    name, postgres = asyncio.run(_postgres_db())
    try:
        asyncio.run(upgrade(postgres))
        rows += _bench("PostgreSQL", postgres, seconds, token, rounds=rounds, workers=2)
    finally:
        asyncio.run(_drop(name))
        Path(sqlite.removeprefix("sqlite:///")).unlink(missing_ok=True)
    print("\n".join(rows))
    print("target: session create at 35% or more of the bare endpoint on SQLite")


if __name__ == "__main__":
    main()
