"""Units of work on both backends: each caller gets its own outcome, only after commit."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from runtime.store import open_database, upgrade
from runtime.store.clock import database_now
from runtime.store.tables import audit_events
from runtime.store.tables import sweeper_leases as leases

pytestmark = pytest.mark.asyncio


def _lease(name: str) -> Callable[[Connection], str]:
    def work(conn: Connection) -> str:
        conn.execute(insert(leases).values(name=name, holder="test", expires_at=database_now(conn)))
        return name

    return work


async def test_a_failing_unit_fails_alone_in_a_burst(store_url: str) -> None:
    """A duplicate key in the middle of concurrent writes fails only its own caller."""
    await upgrade(store_url)
    database = open_database(store_url)
    try:
        await database.write(_lease("taken"))
        names = [f"n{i}" for i in range(40)]
        names[17] = "taken"
        results = await asyncio.gather(
            *(database.write(_lease(name)) for name in names),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        assert len(failures) == 1 and isinstance(failures[0], IntegrityError)
        assert isinstance(results[17], IntegrityError)
        stored = await database.read(
            lambda conn: conn.scalar(select(func.count()).select_from(leases))
        )
        assert stored == 40  # "taken" once, and the 39 others
    finally:
        await database.close()


async def test_results_arrive_after_commit_and_are_visible_to_readers(store_url: str) -> None:
    await upgrade(store_url)
    database = open_database(store_url)
    try:

        def record(i: int) -> Callable[[Connection], int]:
            def work(conn: Connection) -> int:
                now = database_now(conn)
                conn.execute(
                    insert(audit_events).values(at=now, kind="test", subject=str(i), payload={})
                )
                return i

            return work

        async def write_then_read(i: int) -> bool:
            await database.write(record(i))
            seen = await database.read(
                lambda conn: conn.scalar(
                    select(func.count())
                    .select_from(audit_events)
                    .where(audit_events.c.subject == str(i))
                )
            )
            return seen == 1

        assert all(await asyncio.gather(*(write_then_read(i) for i in range(100))))
    finally:
        await database.close()


async def test_sqlite_runs_work_off_the_event_loop_thread(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/off-loop-{uuid.uuid4().hex[:6]}.db"
    await upgrade(url)
    database = open_database(url)
    loop_thread = threading.get_ident()
    try:
        write_thread = await database.write(lambda _conn: threading.get_ident())
        read_thread = await database.read(lambda _conn: threading.get_ident())
        assert loop_thread not in (write_thread, read_thread)
    finally:
        await database.close()
