"""Benchmark: session create and create->transition->end, against a bare Litestar endpoint.

One uvicorn worker each, load from wrk in a separate process, on SQLite and on
PostgreSQL (a throwaway database); every figure is printed with its ratio to the bare
JSON endpoint measured in the same run. Usage: python ci/bench/sessions.py [--seconds N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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
    port = _port()
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
        for _ in range(200):
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


def _row(label: str, what: str, rate: float, p99: float, *, bare: float, errors: int) -> str:
    return f"| {label} | {what} | {rate:,.0f} req/s | {p99:.1f} ms | {rate / bare:.2f} | {errors} |"


def _bench(label: str, url: str, seconds: int, token: str, *, workers: int) -> list[str]:
    env = {"TOKEN": token}
    with _server(["--app-dir", str(ROOT / "ci" / "bench"), "bare_app:app"], {}) as bare:
        bare_rate, bare_p99, _ = _wrk(
            bare + "/bare", "post.lua", seconds, 16, {"BODY": '{"mode":"party"}'}
        )
    rows = [_row(label, "bare JSON endpoint", bare_rate, bare_p99, bare=bare_rate, errors=0)]
    app_env = {"VVTV_DATABASE_URL": url, "VVTV_LOG_LEVEL": "warning"}
    with _server(["--factory", "runtime.app:build_app"], app_env) as app:
        for what, body in (
            ("session create, party (HLS, no endpoints)", '{"mode":"party"}'),
            ("session create, sniffers (WebRTC thumb_low, local provider)", '{"mode":"sniffers"}'),
        ):
            rate, p99, errors = _wrk(
                app + "/v1/sessions", "post.lua", seconds, 16, {**env, "BODY": body}
            )
            rows.append(_row(label, what, rate, p99, bare=bare_rate, errors=errors))
        rate, p99, errors = _wrk(app + "/", "flow.lua", seconds, 2, env)
        rows.append(
            _row(
                label,
                f"create->transition->end ({rate / 3:,.0f} flows/s)",
                rate,
                p99,
                bare=bare_rate,
                errors=errors,
            )
        )
    if workers > 1:
        target = ["--factory", "runtime.app:build_app", "--workers", str(workers)]
        with _server(target, app_env) as app:
            rate, p99, errors = _wrk(
                app + "/v1/sessions", "post.lua", seconds, 32, {**env, "BODY": '{"mode":"party"}'}
            )
        what = f"session create, party, {workers} workers (wrk -c32)"
        rows.append(_row(label, what, rate, p99, bare=bare_rate, errors=errors))
    return rows


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
    parser.add_argument("--seconds", type=int, default=10)
    seconds = parser.parse_args().seconds
    token = TokenService(DEV_TOKEN_SECRET, ttl=timedelta(hours=1)).issue(Caller(uuid.uuid4()))
    rows = [
        "| store | endpoint | throughput | p99 | ratio to bare | non-2xx |",
        "|---|---|---|---|---|---|",
    ]
    sqlite = f"sqlite:///{ROOT / 'var' / f'bench-{uuid.uuid4().hex[:8]}.db'}"
    asyncio.run(upgrade(sqlite))
    rows += _bench("SQLite", sqlite, seconds, token, workers=1)
    name, postgres = asyncio.run(_postgres_db())
    try:
        asyncio.run(upgrade(postgres))
        rows += _bench("PostgreSQL", postgres, seconds, token, workers=2)
    finally:
        asyncio.run(_drop(name))
        Path(sqlite.removeprefix("sqlite:///")).unlink(missing_ok=True)
    print("\n".join(rows))
    print("target: session create at 35% or more of the bare endpoint on SQLite")


if __name__ == "__main__":
    main()
