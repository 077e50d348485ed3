"""Discovered items (recorded once by content hash) and the health of each source."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from lab.stages.types import Discovered
from lab.store.tables import lab_items, lab_sources
from runtime.store.clock import database_now

__all__ = [
    "SourceHealth",
    "catalog",
    "known_hashes",
    "record_discovered",
    "record_source_failure",
    "record_source_success",
    "source_health",
]


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """A source's failures in a row (the discovery alert) and overall."""

    name: str
    consecutive_failures: int
    total_failures: int
    last_error: str | None
    last_failure_at: datetime | None


def known_hashes(conn: Connection) -> set[str]:
    """Content hashes already recorded."""
    return set(conn.scalars(select(lab_items.c.content_hash)))


def record_discovered(conn: Connection, items: Sequence[Discovered]) -> int:
    """Record items not seen before; returns how many were new."""
    known = known_hashes(conn)
    now = database_now(conn)
    new = 0
    for item in items:
        if item.content_hash in known:
            continue
        known.add(item.content_hash)
        conn.execute(
            insert(lab_items).values(
                content_hash=item.content_hash,
                source=item.source,
                uri=item.uri,
                title=item.title,
                size_bytes=item.size_bytes,
                duration_s=item.duration_s,
                expected_sha256=item.expected_sha256,
                details=dict(item.metadata),
                discovered_at=now,
            )
        )
        new += 1
    return new


def catalog(conn: Connection) -> list[Discovered]:
    """Every recorded item, oldest discovery first."""
    rows = conn.execute(select(lab_items).order_by(lab_items.c.discovered_at)).mappings()
    return [
        Discovered(
            source=row["source"],
            uri=row["uri"],
            content_hash=row["content_hash"],
            title=row["title"],
            size_bytes=row["size_bytes"],
            duration_s=row["duration_s"],
            expected_sha256=row["expected_sha256"],
            metadata=row["details"] or {},
        )
        for row in rows
    ]


def _ensure(conn: Connection, name: str) -> None:
    if conn.execute(select(lab_sources.c.name).where(lab_sources.c.name == name)).first() is None:
        conn.execute(insert(lab_sources).values(name=name))


def record_source_failure(conn: Connection, name: str, error: str) -> int:
    """Count one failed discovery of ``name``; returns its failures in a row."""
    _ensure(conn, name)
    conn.execute(
        update(lab_sources)
        .where(lab_sources.c.name == name)
        .values(
            consecutive_failures=lab_sources.c.consecutive_failures + 1,
            total_failures=lab_sources.c.total_failures + 1,
            last_error=error[:2000],
            last_failure_at=database_now(conn),
        )
    )
    return int(
        conn.scalar(select(lab_sources.c.consecutive_failures).where(lab_sources.c.name == name))
        or 0
    )


def record_source_success(conn: Connection, name: str) -> None:
    """A discovery of ``name`` worked: its run of failures ends."""
    _ensure(conn, name)
    conn.execute(
        update(lab_sources)
        .where(lab_sources.c.name == name)
        .values(consecutive_failures=0, last_success_at=database_now(conn))
    )


def source_health(conn: Connection) -> list[SourceHealth]:
    """Every source seen, by name."""
    rows = conn.execute(select(lab_sources).order_by(lab_sources.c.name)).mappings()
    return [
        SourceHealth(
            row["name"],
            row["consecutive_failures"],
            row["total_failures"],
            row["last_error"],
            row["last_failure_at"],
        )
        for row in rows
    ]
