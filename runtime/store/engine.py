"""Database engines for the embedded SQLite default and for PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = [
    "WRITE_OPTION",
    "create_engine",
    "display_url",
    "normalize_url",
    "ping",
    "sqlite_begin",
    "sqlite_pragmas",
]

WRITE_OPTION = "vvtv_write"

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
}


def normalize_url(raw: str) -> URL:
    """Map ``sqlite://`` and ``postgresql://`` URLs onto their async drivers."""
    url = make_url(raw)
    driver = _DRIVERS.get(url.drivername)
    if driver is not None:
        url = url.set(drivername=driver)
    if url.drivername not in _DRIVERS.values():
        raise ValueError(
            f"unsupported database URL scheme {url.drivername!r}: use sqlite:/// or postgresql://"
        )
    return url


def display_url(raw: str) -> str:
    """The URL with any password hidden, for logs and banners."""
    return make_url(raw).render_as_string(hide_password=True)


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL, NORMAL sync, foreign keys and a busy timeout on every new SQLite connection."""
    # The driver's own implicit BEGIN is turned off: `sqlite_begin` decides the kind.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: the database stays
    # consistent through any crash, and only a power loss can undo the last commits,
    # which for leases and session states that expire on their own anyway is the
    # embedded default's trade. PostgreSQL is the store for what must survive that.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def sqlite_begin(connection: Connection) -> None:
    """BEGIN IMMEDIATE for writers, a deferred BEGIN for readers."""
    # A writer takes the write lock when it starts (BEGIN IMMEDIATE), so two writers
    # never both read and then fail to upgrade their lock ("database is locked");
    # readers start deferred and run alongside under WAL.
    immediate = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engine(raw: str) -> AsyncEngine:
    """An async engine for ``raw``; SQLite gets WAL and its folder created."""
    url = normalize_url(raw)
    if url.drivername.startswith("sqlite"):
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", sqlite_begin)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


async def ping(engine: AsyncEngine) -> None:
    """Round-trip one trivial query; raises when the database is unreachable."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
