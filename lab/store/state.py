"""Named JSON snapshots the running LAB publishes for every process to read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from lab.store.tables import lab_state
from runtime.store.clock import database_now

__all__ = ["get_state", "put_state"]


def put_state(conn: Connection, name: str, value: dict[str, Any]) -> None:
    """Replace the snapshot ``name``."""
    now = database_now(conn)
    done = conn.execute(
        update(lab_state).where(lab_state.c.name == name).values(value=value, updated_at=now)
    )
    if done.rowcount == 0:
        conn.execute(insert(lab_state).values(name=name, value=value, updated_at=now))


def get_state(conn: Connection, name: str) -> tuple[dict[str, Any], datetime] | None:
    """The snapshot ``name`` and when it was written, if any."""
    row = conn.execute(
        select(lab_state.c.value, lab_state.c.updated_at).where(lab_state.c.name == name)
    ).first()
    return None if row is None else (dict(row[0]), row[1])
