"""Tiles in the database: budgets decided by compare-and-set, tiles closed by one statement.

A device's budget and the platform's total are counters moved by conditional updates
(``... WHERE open_tiles < :max``), so two processes opening tiles for one device at the
same moment never pass the budget together; closing a tile gives its slots back in the
same transaction.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import case, delete, exists, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from runtime.presence.tables import presences
from runtime.store.clock import database_now
from runtime.tiles.tables import tile_budgets, tile_totals, tiles

__all__ = [
    "TOTAL",
    "TileRow",
    "close_due",
    "close_tile",
    "confirm_open",
    "forget_closed",
    "get_tile",
    "insert_tile",
    "open_count",
    "open_tiles",
    "pending_revokes",
    "record_revoke",
    "release",
    "reserve",
    "set_endpoints",
    "usage_rows",
]

TileRow = Mapping[Any, Any]
TOTAL = "open"  # the one row of tile_totals
_MAX_REVOKE_ATTEMPTS = 5  # chosen: a revoke that keeps failing is given up and logged


def _insert(conn: Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def reserve(
    conn: Connection, viewer: uuid.UUID, device: str, *, max_tiles: int, max_total: int
) -> Literal["ok", "budget", "total"]:
    """Take one slot of the platform's total and one of the device's budget; both or neither.

    The total's one row is always the first counter a transaction takes (here and in
    ``_release``), so batches of tile changes queue on it instead of deadlocking over
    budget rows taken in two orders.
    """
    conn.execute(
        _insert(conn)(tile_totals).values(name=TOTAL, open_tiles=0).on_conflict_do_nothing()
    )
    total = conn.execute(
        update(tile_totals)
        .where(tile_totals.c.name == TOTAL, tile_totals.c.open_tiles < max_total)
        .values(open_tiles=tile_totals.c.open_tiles + 1)
    )
    if total.rowcount != 1:
        return "total"
    conn.execute(
        _insert(conn)(tile_budgets)
        .values(viewer_id=viewer, device_id=device, open_tiles=0)
        .on_conflict_do_nothing()
    )
    took = conn.execute(
        update(tile_budgets)
        .where(
            tile_budgets.c.viewer_id == viewer,
            tile_budgets.c.device_id == device,
            tile_budgets.c.open_tiles < max_tiles,
        )
        .values(open_tiles=tile_budgets.c.open_tiles + 1)
    )
    if took.rowcount != 1:
        _lower_total(conn, 1)
        return "budget"
    return "ok"


def _lowered(column: Any, count: int) -> Any:
    return case((column >= count, column - count), else_=0)


def _lower_total(conn: Connection, count: int) -> None:
    conn.execute(
        update(tile_totals)
        .where(tile_totals.c.name == TOTAL)
        .values(open_tiles=_lowered(tile_totals.c.open_tiles, count))
    )


def _release(conn: Connection, owners: Sequence[tuple[uuid.UUID, str]]) -> None:
    """Give back the slots of closed tiles (one per entry of ``owners``): the total first,
    then the devices' budgets in a fixed order (see ``reserve``)."""
    if not owners:
        return
    _lower_total(conn, len(owners))
    for (viewer, device), count in sorted(Counter(owners).items(), key=lambda kv: str(kv[0])):
        conn.execute(
            update(tile_budgets)
            .where(tile_budgets.c.viewer_id == viewer, tile_budgets.c.device_id == device)
            .values(open_tiles=_lowered(tile_budgets.c.open_tiles, count))
        )


def release(conn: Connection, viewer: uuid.UUID, device: str) -> None:
    """Give back one slot taken by ``reserve`` for a tile that was not recorded."""
    _release(conn, [(viewer, device)])


def open_count(conn: Connection, viewer: uuid.UUID, device: str) -> int:
    """The device's open tiles, by its counter."""
    value = conn.scalar(
        select(tile_budgets.c.open_tiles).where(
            tile_budgets.c.viewer_id == viewer, tile_budgets.c.device_id == device
        )
    )
    return int(value or 0)


