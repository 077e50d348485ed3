"""Control signatures already accepted, shared by every process serving the control API."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from lab.store.tables import lab_signatures
from runtime.store.clock import database_now

__all__ = ["first_use"]


def first_use(conn: Connection, signature: str, *, remember_s: float) -> bool:
    """Record ``signature``; ``False`` when any process accepted it within ``remember_s``."""
    now = database_now(conn)
    # Forget what can no longer be fresh: the table stays as small as the skew window.
    conn.execute(
        delete(lab_signatures).where(lab_signatures.c.used_at < now - timedelta(seconds=remember_s))
    )
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    done = conn.execute(
        dialect_insert(lab_signatures)
        .values(signature=signature, used_at=now)
        .on_conflict_do_nothing()
    )
    return done.rowcount == 1
