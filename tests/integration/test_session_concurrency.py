"""Concurrent transitions of one session over HTTP: one winner, everyone else a clean 409.

On SQLite inside one process (200 at once), and on PostgreSQL across 4 uvicorn worker
processes (1,000 at once), judged from the database, not only from status codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update

from runtime.app import build_app
from runtime.settings import Settings
from runtime.store import create_engine, open_database, upgrade
from runtime.store.tables import session_outbox, sessions, sweeper_leases
from tests.support.accounts import make_account
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]


async def _race(
    client: httpx.AsyncClient, token: str, attempts: int
) -> tuple[str, Counter[int], set[str]]:
    headers = {"Authorization": f"Bearer {token}"}
    created = await client.post("/v1/sessions", json={"mode": "party"}, headers=headers)
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]

    async def transition() -> httpx.Response:
        return await client.post(
            f"/v1/sessions/{session_id}/transition", json={"to_mode": "sniffers"}, headers=headers
        )

    replies = await asyncio.gather(*(transition() for _ in range(attempts)))
    statuses = Counter(r.status_code for r in replies)
    codes = {r.json().get("code", "") for r in replies if r.status_code == 409}
    bodies = " ".join(r.text for r in replies)
    assert "database is locked" not in bodies
    assert all(
        r.headers["content-type"].startswith("application/problem+json")
        for r in replies
        if r.status_code >= 400
    )
    return session_id, statuses, codes


async def _judge(url: str, session_id: str) -> tuple[int, str, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            parent = uuid.UUID(session_id)
            children = await conn.scalar(
                select(func.count())
                .select_from(sessions)
                .where(sessions.c.parent_session_id == parent)
            )
            state = await conn.scalar(select(sessions.c.state).where(sessions.c.id == parent))
            revokes = await conn.scalar(
                select(func.count())
                .select_from(session_outbox)
                .where(session_outbox.c.session_id == parent)
            )
        return int(children or 0), str(state), int(revokes or 0)
    finally:
        await engine.dispose()


async def test_200_concurrent_transitions_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vvtv.db'}"
    await upgrade(url)
    app = build_app(Settings(database_url=url))
    _user, token = await make_account(url)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://app"
    ) as client:
        session_id, statuses, codes = await _race(client, token, 200)
    assert statuses == Counter({201: 1, 409: 199})
    assert codes == {"INVALID_TRANSITION"}
    assert await _judge(url, session_id) == (1, "ending", 1)


@contextlib.contextmanager
def _serve(
    url: str, processes: int, *, sweep_interval_s: float = 5
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """uvicorn with ``processes`` workers on ``url``'s database, ready to answer."""
    asyncio.run(upgrade(url))
    port = free_port()
    env = {
        **os.environ,
        "VVTV_DATABASE_URL": url,
        "VVTV_LOG_LEVEL": "warning",
        "VVTV_SWEEP_INTERVAL_S": str(sweep_interval_s),
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "runtime.app:build_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        # Longer than the race: the client never reuses a connection the server just closed.
        "--timeout-keep-alive",
        "120",
    ]
    if processes > 1:
        command += ["--workers", str(processes)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            assert process.poll() is None, "the server exited"
            try:
                if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def workers(store_url: str) -> Iterator[tuple[str, str]]:
    """4 uvicorn worker processes sharing one fresh PostgreSQL database."""
    with _serve(store_url, 4) as (base, _):
        yield base, store_url


@pytest.fixture
def single_worker(store_url: str) -> Iterator[tuple[str, str, subprocess.Popen[str]]]:
    """One uvicorn process, to be killed; its own sweeper runs only at start-up."""
    with _serve(store_url, 1, sweep_interval_s=3600) as (base, process):
        yield base, store_url, process


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
async def test_1000_concurrent_transitions_across_4_workers(workers: tuple[str, str]) -> None:
    base, url = workers
    _user, token = await make_account(url)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        session_id, statuses, codes = await _race(client, token, 1000)
    assert statuses == Counter({201: 1, 409: 999})
    assert codes == {"INVALID_TRANSITION"}
    # Judged from the database: one successor, the parent ending (or ended, once a
    # worker's sweeper carried out the revoke), exactly one revoke, no orphan.
    children, state, revokes = await _judge(url, session_id)
    assert (children, revokes) == (1, 1) and state in {"ending", "ended"}


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
async def test_a_worker_killed_mid_transition_leaves_nothing_half_done(
    single_worker: tuple[str, str, subprocess.Popen[str]],
) -> None:
    base, store_url, process = single_worker
    _user, token = await make_account(store_url)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            ids = []
            for _ in range(40):
                created = await client.post("/v1/sessions", json={"mode": "party"}, headers=headers)
                ids.append(created.json()["id"])

            answered = 0
            some_done = asyncio.Event()

            async def transition(session_id: str) -> None:
                nonlocal answered
                # The worker may die under it: the database tells what happened.
                with contextlib.suppress(httpx.HTTPError):
                    await client.post(
                        f"/v1/sessions/{session_id}/transition",
                        json={"to_mode": "sniffers"},
                        headers=headers,
                    )
                    answered += 1
                    if answered >= 20:
                        some_done.set()

            racing = [asyncio.ensure_future(transition(i)) for i in ids for _ in range(3)]
            await asyncio.wait_for(some_done.wait(), timeout=30)
            process.kill()  # SIGKILL mid-flight: no cleanup, no graceful shutdown
            await asyncio.gather(*racing)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)

    engine = create_engine(store_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(sessions))).mappings().all()
            revokes = Counter(
                (await conn.execute(select(session_outbox.c.session_id))).scalars().all()
            )
        by_id = {row["id"]: row for row in rows}
        children = Counter(row["parent_session_id"] for row in rows if row["parent_session_id"])
        # Never two successors, and a successor only of a session that left active.
        assert all(count == 1 for count in children.values())
        assert all(by_id[parent]["state"] == "ending" for parent in children)
        # Every session that left active has exactly one revoke waiting in the outbox.
        ending = {row["id"] for row in rows if row["state"] == "ending"}
        assert ending == set(children) and all(revokes[i] == 1 for i in ending)
        # Killed mid-way: some sessions moved, some did not.
        assert 0 < len(ending) < len(ids), len(ending)
        # The next sweep reconciles every half-done end. The dead process held the sweep
        # lease (its sweeper ran at start-up); the time it has left is skipped here.
        async with engine.begin() as conn:
            await conn.execute(
                update(sweeper_leases).values(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
            )
        from runtime.events import memory_bus  # noqa: PLC0415
        from runtime.media import FakeMediaProvider  # noqa: PLC0415
        from runtime.sessions.sweeper import Sweeper  # noqa: PLC0415

        provider = FakeMediaProvider()
        database = open_database(store_url)
        sweeper = Sweeper(database, provider, memory_bus(database), holder="after-crash")
        try:
            report = await sweeper.run_once()
        finally:
            await database.close()
        assert set(report.revoked) == ending and sorted(provider.revoked) == sorted(ending)
        async with engine.connect() as conn:
            left = await conn.scalar(
                select(func.count()).select_from(sessions).where(sessions.c.state == "ending")
            )
        assert left == 0
    finally:
        await engine.dispose()
