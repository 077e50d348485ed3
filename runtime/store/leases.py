"""Named leases: one holder at a time across processes, taken and renewed by compare-and-set."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from runtime.store.clock import database_now
from runtime.store.tables import sweeper_leases

__all__ = ["take_lease"]


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
