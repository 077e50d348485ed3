"""The broadcast queue: ready items in airing order, persisted, recovered at boot.

An item is ``ready`` until the transmitter takes it (``playing``), records how far it
got after every published segment (``offset_s``), and ends ``played`` or ``failed``.
After a restart the item left ``playing`` is handed out first, from its offset:
nothing queued is lost and nothing aired is aired again.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from lab.stages.types import ReadyItem
from lab.store.tables import lab_queue
from runtime.store.clock import database_now

__all__ = [
    "QueueEntry",
    "QueueSnapshot",
    "enqueue",
    "finish",
    "fail",
    "progress",
    "reorder",
    "snapshot",
    "take_next",
    "upcoming",
]


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One queued item, as the curator and the status see it."""

    item_id: str
    position: int
    content_hash: str
    source: str
    title: str
    duration_s: float
    qa_score: float | None


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """Ready items and the playing time they hold (what is left of the playing one included)."""

    length: int
    buffer_minutes: float
    playing_item_id: str | None


def enqueue(
    conn: Connection,
    *,
    item_id: str,
    content_hash: str,
    source: str,
    title: str,
    path: Path,
    duration_s: float,
    qa_score: float | None,
) -> int:
    """Append one ready item; returns its position."""
    last = conn.scalar(select(func.max(lab_queue.c.position)))
    position = 0 if last is None else int(last) + 1
    conn.execute(
        insert(lab_queue).values(
            item_id=item_id,
            position=position,
            content_hash=content_hash,
            source=source,
            title=title,
            path=str(path),
            duration_s=duration_s,
            qa_score=qa_score,
            state="ready",
            queued_at=database_now(conn),
        )
    )
    return position


def take_next(conn: Connection, *, on_air: Collection[str] = ()) -> ReadyItem | None:
    """The item to air next: one interrupted mid-air first (from its offset), else the head.

    ``on_air`` names the items this transmitter holds now (it starts the next one
    before the current one ends); any other ``playing`` item was interrupted.
    """
    query = select(lab_queue).where(lab_queue.c.state == "playing")
    if on_air:
        query = query.where(lab_queue.c.item_id.not_in(list(on_air)))
    playing = conn.execute(query.order_by(lab_queue.c.position)).mappings().first()
    if playing is None:
        head = (
            conn.execute(
                select(lab_queue).where(lab_queue.c.state == "ready").order_by(lab_queue.c.position)
            )
            .mappings()
            .first()
        )
        if head is None:
            return None
        taken = conn.execute(
            update(lab_queue)
            .where(lab_queue.c.item_id == head["item_id"], lab_queue.c.state == "ready")
            .values(state="playing", started_at=database_now(conn))
        )
        if taken.rowcount != 1:
            return None
        playing = head
    return ReadyItem(
        item_id=playing["item_id"],
        path=Path(playing["path"]),
        duration_s=float(playing["duration_s"]),
        title=playing["title"],
        start_offset_s=float(playing["offset_s"]),
    )


def progress(conn: Connection, item_id: str, offset_s: float) -> None:
    """Record how far a playing item got (it never moves back)."""
    conn.execute(
        update(lab_queue)
        .where(
            lab_queue.c.item_id == item_id,
            lab_queue.c.state == "playing",
            lab_queue.c.offset_s < offset_s,
        )
        .values(offset_s=offset_s)
    )


def finish(conn: Connection, item_id: str) -> None:
    """The item aired to its end."""
    conn.execute(
        update(lab_queue)
        .where(lab_queue.c.item_id == item_id, lab_queue.c.state == "playing")
        .values(state="played", finished_at=database_now(conn))
    )


def fail(conn: Connection, item_id: str, error: str) -> None:
    """The item could not be aired; it is not tried again."""
    conn.execute(
        update(lab_queue)
        .where(lab_queue.c.item_id == item_id, lab_queue.c.state.in_(("ready", "playing")))
        .values(state="failed", error=error[:2000], finished_at=database_now(conn))
    )


def upcoming(conn: Connection) -> list[QueueEntry]:
    """Ready items in airing order."""
    rows = conn.execute(
        select(lab_queue).where(lab_queue.c.state == "ready").order_by(lab_queue.c.position)
    ).mappings()
    return [
        QueueEntry(
            row["item_id"],
            row["position"],
            row["content_hash"],
            row["source"],
            row["title"],
            float(row["duration_s"]),
            row["qa_score"],
        )
        for row in rows
    ]


def reorder(conn: Connection, order: Sequence[str]) -> int:
    """Give the ready items ``order`` (ids not named keep their turn after them); returns moves."""
    entries = upcoming(conn)
    known = {entry.item_id for entry in entries}
    wanted = [item_id for item_id in order if item_id in known]
    rest = [entry.item_id for entry in entries if entry.item_id not in set(wanted)]
    positions = sorted(entry.position for entry in entries)
    moved = 0
    current = {entry.item_id: entry.position for entry in entries}
    for item_id, position in zip([*wanted, *rest], positions, strict=True):
        if current[item_id] != position:
            moved += 1
            conn.execute(
                update(lab_queue).where(lab_queue.c.item_id == item_id).values(position=position)
            )
    return moved


def snapshot(conn: Connection) -> QueueSnapshot:
    """Length and buffer of the queue right now."""
    ready = conn.execute(
        select(func.count(), func.coalesce(func.sum(lab_queue.c.duration_s), 0.0)).where(
            lab_queue.c.state == "ready"
        )
    ).one()
    playing = conn.execute(
        select(lab_queue.c.item_id, lab_queue.c.duration_s, lab_queue.c.offset_s)
        .where(lab_queue.c.state == "playing")
        .order_by(lab_queue.c.position)
    ).all()
    seconds = float(ready[1])
    for row in playing:
        seconds += max(0.0, float(row.duration_s) - float(row.offset_s))
    return QueueSnapshot(int(ready[0]), seconds / 60.0, playing[0].item_id if playing else None)