def insert_tile(conn: Connection, values: Mapping[str, Any]) -> TileRow | None:
    """Record a tile whose slots were reserved; the row as inserted.

    ``None`` when the pair already has an open tile: another process opened it after
    this transaction looked (on PostgreSQL the insert waits for that process to commit,
    and does nothing then), so the caller gives the slot back and confirms that tile.
    """
    row = {"state": "open", "endpoints": None, "closed_at": None, "close_reason": None, **values}
    done = conn.execute(
        _insert(conn)(tiles)
        .values(row)
        .on_conflict_do_nothing(
            index_elements=[tiles.c.viewer_id, tiles.c.device_id, tiles.c.user_id],
            # The literal predicate of uq_tiles_open_pair, so PostgreSQL infers that index.
            index_where=text("state = 'open'"),
        )
    )
    if done.rowcount != 1:
        return None
    return {**row, "revoked_at": None, "revoke_attempts": 0}


def _pair(viewer: uuid.UUID, device: str, user_ids: Sequence[uuid.UUID]) -> list[Any]:
    return [
        tiles.c.viewer_id == viewer,
        tiles.c.device_id == device,
        tiles.c.user_id.in_(list(user_ids)),
        tiles.c.state == "open",
    ]


def confirm_open(
    conn: Connection,
    viewer: uuid.UUID,
    device: str,
    user_ids: Sequence[uuid.UUID],
    *,
    in_view_until: datetime,
) -> dict[uuid.UUID, TileRow]:
    """Confirm the device's open tiles of ``user_ids`` in view; them, by user.

    The rows are locked in id order (the subquery's ``FOR UPDATE``, in the same
    statement), as ``set_endpoints`` writes them, so a confirm and another process's
    endpoints for the same tiles queue behind each other instead of deadlocking over
    rows taken in two orders.
    """
    if not user_ids:
        return {}
    locked = (
        select(tiles.c.id)
        .where(*_pair(viewer, device, user_ids))
        .order_by(tiles.c.id)
        .with_for_update()
    )
    rows = conn.execute(
        update(tiles)
        .where(tiles.c.id.in_(locked.scalar_subquery()), tiles.c.state == "open")
        .values(in_view_until=in_view_until)
        .returning(*tiles.c)
    ).mappings()
    return {row["user_id"]: row for row in rows}


def open_tiles(
    conn: Connection, viewer: uuid.UUID, device: str, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, TileRow]:
    """The device's open tiles of ``user_ids``, by user, read without locking them."""
    if not user_ids:
        return {}
    rows = conn.execute(select(tiles).where(*_pair(viewer, device, user_ids))).mappings()
    return {row["user_id"]: row for row in rows}


def get_tile(conn: Connection, tile_id: uuid.UUID, viewer: uuid.UUID) -> TileRow | None:
    """The viewer's tile (someone else's reads as absent)."""
    query = select(tiles).where(tiles.c.id == tile_id, tiles.c.viewer_id == viewer)
    return conn.execute(query).mappings().one_or_none()


def set_endpoints(
    conn: Connection, endpoints: Mapping[uuid.UUID, Mapping[str, str]]
) -> set[uuid.UUID]:
    """Record open tiles' endpoints, in id order (see ``confirm_open``); the ids recorded.

    A tile missing from the answer was closed meanwhile (its deadline passed).
    """
    stored: set[uuid.UUID] = set()
    for tile_id in sorted(endpoints):
        done = conn.execute(
            update(tiles)
            .where(tiles.c.id == tile_id, tiles.c.state == "open")
            .values(endpoints=dict(endpoints[tile_id]))
        )
        if done.rowcount == 1:
            stored.add(tile_id)
    return stored


