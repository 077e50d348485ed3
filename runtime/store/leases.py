"""Named leases: one holder at a time across processes, taken and renewed by compare-and-set."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from runtime.store.clock import database_now
from runtime.store.tables import sweeper_leases

__all__ = ["lease_holder", "release_lease", "take_lease", "take_over_lease"]


def take_lease(conn: Connection, name: str, holder: str, lease_s: float) -> bool:
    """Take or renew ``name`` for ``holder`` for ``lease_s``; ``False`` while another holds it."""
    now = database_now(conn)
    expires = now + timedelta(seconds=lease_s)
    taken = conn.execute(
        update(sweeper_leases)
        .where(
            sweeper_leases.c.name == name,
            or_(sweeper_leases.c.expires_at < now, sweeper_leases.c.holder == holder),
        )
        .values(holder=holder, expires_at=expires)
    )
    if taken.rowcount == 1:
        return True
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    created = conn.execute(
        dialect_insert(sweeper_leases)
        .values(name=name, holder=holder, expires_at=expires)
        .on_conflict_do_nothing()
    )
    return created.rowcount == 1


def lease_holder(conn: Connection, name: str) -> str | None:
    """Who holds ``name`` (expired or not), if anyone ever did."""
    value = conn.scalar(select(sweeper_leases.c.holder).where(sweeper_leases.c.name == name))
    return None if value is None else str(value)


def take_over_lease(conn: Connection, name: str, holder: str, dead: str, lease_s: float) -> bool:
    """Take ``name`` from ``dead`` (known to have exited) before it expires; compare-and-set."""
    taken = conn.execute(
        update(sweeper_leases)
        .where(sweeper_leases.c.name == name, sweeper_leases.c.holder == dead)
        .values(holder=holder, expires_at=database_now(conn) + timedelta(seconds=lease_s))
    )
    return taken.rowcount == 1


def release_lease(conn: Connection, name: str, holder: str) -> None:
    """Give ``name`` up at once (a clean stop), if ``holder`` still holds it."""
    conn.execute(
        update(sweeper_leases)
        .where(sweeper_leases.c.name == name, sweeper_leases.c.holder == holder)
        .values(expires_at=database_now(conn) - timedelta(seconds=1))
    )
