"""The LAB store on SQLite and PostgreSQL: queue recovery, flags, reports paging, nightly runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from lab.stages.nightly import claim_queued, request_nightly
from lab.stages.queue import enqueue, fail, finish, progress, reorder, snapshot, take_next, upcoming
from lab.stages.types import Discovered, Plan
from lab.store.catalog import (
    known_hashes,
    record_discovered,
    record_source_failure,
    record_source_success,
    source_health,
)
from lab.store.flags import read_flags, set_flag
from lab.store.plans import insert_plans, pending_plans, projected_end
from lab.store.reports import BadCursorError, add_report, list_reports
from runtime.store import Database, open_database, upgrade
from runtime.store.tables import audit_events

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


@pytest.fixture
async def database(store_url: str) -> AsyncIterator[Database]:
    await upgrade(store_url)
    db = open_database(store_url)
    try:
        yield db
    finally:
        await db.close()


async def _queue(db: Database, *ids: str, duration_s: float = 60.0) -> None:
    for item_id in ids:
        await db.write(
            lambda conn, item_id=item_id: enqueue(
                conn,
                item_id=item_id,
                content_hash=f"h-{item_id}",
                source="demo",
                title=item_id,
                path=Path(f"/media/{item_id}.mp4"),
                duration_s=duration_s,
                qa_score=1.0,
            )
        )


async def test_the_queue_hands_out_in_order_and_resumes_an_interrupted_item(
    database: Database,
) -> None:
    await _queue(database, "a", "b", "c")
    first = await database.write(take_next)
    assert first is not None and first.item_id == "a" and first.start_offset_s == 0
    # The transmitter starts the next item before the current one ends.
    second = await database.write(lambda conn: take_next(conn, on_air={"a"}))
    assert second is not None and second.item_id == "b"
    await database.write(lambda conn: progress(conn, "a", 40.0))
    await database.write(lambda conn: progress(conn, "a", 20.0))  # never moves back
    await database.write(lambda conn: finish(conn, "a"))
    await database.write(lambda conn: progress(conn, "b", 8.0))
    snap = await database.read(snapshot)
    assert snap.length == 1 and snap.buffer_minutes == pytest.approx((60 + 52) / 60)

    # A restart: the process that held "b" is gone, so "b" is handed out again from 8 s,
    # before "c"; "a" is not aired again.
    resumed = await database.write(take_next)
    assert resumed is not None and resumed.item_id == "b" and resumed.start_offset_s == 8.0
    following = await database.write(lambda conn: take_next(conn, on_air={"b"}))
    assert following is not None and following.item_id == "c"
    await database.write(lambda conn: fail(conn, "c", "encoder died"))
    assert await database.write(lambda conn: take_next(conn, on_air={"b"})) is None


async def test_reorder_keeps_every_item_and_moves_only_ready_ones(database: Database) -> None:
    await _queue(database, "a", "b", "c", "d")
    await database.write(take_next)  # "a" is on air
    moved = await database.write(lambda conn: reorder(conn, ["d", "b"]))
    assert moved == 3
    order = [e.item_id for e in await database.read(upcoming)]
    assert order == ["d", "b", "c"]


async def test_flags_change_once_and_are_audited(database: Database) -> None:
    first = await database.write(
        lambda conn: set_flag(conn, "emergency", True, reason="drill", actor="op")
    )
    again = await database.write(
        lambda conn: set_flag(conn, "emergency", True, reason="again", actor="op")
    )
    assert first.changed and not again.changed
    assert again.flag.reason == "drill" and again.flag.since == first.flag.since
    flags = await database.read(read_flags)
    assert flags["emergency"].active and not flags["planner_paused"].active
    off = await database.write(
        lambda conn: set_flag(conn, "emergency", False, reason=None, actor="op")
    )
    assert off.changed and off.flag.since is None
    audits = await database.read(
        lambda conn: conn.execute(
            select(audit_events.c.subject).where(audit_events.c.kind == "lab.flag")
        ).all()
    )
    assert [row[0] for row in audits] == ["emergency", "emergency"]


async def test_simultaneous_commands_change_a_flag_once(database: Database) -> None:
    results = await asyncio.gather(
        *(
            database.write(
                lambda conn: set_flag(conn, "queue_frozen", True, reason=None, actor="op")
            )
            for _ in range(10)
        )
    )
    assert sum(r.changed for r in results) == 1


async def test_reports_page_newest_first_without_gaps(database: Database) -> None:
    for n in range(7):
        await database.write(lambda conn, n=n: add_report(conn, "cycle", {"summary": f"c{n}"}))
    await database.write(lambda conn: add_report(conn, "qa", {"summary": "q"}))
    seen: list[str] = []
    cursor = None
    while True:
        page = await database.read(
            lambda conn, cursor=cursor: list_reports(conn, limit=3, kind="cycle", cursor=cursor)
        )
        seen += [item["summary"] for item in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == [f"c{n}" for n in range(7)] and len(seen) == 7
    with pytest.raises(BadCursorError):
        await database.read(lambda conn: list_reports(conn, limit=3, cursor="not-a-cursor"))


async def test_a_forced_nightly_joins_the_run_already_queued(database: Database) -> None:
    first = await database.write(lambda conn: request_nightly(conn, forced=True, reason="r1"))
    second = await database.write(lambda conn: request_nightly(conn, forced=True, reason="r2"))
    assert not first.coalesced and second.coalesced and second.run_id == first.run_id
    claimed = await database.write(claim_queued)
    assert claimed == (first.run_id, True)
    assert await database.write(claim_queued) is None
    third = await database.write(lambda conn: request_nightly(conn, forced=False, reason=None))
    assert third.coalesced and third.state == "running"


async def test_items_are_recorded_once_and_sources_counted(database: Database) -> None:
    items = [
        Discovered(source="s", uri=f"file:///m/{n}.mp4", content_hash=f"h{n % 2}", title=str(n))
        for n in range(4)
    ]
    assert await database.write(lambda conn: record_discovered(conn, items)) == 2
    assert await database.write(lambda conn: record_discovered(conn, items)) == 0
    assert await database.read(known_hashes) == {"h0", "h1"}
    for _ in range(3):
        await database.write(lambda conn: record_source_failure(conn, "feed", "timeout"))
    health = {h.name: h for h in await database.read(source_health)}
    assert health["feed"].consecutive_failures == 3 and health["feed"].total_failures == 3
    await database.write(lambda conn: record_source_success(conn, "feed"))
    health = {h.name: h for h in await database.read(source_health)}
    assert health["feed"].consecutive_failures == 0 and health["feed"].total_failures == 3


async def test_the_planner_continues_from_the_real_end_of_the_queue(database: Database) -> None:
    await database.write(
        lambda conn: record_discovered(
            conn, [Discovered(source="s", uri="u", content_hash="h1", title="t", duration_s=90)]
        )
    )
    plan = Plan("p1", "h1", "s", "u", "t", T0, "morning", "why")
    # Planned with a 30-minute default slot; the item is known to last 90 s.
    assert (
        await database.write(lambda conn: insert_plans(conn, [(plan, T0 + timedelta(minutes=30))]))
        == 1
    )
    assert (
        await database.write(lambda conn: insert_plans(conn, [(plan, T0 + timedelta(minutes=30))]))
        == 0
    )
    await _queue(database, "q1", duration_s=120)
    end = await database.read(lambda conn: projected_end(conn, now=T0))
    assert end == T0 + timedelta(seconds=210)
    pending = await database.read(lambda conn: pending_plans(conn, until=T0 + timedelta(hours=1)))
    assert [p.plan_id for p in pending] == ["p1"]
