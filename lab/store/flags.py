"""Operator flags (paused stages, frozen queue, emergency): set once, recorded in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from lab.store.tables import FLAGS, lab_flags
from runtime.store.clock import database_now
from runtime.store.tables import audit_events

__all__ = ["Flag", "FlagChange", "read_flags", "set_flag"]


@dataclass(frozen=True, slots=True)
class Flag:
    """One flag as the status shows it."""

    name: str
    active: bool
    since: datetime | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class FlagChange:
    """The outcome of a command: ``changed`` is false when the flag already had that value."""

    flag: Flag
    changed: bool
    applied_at: datetime


def read_flags(conn: Connection) -> dict[str, Flag]:
    """Every flag, inactive when never set."""
    rows = {row["name"]: row for row in conn.execute(select(lab_flags)).mappings()}
    flags = {}
    for name in FLAGS:
        row = rows.get(name)
        flags[name] = (
            Flag(name, False, None, None)
            if row is None
            else Flag(name, bool(row["active"]), row["since"], row["reason"])
        )
    return flags


def set_flag(
    conn: Connection, name: str, active: bool, *, reason: str | None, actor: str
) -> FlagChange:
    """Set ``name`` to ``active`` by compare-and-set; audit only a real change."""
    if name not in FLAGS:
        raise ValueError(f"unknown flag {name!r}")
    now = database_now(conn)
    current = read_flags(conn)[name]
    if current.active == active:
        return FlagChange(current, False, now)
    since = now if active else None
    values = {"active": active, "since": since, "reason": reason}
    exists = conn.execute(select(lab_flags.c.name).where(lab_flags.c.name == name)).first()
    if exists is None:
        conn.execute(insert(lab_flags).values(name=name, **values))
    else:
        done = conn.execute(
            update(lab_flags)
            .where(lab_flags.c.name == name, lab_flags.c.active == current.active)
            .values(**values)
        )
        if done.rowcount != 1:  # another writer set it first: its change stands
            return FlagChange(read_flags(conn)[name], False, now)
    conn.execute(
        insert(audit_events).values(
            at=now,
            kind="lab.flag",
            subject=name,
            payload={"active": active, "reason": reason, "actor": actor},
        )
    )
    return FlagChange(Flag(name, active, since, reason), True, now)
