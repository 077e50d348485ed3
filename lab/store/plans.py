"""Plans through the realizer: ``planned -> fetched -> prepared -> queued``, or rejected/failed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from lab.stages.queue import snapshot
from lab.stages.types import Plan
from lab.store.tables import lab_items, lab_plans, lab_queue
from runtime.store.clock import database_now

__all__ = [
    "History",
    "advance",
    "history",
    "insert_plans",
    "pending_plans",
    "projected_end",
    "rejected_hashes",
]

History = tuple[str, str, datetime]  # content_hash, source, when (slot or air time)


def insert_plans(conn: Connection, slots: Sequence[tuple[Plan, datetime]]) -> int:
    """Record new plans with their slot ends (a plan id seen before is kept); returns how many."""
    now = database_now(conn)
    plans = [plan for plan, _end in slots]
    existing = set(
        conn.scalars(
            select(lab_plans.c.plan_id).where(lab_plans.c.plan_id.in_([p.plan_id for p in plans]))
        )
    )
    new = 0
    for plan, slot_end in slots:
        if plan.plan_id in existing:
            continue
        conn.execute(
            insert(lab_plans).values(
                plan_id=plan.plan_id,
                content_hash=plan.content_hash,
                source=plan.source,
                uri=plan.uri,
                title=plan.title,
                slot_start=plan.slot_start,
                slot_end=slot_end,
                daypart=plan.daypart,
                reason=plan.reason,
                expected_sha256=plan.expected_sha256,
                state="planned",
                created_at=now,
                updated_at=now,
            )
        )
        new += 1
    return new


def pending_plans(conn: Connection, *, until: datetime | None = None) -> list[Plan]:
    """Plans not yet realized, in slot order (only those starting before ``until``)."""
    query = select(lab_plans).where(lab_plans.c.state.in_(("planned", "fetched", "prepared")))
    if until is not None:
        query = query.where(lab_plans.c.slot_start < until)
    rows = conn.execute(query.order_by(lab_plans.c.slot_start)).mappings()
    return [
        Plan(
            plan_id=row["plan_id"],
            content_hash=row["content_hash"],
            source=row["source"],
            uri=row["uri"],
            title=row["title"],
            slot_start=row["slot_start"],
            daypart=row["daypart"],
            reason=row["reason"],
            expected_sha256=row["expected_sha256"],
        )
        for row in rows
    ]


def advance(conn: Connection, plan_id: str, state: str, **values: Any) -> None:
    """Move a plan to ``state`` and record what the stage produced (paths, score, error)."""
    if state in ("rejected", "failed"):
        values["attempts"] = lab_plans.c.attempts + 1
    conn.execute(
        update(lab_plans)
        .where(lab_plans.c.plan_id == plan_id)
        .values(state=state, updated_at=database_now(conn), **values)
    )


def projected_end(conn: Connection, *, now: datetime) -> datetime:
    """When what is queued and planned will have aired: the planner continues from there.

    Slot times are the planner's estimates; real lengths (known once an item was
    prepared) replace them, so a window planned with default slot lengths does not
    leave the queue starving for hours.
    """
    queued = snapshot(conn)
    rows = conn.execute(
        select(lab_plans.c.slot_start, lab_plans.c.slot_end, lab_items.c.duration_s)
        .select_from(
            lab_plans.outerjoin(lab_items, lab_items.c.content_hash == lab_plans.c.content_hash)
        )
        .where(lab_plans.c.state.in_(("planned", "fetched", "prepared")))
    ).all()
    seconds = queued.buffer_minutes * 60
    for start, end, known in rows:
        seconds += float(known) if known else (end - start).total_seconds()
    return now + timedelta(seconds=seconds)


def rejected_hashes(conn: Connection) -> set[str]:
    """Content QA rejected: it is never planned again."""
    return set(
        conn.scalars(select(lab_plans.c.content_hash).where(lab_plans.c.state == "rejected"))
    )


def history(conn: Connection, *, since: datetime) -> list[History]:
    """What aired or is planned since ``since``: the planner's variety rules look at it."""
    aired = conn.execute(
        select(lab_queue.c.content_hash, lab_queue.c.source, lab_queue.c.started_at).where(
            lab_queue.c.started_at >= since
        )
    ).all()
    planned = conn.execute(
        select(lab_plans.c.content_hash, lab_plans.c.source, lab_plans.c.slot_start).where(
            lab_plans.c.slot_start >= since,
            lab_plans.c.state.in_(("planned", "fetched", "prepared", "queued")),
        )
    ).all()
    return [(row[0], row[1], row[2]) for row in [*aired, *planned]]