def close_tile(
    conn: Connection, tile_id: uuid.UUID, viewer: uuid.UUID | None, reason: str, *, now: datetime
) -> TileRow | None:
    """Close an open tile (compare-and-set) and give its slots back; ``None`` if not open."""
    conditions = [tiles.c.id == tile_id, tiles.c.state == "open"]
    if viewer is not None:
        conditions.append(tiles.c.viewer_id == viewer)
    row = _close(conn, conditions, reason, now)
    if row is not None:
        _release(conn, [(row["viewer_id"], row["device_id"])])
    return row


def _close(conn: Connection, conditions: list[Any], reason: str, now: datetime) -> TileRow | None:
    """``open -> closed`` by compare-and-set, the slots left to the caller to give back."""
    return (
        conn.execute(
            update(tiles)
            .where(*conditions)
            .values(state="closed", closed_at=now, close_reason=reason)
            .returning(*tiles.c)
        )
        .mappings()
        .one_or_none()
    )


def close_due(conn: Connection, *, now: datetime, limit: int) -> list[TileRow]:
    """Close open tiles out of view too long, or whose user's thumbnail is gone."""
    live_thumb = exists().where(
        presences.c.user_id == tiles.c.user_id,
        presences.c.expires_at >= now,
        presences.c.is_camera_on.is_(True),
        presences.c.visibility != "hidden",
    )
    due = (
        select(tiles.c.id, tiles.c.in_view_until)
        .where(tiles.c.state == "open", or_(tiles.c.in_view_until < now, ~live_thumb))
        .order_by(tiles.c.in_view_until)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(of=tiles, skip_locked=True)
    closed: list[TileRow] = []
    for tile_id, until in conn.execute(due).all():
        reason = "out_of_viewport" if until < now else "presence_gone"
        row = _close(conn, [tiles.c.id == tile_id, tiles.c.state == "open"], reason, now)
        if row is not None:
            closed.append(row)
    # The slots go back once for the whole sweep, in the counters' order (see reserve).
    _release(conn, [(row["viewer_id"], row["device_id"]) for row in closed])
    return closed


def pending_revokes(conn: Connection, *, limit: int) -> list[TileRow]:
    """Closed tiles whose endpoints are still to be revoked."""
    query = (
        select(tiles)
        .where(
            tiles.c.state == "closed",
            tiles.c.endpoints.is_not(None),
            tiles.c.revoked_at.is_(None),
            tiles.c.revoke_attempts < _MAX_REVOKE_ATTEMPTS,
        )
        .order_by(tiles.c.closed_at)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def record_revoke(conn: Connection, tile_id: uuid.UUID, *, ok: bool, now: datetime) -> None:
    """A revoke attempt's outcome."""
    values: dict[str, Any] = {"revoke_attempts": tiles.c.revoke_attempts + 1}
    if ok:
        values["revoked_at"] = now
    conn.execute(update(tiles).where(tiles.c.id == tile_id).values(**values))


def usage_rows(conn: Connection, *, since: datetime, until: datetime) -> list[TileRow]:
    """Tiles open at some moment between ``since`` and ``until``."""
    query = select(
        tiles.c.viewer_id,
        tiles.c.mode,
        tiles.c.bitrate_kbps,
        tiles.c.opened_at,
        tiles.c.closed_at,
    ).where(
        tiles.c.opened_at < until,
        or_(tiles.c.closed_at.is_(None), tiles.c.closed_at > since),
    )
    return list(conn.execute(query).mappings())


def forget_closed(conn: Connection, *, keep_days: float = 30) -> None:
    """Housekeeping: drop tiles closed (and revoked) longer ago than the cost log keeps."""
    before = database_now(conn) - timedelta(days=keep_days)  # chosen: 30 days
    conn.execute(
        delete(tiles).where(
            tiles.c.state == "closed",
            tiles.c.closed_at < before,
            or_(tiles.c.revoked_at.is_not(None), tiles.c.endpoints.is_(None)),
        )
    )
