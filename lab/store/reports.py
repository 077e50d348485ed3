"""The LAB's reports (cycle, nightly, qa, fallback), newest first, paged by an opaque cursor."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection

from lab.store.tables import REPORT_KINDS, lab_reports
from runtime.store.clock import database_now

__all__ = [
    "BadCursorError",
    "ReportPage",
    "add_report",
    "decode_cursor",
    "list_reports",
    "update_report",
]


class BadCursorError(ValueError):
    """The cursor was not one this server handed out."""


@dataclass(frozen=True, slots=True)
class ReportPage:
    """Reports as stored (``id``, ``kind``, ``created_at`` merged into each body), next cursor."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def add_report(conn: Connection, kind: str, body: dict[str, Any]) -> uuid.UUID:
    """Store one report; its id and creation time are the store's."""
    if kind not in REPORT_KINDS:
        raise ValueError(f"unknown report kind {kind!r}")
    report_id = uuid.uuid4()
    conn.execute(
        insert(lab_reports).values(
            id=report_id, kind=kind, created_at=database_now(conn), body=body
        )
    )
    return report_id


def update_report(conn: Connection, report_id: uuid.UUID, body: dict[str, Any]) -> None:
    """Replace a report's body (a fallback episode gets its end when it ends)."""
    conn.execute(update(lab_reports).where(lab_reports.c.id == report_id).values(body=body))


# The newest possible id: a cursor naming only a time starts after every report of that time.
_LAST_ID = uuid.UUID(int=(1 << 128) - 1)


def _encode(created_at: datetime, report_id: uuid.UUID) -> str:
    raw = json.dumps({"ts": created_at.isoformat(), "id": str(report_id)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position a cursor names; ``BadCursorError`` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        at = datetime.fromisoformat(data["ts"].replace("Z", "+00:00"))
        if at.tzinfo is None:
            raise ValueError("naive time")
        return at, uuid.UUID(data["id"]) if "id" in data else _LAST_ID
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadCursorError("cursor is not one this server handed out") from exc


def list_reports(
    conn: Connection, *, limit: int, kind: str | None = None, cursor: str | None = None
) -> ReportPage:
    """One page, newest first (ties broken by id, so paging never skips or repeats)."""
    query = select(lab_reports)
    if kind is not None:
        query = query.where(lab_reports.c.kind == kind)
    if cursor is not None:
        at, report_id = decode_cursor(cursor)
        query = query.where(
            or_(
                lab_reports.c.created_at < at,
                and_(lab_reports.c.created_at == at, lab_reports.c.id < report_id),
            )
        )
    query = query.order_by(lab_reports.c.created_at.desc(), lab_reports.c.id.desc()).limit(
        limit + 1
    )
    rows = list(conn.execute(query).mappings())
    items = [
        {**row["body"], "id": str(row["id"]), "kind": row["kind"], "created_at": row["created_at"]}
        for row in rows[:limit]
    ]
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    return ReportPage(items, _encode(last["created_at"], last["id"]) if last else None)
